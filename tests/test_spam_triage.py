"""The spam triage through the real services and pages (moderation/spam.py): scores and holding,
a held post invisible in the thread, lists, search and the API but shown to its author with a
note, the honeypot, release and confirm from the Suspected spam queue, the model learning from
each decision, and the weekly figures."""

from __future__ import annotations

import json
import re

import pytest

from community import questions, settings
from community.models import Comment, Notification, Post, ReputationEvent, User
from community.support import policy, sweeper
from community.support.models import Ticket
from moderation import posts as moderation_posts
from moderation import review, spam
from moderation.models import ReviewItem, SpamCheck, SpamToken
from search.indexer import Indexer
from search.web import search_backend
from tests.conftest import login, token_for

BODY = "My phone shows no signal at all since Monday, I restarted it twice. What should I do next?"
LINK_DROP = ("Unlock any phone today with our tool, all carriers, no waiting: get it at "
             "https://bit.ly/unlock-now and http://cheap-unlocks.example.net/offer")


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


async def ask_page(client, csrf: str, title: str, body: str, tags: str = "unlock", **extra: str):
    return await client.post("/questions/ask", data={"csrf_token": csrf, "title": title, "body": body, "tags": tags, **extra})


async def search_ids(app, q: str) -> list[int]:
    await Indexer(search_backend(app)).drain()
    return [h.question_id for h in (await search_backend(app).search(q)).items]


@pytest.fixture
def config(config):
    config.embeddings = False  # the lexical index is what decides visibility; no model to load
    return config


async def test_a_link_drop_from_a_new_account_is_held_and_invisible_to_everyone_else(app, client, users):
    await users("spammer")
    await users("reader", 600)  # a reviewer, but no moderator
    await users("mod", 20000, "moderator")
    own, reader, mod = [await token_for(client, name) for name in ("spammer", "reader", "mod")]
    csrf = await login(client, "spammer")
    r = await ask_page(client, csrf, "Unlock your phone for any carrier today", LINK_DROP)
    assert r.status_code == 303, r.text
    q = await Post.get(kind="question")
    check = await SpamCheck.get(post_id=q.id)
    assert q.hidden and check.held and check.score >= settings.get("spam.hold_score")
    what, signals = spam.signals_of(check)
    assert what == "question"
    by_name = {s["signal"]: s for s in signals}
    assert {"shortener", "unknown_domains", "links", "account_age"} <= set(by_name)
    assert "bit.ly" in by_name["shortener"]["detail"] and by_name["shortener"]["points"] > 0
    assert by_name["model"]["points"] == 0  # nothing learned yet

    # The author sees their post, with the note.
    page = await client.get(f"/questions/{q.id}", follow_redirects=True)
    assert page.status_code == 200 and "Held for review" in page.text
    mine = await client.get(f"/api/v1/questions/{q.id}", headers=own)
    assert mine.status_code == 200

    # Nobody else does: thread, list, API, search.
    await client.post("/logout", data={"csrf_token": csrf_of(page.text)})
    assert (await client.get(f"/questions/{q.id}", follow_redirects=True)).status_code == 404
    assert "Unlock your phone" not in (await client.get("/")).text
    assert (await client.get(f"/api/v1/questions/{q.id}", headers=reader)).status_code == 404
    listed = (await client.get("/api/v1/questions", headers=reader)).json()
    assert q.id not in [item["id"] for item in listed["items"]]
    assert await search_ids(app, "unlock carrier") == []
    await login(client, "reader")
    assert (await client.get(f"/questions/{q.id}", follow_redirects=True)).status_code == 404

    # It waits in the Suspected spam queue, which only moderators see.
    item = await ReviewItem.get(post_id=q.id, queue="spam")
    assert item.decided_at is None and "score" in item.note
    assert (await client.get("/review/spam")).status_code == 403
    queues = {s["name"]: s["count"] for s in (await client.get("/api/v1/review", headers=mod)).json()["queues"]}
    assert queues["spam"] == 1
    assert "spam" not in {s["name"] for s in (await client.get("/api/v1/review", headers=reader)).json()["queues"]}


