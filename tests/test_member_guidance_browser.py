"""Browser, on a 390 px phone: a new member's welcome panel (gone once dismissed), the thread telling
them what voting takes, a refused vote said beside the arrows (no browser alert), the asker's SLA
time then the escalation and its agent, the agent's ticket page with the whole thread and a wait
that stops once answered, and the audit log naming posts and members. SCREENSHOTS=folder saves
each step as guidance-*.png."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from community import clock, questions
from community.models import User
from community.support import tickets
from moderation import closing, flags, posts
from tests.browser import assert_fits_width, log_in, new_page

pytestmark = pytest.mark.browser


async def _shot(page, name: str) -> None:
    folder = os.environ.get("SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(folder) / f"guidance-{name}.png"), full_page=True)


def _now_to_the_minute() -> datetime:
    """The server runs on the real clock: the test's writes happen now too, so its deadlines are ahead."""
    return datetime.now(timezone.utc).replace(second=0, microsecond=0)


async def test_a_new_member_is_welcomed_and_told_what_voting_takes(live_server, phone_page, browser, users, fake_clock):
    fake_clock.set(_now_to_the_minute())
    asker, helper = await users("asker_amy", 20), await users("helper_hal", 200)
    await users("voter_vic", 20)
    mod = await users("mod_mo", 1, "moderator")
    q = await questions.ask(asker, "Hotspot drops after ten minutes", "My laptop loses the phone's hotspot after ten minutes.",
                            ["hotspot"])
    a = await questions.answer(helper, q.id, "Turn off the battery saver: it switches the hotspot off when nothing uses it.")
    url, page = live_server.url, phone_page
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))

    await page.goto(url + "/signup")
    await page.get_by_label("Username").fill("fresh_fay")
    await page.get_by_label("Email").fill("fay@example.com")
    await page.get_by_label("Password").fill("a long password 1")
    await page.get_by_role("button", name="Sign up").click()
    await page.wait_for_url(url + "/")
    panel = page.locator(".welcome-panel")
    assert await panel.get_by_role("heading", name="Welcome, fresh_fay: here is how this community works").is_visible()
    text = await panel.inner_text()
    assert "Accept." in text and "vote up at 15" in text and "within 1 hour" in text
    await assert_fits_width(page)
    await _shot(page, "welcome")
    await panel.get_by_role("button", name="Got it").click()
    await page.wait_for_url(url + "/")
    assert await page.locator(".welcome-panel").count() == 0
    await page.reload()
    assert await page.locator(".welcome-panel").count() == 0

    await page.goto(f"{url}/questions/{q.id}")
    note = page.locator(".privilege-note")
    assert "Vote up at 15 reputation; you have 1." in await note.inner_text()
    up = page.locator(f'.votes[data-post="{a.id}"] .vote.up')
    assert await up.is_disabled()
    described = await up.get_attribute("aria-describedby")
    assert await page.locator(f"#{described}").inner_text() == "Vote up at 15 reputation; you have 1."
    assert await page.locator(f"#answer-{a.id} .comment-needs").inner_text() == "Add a comment at 50 reputation"
    await assert_fits_width(page)
    await _shot(page, "new-member-thread")

    # A vote the server refuses (the question was locked meanwhile) is said beside the arrows.
    voter = await new_page(browser, phone=True)
    voter.on("dialog", lambda d: dialogs.append(d.message))
    await log_in(voter, url, "voter_vic")
    await voter.goto(f"{url}/questions/{q.id}")
    await posts.set_locked(mod, q.id, True, "Heated thread")
    await voter.locator(f'.votes[data-post="{a.id}"] .vote.up').click()
    message = voter.locator(f"#answer-{a.id} .vote-message")
    await message.wait_for()
    assert "locked" in await message.inner_text()
    assert await message.get_attribute("role") == "alert"
    await assert_fits_width(voter)
    await _shot(voter, "vote-refused")
    assert dialogs == []


