"""Review queues: counts and the oldest item's age, decided once, first posts, suggested edits."""

from __future__ import annotations

import asyncio

import pytest

from community import questions
from community.errors import Conflict, Invalid, NotAllowed
from community.models import Post, User
from moderation import flags, review, revisions
from moderation.models import AuditEntry, Revision, ReviewItem
from tests.conftest import token_for

BODY = "My phone shows no signal at all since Monday, what should I do?"


async def ask(user: User, title: str = "No signal at home since Monday") -> Post:
    return await questions.ask(user, title, BODY, "signal")


async def test_queue_counts_and_the_age_of_the_oldest(database, users, fake_clock, client):
    author = await users("author", 20)
    newbie = await users("newbie")
    flagger = await users("flagger", 15)
    reviewer = await users("reviewer", 500)
    q = await ask(author)
    await flags.raise_flag(flagger, q.id, "off_topic")
    fake_clock.advance(minutes=90)
    await ask(newbie, "My very first question on this forum")  # a new member's first post
    fake_clock.advance(minutes=30)
    r = await client.get("/api/v1/review", headers=await token_for(client, "reviewer"))
    assert r.status_code == 200, r.text
    queues = {s["name"]: s for s in r.json()["queues"]}
    assert queues["flagged"]["count"] == 1 and queues["flagged"]["oldest_age_seconds"] == 120 * 60
    assert queues["first_post"]["count"] == 1 and queues["first_post"]["oldest_age_seconds"] == 30 * 60
    assert queues["suggested_edit"] == {"name": "suggested_edit", "title": "Suggested edits", "count": 0,
                                        "oldest_at": None, "oldest_age_seconds": None}
    items = r.json()["items"]
    assert [i["queue"] for i in items] == ["flagged", "first_post"]
    assert items[0]["flags"][0]["reason"] == "off_topic" and items[0]["decisions"] == ["spam", "rude", "delete", "decline"]
    page = await client.get("/review", headers=await token_for(client, "reviewer"))
    assert page.status_code == 200 and "2 h 0 min" in page.text and "30 min" in page.text
    assert reviewer.reputation == 500


async def test_only_a_members_first_post_is_queued(database, users):
    newbie = await users("newbie")
    old_hand = await users("oldhand", 50)
    q = await ask(newbie, "My very first question on this forum")
    await ask(newbie, "My second question on this forum")
    await questions.answer(newbie, q.id, "Answering my own question with more details here.")
    await ask(old_hand, "A question from an established member")
    items = await ReviewItem.filter(queue="first_post")
    assert [i.post_id for i in items] == [q.id]


async def test_two_reviewers_deciding_one_item_one_wins(database, users):
    author = await users("author", 20)
    flagger = await users("flagger", 15)
    first = await users("first", 1, "moderator")  # a moderator's delete is binding at once, like a decline
    second = await users("second", 600)
    q = await ask(author)
    await flags.raise_flag(flagger, q.id, "rude")
    item = await ReviewItem.get(post_id=q.id, queue="flagged")
    results = await asyncio.gather(review.decide(first, item.id, "delete"), review.decide(second, item.id, "decline"),
                                   return_exceptions=True)
    wins = [r for r in results if isinstance(r, dict)]
    losses = [r for r in results if isinstance(r, Conflict)]
    assert len(wins) == 1 and len(losses) == 1, results
    assert "already decided this item" in losses[0].message
    item = await ReviewItem.get(id=item.id)
    assert item.decision == wins[0]["decision"] and item.decided_at is not None
    post = await Post.get(id=q.id)
    assert (post.deleted_at is not None) == (wins[0]["decision"] == "delete")
    assert await AuditEntry.filter(post_id=q.id, action__in=["delete", "decline_flags"]).count() == 1
    with pytest.raises(Conflict):
        await review.decide(first, item.id, "delete")


async def test_decisions_must_fit_the_queue_and_need_the_privilege(database, users, client):
    author = await users("author", 20)
    flagger = await users("flagger", 15)
    low = await users("low", 499)
    reviewer = await users("reviewer", 500)
    q = await ask(author)
    await flags.raise_flag(flagger, q.id, "spam")
    item = await ReviewItem.get(post_id=q.id)
    with pytest.raises(NotAllowed) as err:
        await review.decide(low, item.id, "decline")
    assert "access review queues" in err.value.message and "500" in err.value.message
    with pytest.raises(Invalid):
        await review.decide(reviewer, item.id, "approve")
    r = await client.post(f"/api/v1/review/{item.id}", headers=await token_for(client, "reviewer"), json={"decision": 5})
    assert r.status_code == 422 and r.json()["error"]["field"] == "decision"
    r = await client.post("/api/v1/review/abc", headers=await token_for(client, "reviewer"), json={"decision": "spam"})
    assert r.status_code == 404
    # Nobody reviews their own post.
    author_reviewer = await users("selfish", 700)
    own = await ask(author_reviewer, "A question of my own to review")
    await flags.raise_flag(flagger, own.id, "spam")
    with pytest.raises(NotAllowed):
        await review.decide(author_reviewer, (await ReviewItem.get(post_id=own.id)).id, "decline")


async def test_suggested_edit_waits_then_applies_as_the_suggesters_revision(database, users, client):
    author = await users("author", 20)
    helper = await users("helper", 1999)
    reviewer = await users("reviewer", 500)
    q = await ask(author)
    r = await client.patch(f"/api/v1/posts/{q.id}", headers=await token_for(client, "helper"),
                           json={"body": BODY + " (Samsung A52, Android 14)", "comment": "added the phone model"})
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "suggested"
    assert (await Post.get(id=q.id)).body == BODY  # nothing changes until a reviewer approves
    # A second suggestion for the same post waits its turn.
    r2 = await client.patch(f"/api/v1/posts/{q.id}", headers=await token_for(client, "helper"), json={"body": BODY + " again"})
    assert r2.status_code == 409
    item = await ReviewItem.get(queue="suggested_edit", post_id=q.id)
    result = await review.decide(reviewer, item.id, "approve")
    assert result["decided"] is True
    post = await Post.get(id=q.id)
    assert post.body == BODY + " (Samsung A52, Android 14)"
    revs = await Revision.filter(post_id=q.id).order_by("number")
    assert [(r.number, r.editor_id) for r in revs] == [(1, author.id), (2, helper.id)]
    assert revs[1].comment.startswith("added the phone model (suggested by helper, approved by reviewer)")
    assert await AuditEntry.filter(action="approve_edit", actor_id=reviewer.id, post_id=q.id).exists()
    assert helper.reputation == 1999


async def test_rejected_suggestion_changes_nothing(database, users):
    author = await users("author", 20)
    helper = await users("helper", 100)
    reviewer = await users("reviewer", 500)
    q = await ask(author)
    outcome, _ = await revisions.edit(helper, q.id, title="A much better title for this question")
    assert outcome == "suggested"
    item = await ReviewItem.get(queue="suggested_edit")
    await review.decide(reviewer, item.id, "reject", "changes the meaning")
    assert (await Post.get(id=q.id)).title == "No signal at home since Monday"
    assert await AuditEntry.filter(action="reject_edit", reason="changes the meaning").exists()
    with pytest.raises(Invalid):
        await revisions.edit(helper, q.id, title="No signal at home since Monday")  # no change at all