async def test_an_ordinary_first_question_is_scored_but_not_held(app, client, users):
    newbie = await users("newbie")
    q = await questions.ask(newbie, "No signal at home since Monday", BODY, "signal")
    check = await SpamCheck.get(post_id=q.id)
    assert not check.held and check.score < 20 and not (await Post.get(id=q.id)).hidden
    assert await ReviewItem.filter(post_id=q.id, queue="first_post").exists()  # the first-post queue as before
    assert await search_ids(app, "signal monday") == [q.id]
    # Members past the threshold are not scored at all.
    regular = await users("regular", 500)
    q2 = await questions.ask(regular, "Voicemail greeting resets itself", BODY, "voicemail")
    assert not await SpamCheck.filter(post_id=q2.id).exists()


async def test_a_held_answer_hides_from_the_thread_and_does_not_stop_escalation(app, client, users, fake_clock):
    asker = await users("asker", 200)
    q = await questions.ask(asker, "No signal at home since Monday", BODY, "signal")
    fake_clock.advance(minutes=5)
    spammer = await users("spammer")
    a = await questions.answer(spammer, q.id, LINK_DROP)
    assert (await Post.get(id=a.id)).hidden
    fresh = await Post.get(id=q.id)
    assert fresh.first_answer_at is None and fresh.answer_count == 0 and fresh.state == "unanswered"
    assert not await Notification.filter(user_id=asker.id, post_id=a.id).exists()  # "X answered" went with it
    await login(client, "asker")
    page = (await client.get(f"/questions/{q.id}", follow_redirects=True)).text
    assert f'id="answer-{a.id}"' not in page and "Held for review" not in page
    await login(client, "spammer")
    page = (await client.get(f"/questions/{q.id}", follow_redirects=True)).text
    assert f'id="answer-{a.id}"' in page and "Held for review: only you and moderators" in page
    # The question still escalates on its SLA: the held answer is no first answer.
    fake_clock.advance(minutes=settings.get("sla.first_answer_minutes") + 1)
    due = await sweeper.find_due(policy.current(), fake_clock.now())
    assert q.id in [d.question_id for d in due]


async def test_a_held_answer_is_no_community_answer_on_the_ticket_until_released(app, users, fake_clock):
    asker = await users("asker", 200)
    mod = await users("mod", 20000, "moderator")
    q = await questions.ask(asker, "No signal at home since Monday", BODY, "signal")
    fake_clock.advance(minutes=settings.get("sla.first_answer_minutes") + 1)
    assert (await sweeper.sweep(fake_clock.now())).created
    spammer = await users("spammer")
    held = await questions.answer(spammer, q.id, LINK_DROP)
    assert (await Post.get(id=held.id)).hidden
    ticket = await Ticket.get(question_id=q.id)
    assert ticket.community_answer_id is None  # the desk must not think the community answered
    await review.decide(mod, (await ReviewItem.get(post_id=held.id, queue="spam")).id, "release")
    ticket = await Ticket.get(question_id=q.id)
    assert ticket.community_answer_id == held.id and ticket.community_answer_at is not None
    # Another member answers; the first one is then deleted: the other takes its place.
    fake_clock.advance(minutes=2)
    helper = await users("helper", 500)
    second = await questions.answer(helper, q.id, "Reset the network settings, then turn airplane mode on and off.")
    assert (await Ticket.get(question_id=q.id)).community_answer_id == held.id
    await moderation_posts.delete(mod, held.id)
    assert (await Ticket.get(question_id=q.id)).community_answer_id == second.id
    await moderation_posts.delete(mod, second.id)
    ticket = await Ticket.get(question_id=q.id)
    assert ticket.community_answer_id is None and ticket.community_answer_at is None


async def test_a_held_question_is_not_escalated_until_released(app, client, users, fake_clock):
    spammer = await users("spammer")
    mod = await users("mod", 20000, "moderator")
    q = await questions.ask(spammer, "Unlock your phone for any carrier today", LINK_DROP, "unlock")
    assert (await Post.get(id=q.id)).hidden
    fake_clock.advance(minutes=settings.get("sla.first_answer_minutes") + 1)
    assert q.id not in [d.question_id for d in await sweeper.find_due(policy.current(), fake_clock.now())]
    item = await ReviewItem.get(post_id=q.id, queue="spam")
    await review.decide(mod, item.id, "release")
    assert q.id in [d.question_id for d in await sweeper.find_due(policy.current(), fake_clock.now())]


