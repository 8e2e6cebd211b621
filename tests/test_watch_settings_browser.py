"""Browser journey: on a phone, a member watches a tag from its page and chooses on
/account/notifications how answers reach them; the settings page fits a phone and a desktop.
SCREENSHOTS=folder saves the settings page at 390 px and 1280 px."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from community import preferences, questions, watches
from community.models import User
from tests.browser import assert_fits_width, log_in, new_page

pytestmark = pytest.mark.browser


async def _shot(page, name: str) -> None:
    folder = os.environ.get("SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


async def test_watch_a_tag_and_choose_how_answers_arrive(live_server, browser, phone_page, users):
    asker = await users("asker")
    member = await users("member", 100)
    q = await questions.ask(asker, "Data roaming stopped working in Spain",
                            "I switched roaming on but the phone shows no data connection at all.", ["roaming"])
    await questions.comment(member, q.id, "Which phone model is this on?")  # so a watched question is listed
    url = live_server.url
    page = phone_page
    await log_in(page, url, "member")

    await page.goto(url + "/tags/roaming")
    await page.get_by_role("button", name="Watch tag").click()
    await page.wait_for_url(url + "/tags/roaming")
    assert await page.get_by_text("You watch this tag.").is_visible()
    assert await page.get_by_role("button", name="Stop watching").is_visible()
    await assert_fits_width(page)
    assert await watches.watched_tags(member) == ["roaming"]

    await page.goto(url + "/account/notifications")
    assert await page.get_by_label("Watched tags").input_value() == "roaming"
    await page.get_by_role("group", name="An answer on your question").get_by_label("Weekly digest").check()
    await page.get_by_role("button", name="Save settings").click()
    await page.wait_for_url(url + "/account/notifications?done=saved")
    assert await page.get_by_text("Your notification settings are saved.").is_visible()
    assert await page.get_by_role("group", name="An answer on your question").get_by_label("Weekly digest").is_checked()
    assert (await preferences.get(await User.get(id=member.id)))["answer"] == "weekly"
    await assert_fits_width(page)
    await _shot(page, "notifications-390")

    desktop = await new_page(browser)
    await log_in(desktop, url, "member")
    await desktop.goto(url + "/account/notifications")
    assert await desktop.get_by_role("button", name="Stop watching Data roaming stopped working in Spain").is_visible()
    await assert_fits_width(desktop)
    await _shot(desktop, "notifications-1280")
    await desktop.goto(url + f"/questions/{q.id}")
    await _shot(desktop, "thread-watch-1280")
    await desktop.context.close()
