"""Browser: a member's profile shows their rank and badges by level, and the thread shows the rank
and badge counts beside names, on a 390 px phone without sideways scrolling. SCREENSHOTS=folder
saves what they looked like."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from community import acceptance, badges, questions, voting
from tests.browser import assert_fits_width

pytestmark = pytest.mark.browser


async def _shot(page, name: str) -> None:
    folder = os.environ.get("SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


async def test_profile_and_thread_show_rank_and_badges_on_a_phone(live_server, phone_page, users, fake_clock):
    asker, author = await users("asker", 20), await users("marguerite_d", 1180)
    voters = [await users(f"voter{i}", 15) for i in range(10)]
    q = await questions.ask(asker, "Roaming data stopped working in Portugal", "The phone shows 4G but nothing loads at all.", ["roaming"])
    a = await questions.answer(author, q.id, "Turn on data roaming in the phone's settings, then restart it.")
    await acceptance.accept(asker, q.id, a.id)
    for v in voters:
        await voting.vote(v, a.id, 1)
    await questions.edit(author, a.id, body="Turn on data roaming in the phone's settings, then restart it once.")

    assert len(await badges.of_member(author.id)) == 5  # awarded in this process (importing badges subscribes it)
    page = phone_page
    await page.goto(f"{live_server.url}/users/{author.id}")
    assert await page.locator(".rank-name").inner_text() == "Trusted"
    section = page.locator("#badges")
    assert await section.locator(".rank-line").inner_text() == (
        "Trusted, the rank from 1,000 reputation. 3,705 more to reach Expert (5,000).")
    assert await section.get_by_text("Nice Answer").count() >= 1
    assert await section.locator(".badge-totals .badge-count").all_text_contents() == ["●5 bronze badges"]
    await assert_fits_width(page)
    await _shot(page, "badges-profile")
    await section.get_by_text("All badges and how to earn them").click()
    assert await section.get_by_text("Great Answer").is_visible()
    await assert_fits_width(page)

    await page.goto(f"{live_server.url}/questions/{q.id}")
    standing = page.locator(f"#answer-{a.id} .standing")
    assert (await standing.inner_text()).startswith("Trusted")
    assert "5 bronze badges" in await standing.text_content()
    await assert_fits_width(page)
    await _shot(page, "badges-thread")