async def test_release_shows_indexes_and_tells_the_member_and_teaches_the_model(app, client, users):
    spammer = await users("eager")
    await users("mod", 20000, "moderator")
    q = await questions.ask(spammer, "Unlock your phone for any carrier today", LINK_DROP, "unlock")
    assert await search_ids(app, "unlock carrier") == []
    csrf = await login(client, "mod")
    page = await client.get("/review/spam")
    assert page.status_code == 200 and "Unlock your phone for any carrier today" in page.text
    assert "A link shortener hides where it goes: bit.ly" in page.text
    item = await ReviewItem.get(post_id=q.id, queue="spam")
    r = await client.post(f"/review/spam/{item.id}", data={"csrf_token": csrf, "decision": "release"})
    assert r.status_code == 303 and r.headers["location"].startswith("/review/spam?done=")
    assert not (await Post.get(id=q.id)).hidden
    check = await SpamCheck.get(post_id=q.id)
    assert check.decision == "ham" and check.decided_by_id is not None
    told = await Notification.get(user_id=spammer.id, kind="spam_released")
    assert told.post_id == q.id and "now visible" in told.text
    assert await search_ids(app, "unlock carrier") == [q.id]
    await client.post("/logout", data={"csrf_token": csrf})
    assert (await client.get(f"/questions/{q.id}", follow_redirects=True)).status_code == 200
    tokens = {t.token: (t.spam, t.ham) for t in await SpamToken.all()}
    assert tokens["!docs"] == (0, 1) and tokens["dom:bit.ly"] == (0, 1) and tokens["unlock"] == (0, 1)
    # Decided once: the same decision again is refused and teaches nothing more.
    csrf = await login(client, "mod")
    again = await client.post(f"/review/spam/{item.id}", data={"csrf_token": csrf, "decision": "spam"})
    assert again.status_code == 409 and "already decided" in again.text
    assert (await SpamToken.get(token="!docs")).ham == 1


async def test_confirming_spam_deletes_penalises_and_teaches_the_model(app, client, users):
    spammer = await users("spammer")
    mod = await users("mod", 20000, "moderator")
    q = await questions.ask(spammer, "Unlock your phone for any carrier today", LINK_DROP, "unlock")
    item = await ReviewItem.get(post_id=q.id, queue="spam")
    headers = await token_for(client, "mod")
    r = await client.post(f"/api/v1/review/{item.id}", json={"decision": "spam"}, headers=headers)
    assert r.status_code == 200, r.text
    post = await Post.get(id=q.id)
    assert post.deleted_at is not None
    assert await ReputationEvent.filter(user_id=spammer.id, reason="spam", amount=settings.get("rep.spam_penalty")).count() == 1
    assert (await SpamCheck.get(post_id=q.id)).decision == "spam"
    tokens = {t.token: (t.spam, t.ham) for t in await SpamToken.all()}
    assert tokens["!docs"] == (1, 0) and tokens["dom:cheap-unlocks.example.net"] == (1, 0) and tokens["has:shortener"] == (1, 0)
    assert (await ReviewItem.get(id=item.id)).decision == "spam"
    assert mod.is_moderator


async def test_the_model_counts_once_trained_and_moves_the_score(app, users):
    settings.override("spam.model_min_decisions", 3)
    mod = await users("mod", 20000, "moderator")
    spam_texts = ["Cheap followers and likes, buy now, best price guaranteed, message me on whatsapp",
                  "Buy cheap followers today, guaranteed likes, whatsapp me for the price",
                  "Guaranteed followers, cheap likes, buy now and whatsapp for a price list"]
    ham_texts = ["My voicemail greeting resets itself after every software update on the phone",
                 "Roaming in Spain shows no service although roaming is on in the settings",
                 "The bill shows a charge for a premium number that I never called from home"]
    for n, text in enumerate(spam_texts + ham_texts):
        member = await users(f"member{n}")
        q = await questions.ask(member, f"Question number {n} from a new member here", text, "misc")
        item = await ReviewItem.get(post_id=q.id, queue="first_post")
        await review.decide(mod, item.id, "spam" if n < 3 else "looks_ok")
    assert (await SpamToken.get(token="!docs")).spam == 3 and (await SpamToken.get(token="!docs")).ham == 3
    assert (await SpamToken.get(token="followers")).spam == 3
    probe = await users("probe")
    q = await questions.ask(probe, "Followers and likes for your account today",
                            "Buy guaranteed followers and cheap likes now, whatsapp me", "misc")
    check = await SpamCheck.get(post_id=q.id)
    model = {s["signal"]: s for s in spam.signals_of(check)[1]}["model"]
    assert model["points"] > 3 and "followers" in model["detail"]
    assert check.held and (await Post.get(id=q.id)).hidden
    honest = await users("honest")
    q2 = await questions.ask(honest, "Voicemail greeting resets after update",
                             "After the software update my voicemail greeting resets on this phone", "voicemail")
    model2 = {s["signal"]: s for s in spam.signals_of(await SpamCheck.get(post_id=q2.id))[1]}["model"]
    assert model2["points"] < 0


