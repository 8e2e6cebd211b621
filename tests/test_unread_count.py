"""The header's unread count without a reload: GET /api/v1/me/unread answers {"unread": n} (never
cached) for a browser session or a token, and the page's script (community/static/unread.js) polls it
and adds, changes or removes the badge while the member reads, in a real browser."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import expect

from community import notifications, questions, settings
from tests.browser import log_in
from tests.conftest import login, token_for

BADGE = "a.inbox-link .badge"


async def _ask_and_answer(users):
    asker, helper = await users("asker"), await users("helper", 100)
    q = await questions.ask(asker, "Roaming does not work in France", "My phone shows no network at all abroad.", ["roaming"])
    return asker, helper, q


async def test_unread_counts_for_a_session_and_a_token_and_is_never_cached(client, users):
    asker, helper, q = await _ask_and_answer(users)
    anonymous = await client.get("/api/v1/me/unread")
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "not_authenticated"

    bearer = await token_for(client, "asker")
    r = await client.get("/api/v1/me/unread", headers=bearer)
    assert (r.status_code, r.json(), r.headers["cache-control"]) == (200, {"unread": 0}, "no-store")

    await questions.answer(helper, q.id, "Turn on data roaming in the phone's mobile network settings.")
    await questions.comment(helper, q.id, "Which phone is it, and which network are you on?")
    assert (await client.get("/api/v1/me/unread", headers=bearer)).json() == {"unread": 2}

    await login(client, "asker")
    r = await client.get("/api/v1/me/unread")
    assert (r.status_code, r.json(), r.headers["cache-control"]) == (200, {"unread": 2}, "no-store")
    page = await client.get("/questions")
    assert '<span class="badge" aria-label="2 unread">2</span>' in page.text
    assert 'data-unread-poll="45"' in page.text and '<script src="/static/unread.js" defer></script>' in page.text

    assert (await client.get("/inbox")).status_code == 200  # reading the inbox marks them read
    assert (await client.get("/api/v1/me/unread")).json() == {"unread": 0}
    assert (await client.get("/api/v1/me/unread", headers={"Authorization": "Bearer " + "x" * 43})).status_code == 401


async def test_anonymous_pages_carry_no_poller(client):
    page = await client.get("/questions")
    assert page.status_code == 200 and "unread.js" not in page.text and "data-unread-poll" not in page.text


@pytest.fixture
async def live_server_env(database):
    """The server reads settings at start: poll every second so the journey is quick."""
    await settings.put("ui.unread_poll_seconds", 1)
    return {}


@pytest.mark.browser
async def test_the_badge_follows_answers_without_a_reload(live_server, browser_page, users):
    asker, helper, q = await _ask_and_answer(users)
    page, url = browser_page, live_server.url
    await log_in(page, url, "asker")
    await page.goto(f"{url}/questions/{q.id}")
    assert await page.locator(BADGE).count() == 0
    assert await page.get_attribute("a.inbox-link", "data-unread-poll") == "1"
    await page.evaluate("window.stillThisPage = true")

    token = httpx.post(url + "/api/v1/tokens", json={"username": "helper", "password": "password123"}).json()["token"]
    r = httpx.post(f"{url}/api/v1/questions/{q.id}/answers", headers={"Authorization": f"Bearer {token}"},
                   json={"body": "Turn on data roaming in the phone's mobile network settings."})
    assert r.status_code == 201, r.text
    await expect(page.locator(BADGE)).to_have_text("1")  # (wait_for_function would need 'unsafe-eval')
    assert await page.get_attribute(BADGE, "aria-label") == "1 unread"

    await questions.answer(helper, q.id, "Also check that your plan includes roaming in the EU countries.")
    await expect(page.locator(BADGE)).to_have_text("2")

    await notifications.mark_read(asker)  # read elsewhere (another tab's inbox): the badge goes
    await expect(page.locator(BADGE)).to_have_count(0)
    assert (await page.inner_text("a.inbox-link")).strip() == "Inbox"
    assert await page.evaluate("window.stillThisPage === true")  # all of it without a reload
