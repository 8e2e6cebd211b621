"""Flags: weights from the flagger's standing, auto-hide, the spam penalty and flag accuracy, with exact numbers."""

from __future__ import annotations

import pytest

from community import db, questions, settings
from community.errors import Conflict, Invalid, NotAllowed, NotFound
from community.models import Post, ReputationEvent, User
from moderation import flags, review
from moderation.models import AuditEntry, Flag, ReviewItem
from search.models import IndexOutbox
from tests.conftest import token_for

BODY = "My phone shows no signal at all since Monday, what should I do?"


async def ask(user: User, title: str = "No signal at home since Monday") -> Post:
    return await questions.ask(user, title, BODY, "signal")


async def flagged_item(post: Post) -> ReviewItem:
    return await ReviewItem.get(post_id=post.id, queue="flagged", decided_at=None)


async def test_weight_grows_with_reputation_and_accuracy_and_shrinks_when_declined(database, users):
    plain = await users("plain", 15)
    rich = await users("rich", 5000)
    middling = await users("middling", 2500)
    huge = await users("huge", 100000)
    mod = await users("mod", 1, "moderator")
    assert (await flags.standing(plain)).weight == 10
    assert (await flags.standing(middling)).weight == 10 + 4
    assert (await flags.standing(rich)).weight == 10 + 10
    assert (await flags.standing(huge)).weight == 10 + 10  # the reputation bonus is capped
    assert (await flags.standing(mod)).weight == 30  # the whole hide threshold
    assert flags.weight_for(plain, helpful=2, declined=0) == 12
    assert flags.weight_for(plain, helpful=25, declined=0) == 20  # helpful bonus capped at 10
    assert flags.weight_for(plain, helpful=0, declined=1) == 7
    assert flags.weight_for(plain, helpful=2, declined=1) == 9
    assert flags.weight_for(plain, helpful=0, declined=4) == 1  # never below the minimum
    settings.override("flag.weight_per_declined", 5)
    assert flags.weight_for(plain, helpful=0, declined=1) == 5


async def test_three_plain_spam_flags_hide_a_post_and_it_leaves_search(database, users, client):
    author = await users("spammer")
    flaggers = [await users(f"flagger{i}", 15) for i in range(3)]
    q = await ask(author)
    before = await IndexOutbox.filter(question_id=q.id).count()
    f1, hidden = await flags.raise_flag(flaggers[0], q.id, "spam")
    assert (f1.weight, hidden) == (10, False)
    await flags.raise_flag(flaggers[1], q.id, "off_topic")  # off-topic flags do not hide
    _, hidden = await flags.raise_flag(flaggers[2], q.id, "rude")
    assert hidden is False and await flags.hiding_weight(q.id) == 20
    fourth = await users("flagger3", 15)
    _, hidden = await flags.raise_flag(fourth, q.id, "spam")
    assert hidden is True and await flags.hiding_weight(q.id) == 30
    assert (await Post.get(id=q.id)).hidden is True
    assert await IndexOutbox.filter(question_id=q.id).count() == before + 1
    entry = await AuditEntry.get(action="auto_hide", post_id=q.id)
    assert entry.actor_id is None and "30" in entry.reason
    # Hidden: gone for everyone but the author and moderators.
    assert (await client.get(f"/api/v1/questions/{q.id}")).status_code == 404
    assert q.id not in [i["id"] for i in (await client.get("/api/v1/questions")).json()["items"]]
    r = await client.get(f"/api/v1/questions/{q.id}", headers=await token_for(client, "spammer"))
    assert r.status_code == 200
    await users("boss", 1, "moderator")
    assert (await client.get(f"/api/v1/questions/{q.id}", headers=await token_for(client, "boss"))).status_code == 200
    # One review item for the post, however many flags.
    assert await ReviewItem.filter(post_id=q.id, queue="flagged").count() == 1


async def test_a_moderators_spam_flag_hides_at_once(database, users):
    author = await users("spammer")
    mod = await users("mod", 1, "moderator")
    q = await ask(author)
    flag, hidden = await flags.raise_flag(mod, q.id, "spam")
    assert flag.weight == 30 and hidden is True
    entry = await AuditEntry.get(action="hide", post_id=q.id)
    assert entry.actor_id == mod.id


async def test_hidden_answer_stops_counting(database, users):
    asker = await users("asker")
    spammer = await users("spammer")
    mod = await users("mod", 1, "moderator")
    q = await ask(asker)
    a = await questions.answer(spammer, q.id, "Buy cheap phones at my shop, best prices in town!")
    assert (await Post.get(id=q.id)).answer_count == 1
    await flags.raise_flag(mod, a.id, "spam")
    q = await Post.get(id=q.id)
    assert (q.answer_count, q.state) == (0, "unanswered")
    t = await questions.thread(q.id, None)
    assert t.answers == []