async def test_the_honeypot_is_invisible_and_a_filled_one_means_a_bot(app, client, users):
    await users("regular", 500)
    api = await token_for(client, "regular")
    csrf = await login(client, "regular")
    form = (await client.get("/questions/ask")).text
    field = re.search(r'<div class="visually-hidden" aria-hidden="true">\s*<label for="website">Leave this field empty</label>\s*'
                      r'<input type="text" id="website" name="website" value="" tabindex="-1" autocomplete="off">', form)
    assert field, "the honeypot field is on the ask form, hidden, out of the tab order, without autofill"
    r = await ask_page(client, csrf, "Voicemail greeting resets itself", BODY, website="http://bot.example")
    assert r.status_code == 303
    q = await Post.get(kind="question")
    check = await SpamCheck.get(post_id=q.id)  # judged although the member is past the threshold
    assert check.held and check.score == 100 and spam.signals_of(check)[1][0]["signal"] == "honeypot"
    # A comment cannot be held, so a bot's comment is refused; a person's goes through.
    other = await questions.ask(await users("asker", 200), "No signal at home since Monday", BODY, "signal")
    thread = (await client.get(f"/questions/{other.id}", follow_redirects=True)).text
    import re as _r; print(_r.findall(r"<h1>.*?</h1>|<title>.*?</title>", thread), thread[thread.find("<main"):][:1200]); assert f'id="website-comment-{other.id}"' in thread and 'id="website-answer"' in thread
    r = await client.post(f"/posts/{other.id}/comments", data={"csrf_token": csrf, "body": "Is it the same on wifi?",
                                                               "website": "x"})
    assert r.status_code == 422 and "must stay empty" in r.text and "Is it the same on wifi?" in r.text
    assert await Comment.filter(post_id=other.id).count() == 0
    r = await client.post(f"/posts/{other.id}/comments", data={"csrf_token": csrf, "body": "Is it the same on wifi?", "website": ""})
    assert r.status_code == 303 and await Comment.filter(post_id=other.id).count() == 1
    # An API write after a form read in the same task is not judged by that form.
    r = await client.post("/api/v1/questions", json={"title": "Data stops when I leave home", "body": BODY, "tags": ["data"]},
                          headers=api)
    assert r.status_code == 201 and not await SpamCheck.filter(post_id=r.json()["id"]).exists()
    # Nor is a direct service call in the same task.
    plain = await questions.ask(await users("asker2", 200), "Voicemail greeting resets after update", BODY, "voicemail")
    assert not await SpamCheck.filter(post_id=plain.id).exists()


async def test_sign_up_with_the_honeypot_filled_is_refused(app, client):
    page = await client.get("/signup")
    assert 'name="website"' in page.text and 'tabindex="-1"' in page.text
    data = {"csrf_token": csrf_of(page.text), "username": "botty", "email": "botty@example.com", "password": "password123"}
    r = await client.post("/signup", data={**data, "website": "http://spam.example"})
    assert r.status_code == 422 and "must stay empty" in r.text and 'value="botty"' in r.text
    assert not await User.filter(username="botty").exists()
    r = await client.post("/signup", data={**data, "website": ""})
    assert r.status_code == 303 and await User.filter(username="botty").exists()


