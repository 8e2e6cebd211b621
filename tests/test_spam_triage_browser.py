"""Browser journey: a new account's link drops are held; the author sees theirs with a note; a
moderator works through the Suspected spam queue on a desktop and on a phone (confirms one,
releases the other), then reads the week's figures. axe-core finds nothing on these pages and the
honeypot is out of the keyboard's way. Screenshots go to SCREENSHOTS (or /tmp/shots15)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import moderation.web  # noqa: F401  (this process's services hold posts too: the room's hooks)
from community import questions
from community.models import Post
from moderation import spam
from moderation.models import SpamCheck
from tests.browser import assert_fits_width, log_in, new_page

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("SCREENSHOTS") or "/tmp/shots15")
LINK_DROP = ("Unlock any phone today with our tool, all carriers, no waiting: get it at "
             "https://bit.ly/unlock-now and http://cheap-unlocks.example.net/offer")


async def _shot(page, name: str, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"spam-{name}.png"), full_page=full_page)


async def _axe(page, where: str) -> None:
    path = Path(os.environ.get("AXE_CORE_JS") or ROOT / "node_modules" / "axe-core" / "axe.min.js")
    if not path.is_file():
        pytest.fail("axe-core is not installed: `npm install` at the repository root, or set AXE_CORE_JS")
    await page.evaluate(path.read_text())
    result = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    found = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]
    assert found == [], f"{where}: {found}"


async def test_a_moderator_reviews_suspected_spam_on_desktop_and_phone(live_server, browser, users):
    url = live_server.url
    await users("mod", 20000, "moderator")
    spammer = await users("spammer")
    asker = await users("asker", 200)
    question = await questions.ask(asker, "No signal at home since Monday",
                                   "My phone shows no signal at all since Monday, I restarted it twice.", "signal")
    held_q = await questions.ask(spammer, "Unlock your phone for any carrier today", LINK_DROP, "unlock")
    held_a = await questions.answer(spammer, question.id, LINK_DROP + " Works for this too.")
    assert (await Post.get(id=held_q.id)).hidden and (await Post.get(id=held_a.id)).hidden

    # The author sees their held answer with the note, on a phone.
    author = await new_page(browser, phone=True)
    await log_in(author, url, "spammer")
    await author.goto(f"{url}/questions/{question.id}")
    note = author.locator(f"#answer-{held_a.id} .held-note")
    assert "Held for review" in await note.inner_text()
    await assert_fits_width(author)
    await _shot(author, "author-held-answer-phone")
    await author.context.close()

    # The asker does not see it.
    asker_page = await new_page(browser)
    await log_in(asker_page, url, "asker")
    await asker_page.goto(f"{url}/questions/{question.id}")
    assert await asker_page.locator(f"#answer-{held_a.id}").count() == 0
    assert await asker_page.get_by_role("heading", name="0 answers").is_visible()
    # The honeypot on the answer form: out of the keyboard order and hidden from assistive technology.
    await asker_page.focus("#answer-body")
    await asker_page.keyboard.press("Shift+Tab")
    assert await asker_page.evaluate("document.activeElement.name") != "website"
    assert await asker_page.locator("#website-answer").get_attribute("tabindex") == "-1"
    await _axe(asker_page, "thread with the honeypot (desktop)")
    await asker_page.context.close()

    # The moderator on a desktop: the queue, why each was held, confirm one as spam.
    desk = await new_page(browser)
    await log_in(desk, url, "mod")
    await desk.goto(url + "/review")
    await desk.get_by_role("link", name="Suspected spam").click()
    await desk.wait_for_url(url + "/review?queue=spam")
    await desk.goto(url + "/review/spam")
    items = desk.locator("li.spam-item")
    assert await items.count() == 2
    first = items.filter(has_text="Unlock your phone for any carrier today")
    await first.get_by_text("Why it was held").click()
    assert await first.get_by_text("A link shortener hides where it goes: bit.ly").is_visible()
    await _axe(desk, "spam queue (desktop)")
    await _shot(desk, "queue-desktop")
    await first.get_by_label("Note for the log (optional)").fill("Unlock scam")
    await first.get_by_role("button", name="Spam", exact=True).click()
    await desk.get_by_text("Done: Spam.").wait_for()
    assert (await Post.get(id=held_q.id)).deleted_at is not None
    await desk.context.close()

    # On a phone: release the other one.
    phone = await new_page(browser, phone=True)
    await log_in(phone, url, "mod")
    await phone.goto(url + "/review/spam")
    assert await phone.locator("li.spam-item").count() == 1
    await assert_fits_width(phone)
    await _axe(phone, "spam queue (phone)")
    await _shot(phone, "queue-phone")
    await phone.get_by_role("button", name="Not spam: release").click()
    await phone.get_by_text("Done: Not spam: release.").wait_for()
    assert await phone.get_by_text("No post is held.").is_visible()
    assert not (await Post.get(id=held_a.id)).hidden
    decisions = {c.post_id: c.decision for c in await SpamCheck.all()}
    assert decisions[held_q.id] == "spam" and decisions[held_a.id] == "ham"

    # The week's figures.
    await phone.get_by_role("link", name="Held, confirmed and released per week").click()
    await phone.wait_for_url(url + "/review/spam/weekly")
    # The posts were made on the test's clock (January); the server reads the real one, so ask for more weeks.
    week = spam.week_start((await SpamCheck.get(post_id=held_q.id)).created_at).date().isoformat()
    await phone.goto(url + "/review/spam/weekly?weeks=104")
    row = phone.locator(f'table.spam-weekly tbody tr[data-week="{week}"]')
    cells = [c.strip() for c in await row.locator("td").all_inner_texts()]
    assert cells[:6] == ["2", "2", "1", "1", "0", "0"] and cells[6] == "50%"  # checked, held, confirmed, released, waiting, missed
    await _axe(phone, "weekly figures (phone)")
    await row.scroll_into_view_if_needed()
    await _shot(phone, "weekly-phone", full_page=False)
    await phone.context.close()

    # Everyone sees the released answer now.
    anon = await new_page(browser)
    await anon.goto(f"{url}/questions/{question.id}")
    assert await anon.locator(f"#answer-{held_a.id}").count() == 1
    assert await anon.locator(".held-note").count() == 0
    await anon.context.close()
