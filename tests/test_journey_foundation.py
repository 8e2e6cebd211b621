"""Browser journey: sign up, ask, a second member answers, the asker accepts, both see reputation."""

from __future__ import annotations

import re

import pytest

from tests.browser import assert_fits_width, new_page

pytestmark = pytest.mark.browser


async def _sign_up(page, url: str, name: str) -> None:
    await page.goto(url + "/signup")
    await page.get_by_label("Username").fill(name)
    await page.get_by_label("Email").fill(f"{name}@example.com")
    await page.get_by_label("Password").fill("password123")
    await page.get_by_role("button", name="Sign up").click()
    await page.wait_for_url(url + "/")


async def test_ask_answer_accept_journey(live_server, browser, phone_page):
    url = live_server.url
    asker = phone_page
    await _sign_up(asker, url, "journey_asker")
    await asker.goto(url + "/questions/ask")
    await assert_fits_width(asker)
    await asker.get_by_label("Title").fill("Roaming not working in Spain on my monthly plan")
    await asker.get_by_label("Details").fill("I switched roaming on but the phone shows no service in Madrid.")
    await asker.get_by_label("Tags").fill("roaming spain")
    await asker.get_by_role("button", name="Post your question").click()
    await asker.wait_for_url(re.compile(r".*/questions/\d+/[a-z0-9-]+$"))
    question_url = asker.url
    await assert_fits_width(asker)

    helper = await new_page(browser)
    await _sign_up(helper, url, "journey_helper")
    await helper.goto(question_url)
    await helper.get_by_role("textbox", name="Answer").fill("Select the network manually: Settings > Mobile network > Network operators.")
    await helper.get_by_role("button", name="Post your answer").click()
    await helper.wait_for_url(re.compile(r".*/questions/\d+/[a-z0-9-]+#answer-\d+$"))

    await asker.goto(question_url)
    await asker.get_by_role("button", name="Accept this answer").click()
    await asker.wait_for_load_state()
    assert await asker.get_by_text("Accepted answer").first.is_visible()
    await assert_fits_width(asker)

    await asker.goto(url + "/")
    assert (await asker.locator(".top .rep").inner_text()).strip() == "3"  # 1 + 2 for accepting
    await helper.goto(url + "/")
    assert (await helper.locator(".top .rep").inner_text()).strip() == "16"  # 1 + 15 for the accepted answer