async def test_a_big_edit_that_adds_links_is_checked_again(app, users):
    member = await users("member")
    q = await questions.ask(member, "No signal at home since Monday", BODY, "signal")
    assert not (await SpamCheck.get(post_id=q.id)).held
    await questions.edit(member, q.id, body=BODY + " Fixed it myself.")  # small: not checked again
    assert await SpamCheck.filter(post_id=q.id).count() == 1
    await questions.edit(member, q.id, body=BODY + "\n\n" + LINK_DROP)
    checks = await SpamCheck.filter(post_id=q.id).order_by("id")
    assert len(checks) == 2 and checks[1].held and spam.signals_of(checks[1])[0] == "edit"
    assert (await Post.get(id=q.id)).hidden


async def test_the_same_text_from_two_new_accounts_counts_as_repeated(app, users, fake_clock):
    first = await users("first")
    fake_clock.advance(days=2)  # old enough accounts: only the repetition counts
    second = await users("second")
    fake_clock.advance(days=2)
    text = "Best deals on phone cases and chargers this week only, visit our shop for the discount code"
    await questions.ask(first, "Phone cases and chargers on sale this week", text, "deals")
    q = await questions.ask(second, "Phone cases and chargers on sale this week!", text, "deals")
    signals = {s["signal"]: s for s in spam.signals_of(await SpamCheck.get(post_id=q.id))[1]}
    assert signals["repeats_others"]["points"] > 0 and "account_age" not in signals


async def test_weekly_figures_page_and_json(app, client, users, fake_clock):
    mod = await users("mod", 20000, "moderator")
    held = []
    for n in range(3):
        member = await users(f"spammer{n}")
        held.append(await questions.ask(member, f"Unlock your phone for any carrier, offer {n}", LINK_DROP + f" {n}", "unlock"))
    await questions.ask(await users("fine"), "No signal at home since Monday", BODY, "signal")
    items = {i.post_id: i for i in await ReviewItem.filter(queue="spam")}
    await review.decide(mod, items[held[0].id].id, "spam")
    await review.decide(mod, items[held[1].id].id, "release")
    headers = await token_for(client, "mod")
    await users("reader", 600)
    reader = await token_for(client, "reader")
    r = await client.get("/api/v1/review/spam/weekly?weeks=2", headers=headers)
    assert r.status_code == 200
    weeks = r.json()["items"]
    assert len(weeks) == 2
    assert {k: weeks[0][k] for k in ("checked", "held", "confirmed", "released", "waiting", "missed", "false_positive_rate")} == \
        {"checked": 4, "held": 3, "confirmed": 1, "released": 1, "waiting": 1, "missed": 0, "false_positive_rate": 0.5}
    assert weeks[1]["checked"] == 0 and weeks[1]["false_positive_rate"] is None
    fake_clock.advance(days=7)
    weeks = (await client.get("/api/v1/review/spam/weekly?weeks=2", headers=headers)).json()["items"]
    assert weeks[1]["held"] == 3 and weeks[0]["held"] == 0
    await login(client, "mod")
    page = await client.get("/review/spam/weekly")
    assert page.status_code == 200 and "50%" in page.text and "False positives" in page.text
    bad = await client.get("/review/spam/weekly?weeks=zero")
    assert bad.status_code == 422 and "whole number" in bad.text
    assert (await client.get("/api/v1/review/spam/weekly?weeks=999", headers=headers)).status_code == 422
    assert (await client.get("/api/v1/review/spam/weekly", headers=reader)).status_code == 403


async def test_reviewers_who_are_not_moderators_cannot_decide_suspected_spam(app, client, users):
    spammer = await users("spammer")
    reviewer = await users("reviewer", 600)
    q = await questions.ask(spammer, "Unlock your phone for any carrier today", LINK_DROP, "unlock")
    item = await ReviewItem.get(post_id=q.id, queue="spam")
    assert [v for v in await review.waiting(reviewer) if v.item.queue == "spam"] == []
    r = await client.post(f"/api/v1/review/{item.id}", json={"decision": "release"}, headers=await token_for(client, "reviewer"))
    assert r.status_code == 403 and (await Post.get(id=q.id)).hidden


async def test_reasons_are_json_with_every_signal(app, users):
    q = await questions.ask(await users("spammer"), "Unlock your phone for any carrier today", LINK_DROP, "unlock")
    raw = json.loads((await SpamCheck.get(post_id=q.id)).reasons)
    assert raw["what"] == "question"
    assert all(set(s) == {"signal", "points", "detail"} for s in raw["signals"])
