"""What members read: human words for internal values (close and flag reasons, resolutions, the
audit log's posts and members), what a control takes before a new member uses it, the welcome panel
after sign-up, the asker's SLA time then the escalation and its agent, and the agent's ticket page
with the whole thread and a wait that stops once answered."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from pathlib import Path

import pytest

from community import acceptance, db, questions, settings, voting
from community.models import User
from community.support import sweeper, tickets
from moderation import closing, flags
from tests.conftest import login

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch):
    """Argon2 at its real cost makes each login ~0.1 s; these tests are about what pages say."""
    from argon2 import PasswordHasher

    from community import accounts

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


def visible(page_html: str) -> str:
    """The text a person reads: no tags, attributes or scripts, entities decoded, spaces folded."""
    text = re.sub(r"<script.*?</script>|<[^>]+>", " ", page_html, flags=re.S)
    return re.sub(r" ([,.;])", r"\1", " ".join(html.unescape(text).split()))


def csrf_of(page_html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page_html).group(1)


async def _thread(client, qid: int) -> str:
    r = await client.get(f"/questions/{qid}", follow_redirects=True)
    assert r.status_code == 200
    return r.text


# ---- internal values never reach a person ------------------------------------------------------

async def test_close_flag_review_ticket_and_audit_pages_say_human_words(client, users, fake_clock):
    asker, helper = await users("asker_amy", 20), await users("helper_hal", 200)
    await User.filter(id=helper.id).update(display_name="Hal the Helper")
    flagger, mod = await users("flagger", 50), await users("mod_mo", 1, "moderator")
    q = await questions.ask(asker, "Voicemail greeting resets every night", "My custom greeting is gone each morning.", ["voicemail"])
    a = await questions.answer(helper, q.id, "Buy a new phone, this is off topic for the network anyway.")
    await flags.raise_flag(flagger, a.id, "off_topic", "")
    await closing.vote(mod, q.id, "close", "off_topic")

    await login(client, "mod_mo")
    for path in (f"/posts/{a.id}/flag", f"/questions/{q.id}/close", "/review", f"/questions/{q.id}"):
        r = await client.get(path, follow_redirects=True)
        assert r.status_code == 200, path
        text = visible(r.text)
        assert "off_topic" not in text and "needs_details" not in text and "opinion_based" not in text, (path, text)
    assert "Off-topic" in visible((await client.get(f"/posts/{a.id}/flag")).text)
    assert "Closed as off-topic" in visible(await _thread(client, q.id))
    r = await client.post(f"/posts/{a.id}/flag", data={"csrf_token": csrf_of(r.text), "reason": "nonsense"})
    assert r.status_code == 422 and "off_topic" not in visible(r.text) and "off-topic" in visible(r.text)

    log = await client.get("/moderation/log")
    text = visible(log.text)
    assert "off_topic" not in text and "close_vote" not in text and "system" not in text
    assert re.search(r"\bpost \d+|\bmember \d+", text) is None, text
    # Titles (linked to the thread) and names, not ids.
    assert f'href="/questions/{q.id}/voicemail-greeting-resets-every-night#post-{a.id}"' in log.text
    assert "Answer on Voicemail greeting resets every night by Hal the Helper" in text
    assert "Question Voicemail greeting resets every night by asker_amy" in text
    assert "Flagged" in text and "Closed" in text and "Moderator closed it as off-topic" in text
    assert 'value="close_vote">Voted to close</option>' in log.text


async def test_the_audit_log_names_its_posts_and_members_in_two_queries(client, users, fake_clock, monkeypatch):
    from moderation import audit

    mod = await users("mod_mo", 1, "moderator")
    authors = [await users(f"author{i}", 20) for i in range(4)]
    asked = [await questions.ask(u, f"Roaming question number {i} about Spain", "Data stops at the border every time.",
                                 ["roaming"]) for i, u in enumerate(authors)]
    for q in asked:
        await closing.vote(mod, q.id, "close", "needs_details")
    rows, _ = await audit.entries(mod)
    calls = []
    real = db.fetch

    async def counted(sql, values=None, conn=None):
        calls.append(sql)
        return await real(sql, values, conn)

    monkeypatch.setattr(db, "fetch", counted)
    posts_on, members_on = await audit.subjects(rows)
    monkeypatch.undo()
    assert len(calls) == 2 and len(rows) == 4
    assert {p["title"] for p in posts_on.values()} == {q.title for q in asked}
    assert {m["name"] for m in members_on.values()} == {u.username for u in authors}


async def test_ticket_pages_say_resolutions_sources_and_history_in_words(client, users, fake_clock):
    asker, agent = await users("cust", 20), await users("agent", 1, "staff")
    mod = await users("mod_mo", 1, "moderator")
    q = await questions.ask(asker, "Top-up did not arrive on my account", "I paid 20 euros and my balance is the same.", ["topup"])
    fake_clock.advance(minutes=61)
    tid = (await sweeper.sweep()).created[0]
    await closing.vote(mod, q.id, "close", "off_topic")
    await login(client, "agent")
    page = await client.get(f"/support/tickets/{tid}")
    text = visible(page.text)
    assert "off_topic" not in text and "(sla)" not in text
    assert "Question closed" in text and "Resolved: The question was closed as off-topic." in text
    assert "(no answer within the SLA)" in text and "Escalated: No answer from the community within the SLA" in text
    assert "Question closed" in visible((await client.get("/support?show=resolved")).text)
    # A member's role is a title a person reads.
    profile = visible((await client.get(f"/users/{agent.id}")).text)
    assert "Support agent" in profile and " staff " not in f" {profile} "


# ---- new members are told before they act ------------------------------------------------------

async def test_a_new_member_sees_what_voting_and_commenting_take(client, users, fake_clock):
    asker, helper = await users("asker_amy", 20), await users("helper_hal", 200)
    newbie = await users("newbie")
    q = await questions.ask(asker, "Hotspot drops after ten minutes", "My laptop loses the hotspot after ten minutes.", ["hotspot"])
    a = await questions.answer(helper, q.id, "Turn off the battery saver; it switches the hotspot off when idle.")
    mine = await questions.answer(newbie, q.id, "Same here on my phone, following this thread for a fix.")

    await login(client, "newbie")
    page = await _thread(client, q.id)
    text = visible(page)
    assert "Vote up at 15 reputation; you have 1." in text
    assert "Comment on others' posts at 50 reputation." in text and "Vote down at 125 reputation." in text
    assert "Flag posts at 15 reputation." in text and "Vote to close at 3,000 reputation." in text
    assert '<span id="needs-upvote">Vote up at 15 reputation; you have 1.</span>' in page
    up = re.search(rf'<div class="votes" data-post="{a.id}">.*?<button[^>]*class="vote up[^>]*>', page, re.S).group(0)
    assert " disabled" in up and 'aria-describedby="needs-upvote"' in up
    down = re.search(rf'<div class="votes" data-post="{a.id}">.*?<button[^>]*class="vote down[^>]*>', page, re.S).group(0)
    assert " disabled" in down and 'aria-describedby="needs-downvote"' in down
    # Comments on others' posts are a disabled control with the reason beside it; on their own answer the form is there.
    answer_html = page[page.index(f'id="answer-{a.id}"'):page.index(f'id="answer-{mine.id}"')]
    assert 'aria-describedby="needs-comment">Add a comment</button> <span class="hint">at 50 reputation</span>' in answer_html
    own_html = page[page.index(f'id="answer-{mine.id}"'):]
    assert f'action="/posts/{mine.id}/comments"' in own_html and "needs-comment" not in own_html
    own_up = re.search(r'<button[^>]*class="vote up[^>]*>', own_html).group(0)
    assert 'disabled title="You cannot vote on your own post"' in own_up

    # Past a threshold the control is live and the note moves on to the next one, with what they have.
    await voting.vote(asker, mine.id, 1)  # +10: 11
    await voting.vote(helper, mine.id, 1)  # +10: 21
    page = await _thread(client, q.id)
    text = visible(page)
    assert "Vote up at" not in text and "Comment on others' posts at 50 reputation; you have 21." in text
    up = re.search(rf'<div class="votes" data-post="{a.id}">.*?<button[^>]*class="vote up[^>]*>', page, re.S).group(0)
    assert "disabled" not in up
    # No browser alert for a refused vote: the message goes beside the arrows.
    script = (ROOT / "community" / "static" / "site.js").read_text()
    assert "alert(" not in script and "vote-message" in script


async def test_members_with_every_privilege_and_anonymous_readers_get_no_note(client, users, fake_clock):
    asker = await users("asker_amy", 20)
    await users("veteran", 5000)
    q = await questions.ask(asker, "Wi-Fi calling icon never shows", "Wi-Fi calling is on but the icon never appears.", ["wifi-calling"])
    assert "privilege-note" not in await _thread(client, q.id)
    await login(client, "veteran")
    page = await _thread(client, q.id)
    assert "privilege-note" not in page and "needs-" not in page


async def test_the_welcome_panel_shows_after_sign_up_until_dismissed(client, users, fake_clock):
    settings.override("sla.first_answer_minutes", 60)
    form = await client.get("/signup")
    r = await client.post("/signup", data={"csrf_token": csrf_of(form.text), "username": "fresh_fay",
                                           "email": "fay@example.com", "password": "a long password 1"})
    assert r.status_code == 303
    home = await client.get(r.headers["location"])
    text = visible(home.text)
    assert "Welcome, fresh_fay: here is how this community works" in text
    for step in ("Ask.", "Accept.", "Earn reputation.", "vote up at 15 and comment everywhere at 50",
                 "If nobody answers your question within 1 hour (15 minutes for billing), a support agent answers it"):
        assert step in text, step
    assert "welcome-panel" in (await client.get("/tags")).text  # every page until dismissed
    r = await client.post("/welcome/dismiss", data={"csrf_token": csrf_of(home.text), "next": "/tags"})
    assert r.status_code == 303 and r.headers["location"] == "/tags"
    assert "welcome-panel" not in (await client.get("/tags")).text
    assert "welcome-panel" not in (await client.get("/")).text
    # An off-site next goes home; a member who only logs in never sees it.
    r = await client.post("/welcome/dismiss", data={"csrf_token": csrf_of(home.text), "next": "//evil.example"})
    assert r.headers["location"] == "/"
    await users("old_timer", 40)
    await login(client, "old_timer")
    assert "welcome-panel" not in (await client.get("/")).text


async def test_dismissing_the_welcome_needs_a_member_and_a_token(client, users, fake_clock):
    r = await client.post("/welcome/dismiss", data={})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    await users("member", 5)
    await login(client, "member")
    r = await client.post("/welcome/dismiss", data={"next": "/"})
    assert r.status_code == 403


async def test_kept_post_fragments_differ_by_what_the_viewer_lacks(database, users, fake_clock):
    """A thread's rows (and the fragments kept on them) are shared by every reader: a member who may
    vote must not get the fragment rendered for one who may not, nor the other way round."""
    from community import pages

    asker, helper = await users("asker_amy", 20), await users("helper_hal", 200)
    newbie, voter = await users("newbie"), await users("voter", 200)
    q = await questions.ask(asker, "Lost phone: how do I block the SIM", "My phone was stolen on the train this morning.", ["lost-phone"])
    await questions.answer(helper, q.id, "Call us or block it from My Account, then order a replacement SIM.")
    content = await questions.thread_content(q.id)
    for viewer, disabled in ((newbie, True), (voter, False), (newbie, True)):
        t = await questions.thread(q.id, viewer, content)
        answers = pages._posts_html(t, viewer, None, {}, {})["answers"].decode()
        assert ('aria-describedby="needs-upvote"' in answers) is disabled, viewer.username


# ---- the customer sees the SLA -----------------------------------------------------------------

async def test_the_asker_sees_when_support_steps_in_then_the_escalation_and_the_agent(client, users, fake_clock):
    fake_clock.set(fake_clock.now().replace(hour=13, minute=20))
    asker = await users("cust", 20)
    await users("other", 20)
    agent = await users("agent_priya", 1, "staff")
    await User.filter(id=agent.id).update(display_name="Priya")
    q = await questions.ask(asker, "eSIM will not activate on my new phone", "The QR code scan says the eSIM cannot be added.", ["esim"])

    await login(client, "cust")
    text = visible(await _thread(client, q.id))
    assert "If nobody answers by 14:20, our support team will step in." in text
    assert "Ask for an agent" not in text
    # In the member's own time zone when they set one (Kolkata is UTC+05:30).
    await User.filter(id=asker.id).update(time_zone="Asia/Kolkata")
    page = await _thread(client, q.id)
    assert "If nobody answers by 19:50, our support team will step in." in visible(page)
    assert '<time datetime="2026-01-05T14:20:00+00:00"' in page
    await User.filter(id=asker.id).update(time_zone="")
    # Else in the community's (Madrid is UTC+1 in January).
    settings.override("site.time_zone", "Europe/Madrid")
    assert "If nobody answers by 15:20" in visible(await _thread(client, q.id))
    settings.override("site.time_zone", "UTC")
    # Billing questions have 15 minutes.
    bill = await questions.ask(asker, "Charged twice for my monthly plan", "Two identical charges on my card this month.", ["billing"])
    assert "If nobody answers by 13:35" in visible(await _thread(client, bill.id))
    # Only the asker reads it.
    await login(client, "other")
    assert "If nobody answers by" not in visible(await _thread(client, q.id))

    await login(client, "cust")
    fake_clock.advance(minutes=61)
    assert (await sweeper.sweep()).created
    text = visible(await _thread(client, q.id))
    assert "Escalated to our support team. An agent will reply here soon." in text
    assert "If nobody answers by" not in text and "Ask for an agent" not in text
    tid = (await tickets.Ticket.get(question_id=q.id)).id
    await tickets.claim(agent, tid)
    text = visible(await _thread(client, q.id))
    assert "Escalated to our support team. Priya from our support team is on it." in text

    # Staff answered, and the moderator took it off the queue: support has had its say.
    await tickets.reply(agent, tid, "Please restart the phone, then scan the QR code again from Settings.")
    mod = await users("mod_mo", 1, "moderator")
    await tickets.de_escalate(mod, q.id, "Our agent answered it")
    fake_clock.advance(minutes=120)
    text = visible(await _thread(client, q.id))
    assert "Ask for an agent" not in text and "Escalated to our support team" not in text


async def test_ask_for_an_agent_goes_once_the_ticket_is_resolved(client, users, fake_clock):
    asker, agent = await users("cust", 20), await users("agent", 1, "staff")
    q = await questions.ask(asker, "Porting my number is stuck for days", "My old network released it but nothing happens.", ["porting"])
    await login(client, "cust")
    fake_clock.advance(minutes=61)
    # Past the SLA and not yet swept: the asker may ask.
    assert "Ask for an agent" in visible(await _thread(client, q.id))
    tid = (await sweeper.sweep()).created[0]
    await tickets.resolve(agent, tid, "no_response")
    text = visible(await _thread(client, q.id))
    assert "Ask for an agent" not in text and "If nobody answers by" not in text


# ---- the agent's ticket page -------------------------------------------------------------------

async def test_the_ticket_page_shows_the_whole_thread_read_only(client, users, fake_clock):
    asker, helper = await users("cust", 20), await users("helper_hal", 300)
    await User.filter(id=helper.id).update(display_name="Hal the Helper")
    commenter, voter = await users("chatty", 60), await users("voter", 30)
    await users("agent", 1, "staff")
    q = await questions.ask(asker, "Roaming data stops in France", "Data roaming is on but nothing loads in Paris.", ["roaming"])
    fake_clock.advance(minutes=61)
    tid = (await sweeper.sweep()).created[0]
    a = await questions.answer(helper, q.id, "Pick the partner network Orange F by hand in the network settings.")
    await questions.comment(commenter, q.id, "Which phone model is it?")
    await questions.comment(commenter, a.id, "This fixed it for me in Lyon too.")
    await voting.vote(voter, a.id, 1)
    await acceptance.accept(asker, q.id, a.id)

    await login(client, "agent")
    page = await client.get(f"/support/tickets/{tid}")
    assert page.status_code == 200
    text = visible(page.text)
    assert "Data roaming is on but nothing loads in Paris." in text
    assert "1 answer in the thread" in text
    assert "Pick the partner network Orange F by hand" in text and "Hal the Helper" in text
    assert "Which phone model is it? — chatty" in text and "This fixed it for me in Lyon too. — chatty" in text
    assert "Accepted answer" in text and "Answered by the community" in text
    answer = page.text[page.text.index(f'id="answer-{a.id}"'):]
    assert re.search(r'<span class="score" aria-label="score">1</span>', answer)
    # Read-only: no vote, comment or accept forms, and no edit link for the agent.
    assert "vote-form" not in page.text and "Add a comment" not in page.text and "Accept this answer" not in page.text
    assert f"/posts/{a.id}/edit" not in page.text


async def test_a_ticket_answered_stops_growing_its_wait(client, users, fake_clock):
    asker, agent = await users("cust", 20), await users("agent", 1, "staff")
    q = await questions.ask(asker, "No signal at home since Monday", "Signal dropped to no service in my street.", ["signal"])
    fake_clock.advance(minutes=61)
    tid = (await sweeper.sweep()).created[0]  # due at 10:00, escalated at 10:01
    await login(client, "agent")
    fake_clock.advance(minutes=20)
    desk = visible((await client.get("/support")).text)
    assert "waiting 21 min past its SLA" in desk
    await tickets.reply(agent, tid, "We are fixing a mast near you; service returns by tonight.")
    before = (await client.get("/support")).text
    assert "answered after 20 min" in visible(before)
    fake_clock.advance(hours=5)
    after = (await client.get("/support")).text
    text = visible(after)
    assert "answered after 20 min" in text and "past its SLA" not in text
    assert "breach" not in after.split('<ul class="qlist tickets">')[1]  # replied within 120 min, claimed by replying
    page = visible((await client.get(f"/support/tickets/{tid}")).text)
    assert "answered after 20 min" in page
    t = await tickets.Ticket.get(id=tid)
    assert tickets.wait(t, fake_clock.now()) == ("answered", 20)
    assert tickets.wait(t, fake_clock.now() + timedelta(days=3)) == ("answered", 20)