async def test_flag_rules(database, users):
    author = await users("author")
    low = await users("low", 14)
    ok = await users("okay", 15)
    q = await ask(author)
    with pytest.raises(NotAllowed) as err:
        await flags.raise_flag(low, q.id, "spam")
    assert "flag posts" in err.value.message and "15" in err.value.message
    with pytest.raises(Invalid) as err:
        await flags.raise_flag(ok, q.id, "boring")
    assert err.value.field == "reason"
    with pytest.raises(Invalid) as err:
        await flags.raise_flag(ok, q.id, "moderator", "short")
    assert err.value.field == "message"
    await flags.raise_flag(ok, q.id, "moderator", "This member is impersonating staff.")
    with pytest.raises(Conflict):
        await flags.raise_flag(ok, q.id, "spam")
    author = await User.get(id=author.id)
    author.reputation = 20  # enough to flag, but never their own post
    with pytest.raises(NotAllowed):
        await flags.raise_flag(author, q.id, "spam")
    with pytest.raises(NotFound):
        await flags.raise_flag(ok, 999999, "spam")


async def test_confirmed_spam_costs_exactly_the_penalty_and_queues_other_posts(database, users, client):
    spammer = await users("spammer", 150)
    first = await users("first", 500)
    reviewer = await users("reviewer", 500)
    flagger = await users("flagger", 15)
    spam = await ask(spammer, "Cheap unlocked phones for sale here")
    other = await ask(spammer, "Another question from the same member")
    await flags.raise_flag(flagger, spam.id, "spam")
    # One reviewer's spam decision is a vote: nothing is deleted and nobody is fined yet.
    result = await review.decide(first, (await flagged_item(spam)).id, "spam")
    assert (result["decided"], result["votes"], result["needed"]) == (False, 1, 2)
    assert (await User.get(id=spammer.id)).reputation == 150
    assert (await Post.get(id=spam.id)).deleted_at is None
    result = await review.decide(reviewer, (await flagged_item(spam)).id, "spam")  # a second reviewer agrees
    assert result["decided"] is True
    assert (await User.get(id=spammer.id)).reputation == 150 - 100
    assert (await Post.get(id=spam.id)).deleted_at is not None
    assert (await Flag.get(post_id=spam.id)).status == "helpful"
    assert await ReviewItem.filter(post_id=other.id, queue="flagged", decided_at=None).exists()
    assert await AuditEntry.filter(action="spam", post_id=spam.id, actor_id=reviewer.id).exists()
    # The flagger's next flag weighs more: one helpful flag.
    assert (await flags.standing(flagger)).weight == 11
    # Undelete gives the penalty back.
    mod = await users("mod", 1, "moderator")
    r = await client.post(f"/api/v1/posts/{spam.id}/undelete", headers=await token_for(client, "mod"), json={})
    assert r.status_code == 200, r.text
    assert (await User.get(id=spammer.id)).reputation == 150
    # Confirmed again (a fresh flag after the undelete): charged again, exactly once.
    second = await users("flagger2", 15)
    await flags.raise_flag(second, spam.id, "spam")
    await review.decide(mod, (await flagged_item(spam)).id, "spam")
    assert (await User.get(id=spammer.id)).reputation == 50
    amounts = [e.amount for e in await ReputationEvent.filter(user_id=spammer.id, ref=f"spam:{spam.id}").order_by("id")]
    assert amounts == [-100, 100, -100]


async def test_spam_penalty_respects_the_reputation_floor(database, users):
    spammer = await users("spammer", 50)
    reviewer = await users("reviewer", 500)
    mod = await users("mod", 1, "moderator")
    spam = await ask(spammer, "Cheap unlocked phones for sale here")
    await flags.raise_flag(mod, spam.id, "spam")
    await review.decide(reviewer, (await flagged_item(spam)).id, "spam")
    assert (await User.get(id=spammer.id)).reputation == 1  # max(1, 1 + 49 - 100)
    rows = await db.fetch("SELECT SUM(amount) AS s FROM reputation_event WHERE user_id = ?", [spammer.id])
    assert int(rows[0]["s"]) == 49 - 100


async def test_declined_flags_unhide_the_post_and_lower_the_flaggers_weight(database, users):
    author = await users("author")
    reviewer = await users("reviewer", 500)
    fs = [await users(f"flagger{i}", 15) for i in range(3)]
    q = await ask(author)
    for f in fs:
        await flags.raise_flag(f, q.id, "spam")
    assert (await Post.get(id=q.id)).hidden is True
    await review.decide(reviewer, (await flagged_item(q)).id, "decline")
    assert (await Post.get(id=q.id)).hidden is False
    assert await Flag.filter(post_id=q.id, status="declined").count() == 3
    assert (await flags.standing(fs[0])).weight == 7
    q2 = await ask(author, "A second question about my signal")
    flag, _ = await flags.raise_flag(fs[0], q2.id, "spam")
    assert flag.weight == 7
    assert await AuditEntry.filter(action="decline_flags", post_id=q.id).exists()
    assert await AuditEntry.filter(action="unhide", post_id=q.id).exists()
