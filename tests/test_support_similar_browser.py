"""Browser check: an agent opens a ticket on a phone (390 px) and on a desktop; the "Similar solved
threads" section is there, with its two actions, and the page fits the width. Screenshots go to
SCREENSHOTS (default /tmp/shots16): ticket-phone.png and ticket-desktop.png."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from community import acceptance, questions
from community.support import tickets
from search.indexer import Indexer
from search.web import search_backend
from tests.browser import assert_fits_width, log_in, new_page

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("SCREENSHOTS", "/tmp/shots16"))


@pytest.fixture
async def desk(app, users, fake_clock):
    """Written, and indexed into the server's index folder, before the server starts."""
    cust = await users("cust", 200)
    other = await users("other", 200)
    helper = await users("helper", 200)
    agent = await users("agent", 1, "staff")
    solved = []
    for title in ("Personal hotspot keeps switching off by itself after ten minutes on my Android phone",
                  "Hotspot switches off when the screen locks"):
        q = await questions.ask(other, title, "My personal hotspot switches off and the laptop drops the connection.", "hotspot")
        a = await questions.answer(helper, q.id, "Turn off the battery saver: it stops the hotspot when nothing uses it.")
        await acceptance.accept(other, q.id, a.id)
        solved.append(q)
    asked = await questions.ask(cust, "Personal hotspot keeps switching off on my phone",
                                "The hotspot on my phone switches itself off after a few minutes.", "hotspot")
    ticket = await tickets.escalate(agent, asked.id, "The customer phoned about it")
    await Indexer(search_backend(app)).drain()
    return {"ticket": ticket, "solved": solved}


@pytest.fixture
def live_server_env(desk) -> dict[str, str]:
    return {"RUN_INDEXER": "0", "RUN_SWEEPER": "0"}


async def _check(page, url: str, tid: int, solved: list, name: str) -> None:
    await log_in(page, url, "agent")
    await page.goto(f"{url}/support/tickets/{tid}")
    section = page.get_by_role("region", name="Similar solved threads")
    assert await section.is_visible()
    for q in solved:
        assert await section.get_by_role("link", name=q.title).is_visible()
        assert await section.get_by_role("button", name=f"Reply with a link to this: {q.title}").is_visible()
        assert await section.get_by_role("button", name=f"Resolve as duplicate of {q.title}").is_visible()
    await assert_fits_width(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"ticket-{name}.png"), full_page=True)


async def test_ticket_page_shows_similar_solved_threads_on_a_phone_and_a_desktop(live_server, browser, phone_page, desk):
    tid, solved = desk["ticket"].id, desk["solved"]
    await _check(phone_page, live_server.url, tid, solved, "phone")
    await _check(await new_page(browser), live_server.url, tid, solved, "desktop")