async def test_the_asker_sees_the_sla_then_the_agent_and_the_agent_sees_the_thread(live_server, phone_page, browser, users,
                                                                                     fake_clock):
    start = _now_to_the_minute()
    fake_clock.set(start)
    asker, helper, commenter = await users("cust", 20), await users("helper_hal", 300), await users("chatty", 60)
    agent, mod, flagger = await users("agent_priya", 1, "staff"), await users("mod_mo", 1, "moderator"), await users("flagger", 50)
    await User.filter(id=agent.id).update(display_name="Priya")
    await User.filter(id=helper.id).update(display_name="Hal the Helper")
    q = await questions.ask(asker, "eSIM will not activate on my new phone", "Scanning the QR code says the eSIM cannot be added.",
                            ["esim"])
    url, page = live_server.url, phone_page

    await log_in(page, url, "cust")
    await page.goto(f"{url}/questions/{q.id}")
    due = (start + timedelta(minutes=60)).strftime("%H:%M")  # the community's zone is UTC unless set
    assert await page.locator(".support-sla").inner_text() == f"If nobody answers by {due}, our support team will step in."
    assert await page.get_by_role("button", name="Ask for an agent").count() == 0
    await assert_fits_width(page)
    await _shot(page, "sla")

    ticket = await tickets.escalate(mod, q.id, "Customer called the shop about it")
    fake_clock.advance(minutes=5)
    await tickets.claim(agent, ticket.id)
    await page.reload()
    notice = await page.locator(".support-notice").inner_text()
    assert "Escalated to our support team." in notice and "Priya from our support team is on it." in notice
    assert await page.locator(".support-sla").count() == 0
    await assert_fits_width(page)
    await _shot(page, "escalated")

    answer = await questions.answer(helper, q.id, "Ask the shop for a new QR code: each one works once only.")
    await questions.comment(commenter, q.id, "Which phone model is it?")
    await questions.comment(commenter, answer.id, "A new QR code fixed it for me too.")
    fake_clock.advance(minutes=15)
    await tickets.reply(agent, ticket.id, "We sent a fresh QR code to your email; scan it from Settings > Mobile data.")

    desk = await new_page(browser, phone=True)
    await log_in(desk, url, "agent_priya")
    await desk.goto(f"{url}/support/tickets/{ticket.id}")
    thread = await desk.locator(".ticket-answers").inner_text()
    assert "2 answers in the thread" in thread and "Hal the Helper" in thread and "each one works once only" in thread
    assert "A new QR code fixed it for me too." in thread and "chatty" in thread
    assert "Which phone model is it?" in await desk.locator(".ticket-thread").inner_text()
    assert "answered after 20 min" in await desk.locator(".ticket-answered").inner_text()
    assert await desk.locator(".vote-form").count() == 0
    await assert_fits_width(desk)
    await _shot(desk, "ticket")
    await desk.goto(f"{url}/support")
    assert "answered after 20 min" in await desk.locator(".ticket-row").first.inner_text()
    await assert_fits_width(desk)
    await _shot(desk, "desk")

    await flags.raise_flag(flagger, answer.id, "off_topic", "")
    other = await questions.ask(asker, "Which phone should I buy next year", "Thinking about a new phone, what do you recommend?", ["phones"])
    await closing.vote(mod, other.id, "close", "opinion_based")
    log = await new_page(browser, phone=True)
    await log_in(log, url, "mod_mo")
    await log.goto(f"{url}/moderation/log")
    table = await log.locator("table.audit-log").inner_text()
    assert "Answer on eSIM will not activate on my new phone" in table and "Hal the Helper" in table
    assert "Question Which phone should I buy next year" in table and "opinion-based" in table
    assert "off_topic" not in table and "opinion_based" not in table
    await assert_fits_width(log)
    await _shot(log, "audit")
    assert clock.now() == start + timedelta(minutes=20)
