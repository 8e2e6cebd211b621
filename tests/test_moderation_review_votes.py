"""Removing a post from the review queue: nobody decides on a post they flagged, a non-moderator's
spam, rude or delete decision is a vote until a second reviewer agrees (or the post's flags already
weigh the auto-hide threshold), and posts by moderators and staff go to a moderator instead."""

from __future__ import annotations

import asyncio

import pytest

from community import db, questions
from community.errors import Conflict, NotAllowed
from community.models import Post, ReputationEvent, User
from moderation import flags, posts, review
from moderation.models import AuditEntry, ReviewItem, ReviewVote
from tests.conftest import login, token_for

BODY = "My phone shows no signal at all since Monday, what should I do?"


async def ask(user: User, title: str = "Cheap unlocked phones for sale here") -> Post:
    return await questions.ask(user, title, BODY, "signal")


async def flagged_item(post: Post) -> ReviewItem:
    return await ReviewItem.get(post_id=post.id, queue="flagged")


async def offered(client, name: str) -> list[int]:
    r = await client.get("/api/v1/review", headers=await token_for(client, name))
    assert r.status_code == 200, r.text
    counts = {q["name"]: q["count"] for q in r.json()["queues"]}
    items = [i["id"] for i in r.json()["items"]]
    assert counts["flagged"] + counts["first_post"] == len(items)  # the counts are what this reviewer is offered
    return items


async def test_a_reviewer_cannot_decide_the_flag_they_raised_on_a_moderators_question(database, users, client):
    mod = await users("mod", 1, "moderator")
    await users("sly", 500)
    q = await ask(mod, "How do I reset the network settings on my phone")
    sly = await User.get(username="sly")
    await flags.raise_flag(sly, q.id, "spam")
    item = await flagged_item(q)
    assert await offered(client, "sly") == []  # neither listed nor counted
    r = await client.post(f"/api/v1/review/{item.id}", headers=await token_for(client, "sly"), json={"decision": "spam"})
    assert r.status_code == 403 and "You flagged this post" in r.json()["error"]["message"]
    csrf = await login(client, "sly")
    page = await client.post(f"/review/{item.id}", data={"decision": "delete", "csrf_token": csrf})
    assert page.status_code == 403 and "You flagged this post" in page.text
    assert (await Post.get(id=q.id)).deleted_at is None
    assert (await User.get(id=mod.id)).reputation == 1
    assert not await ReputationEvent.filter(user_id=mod.id, reason="spam").exists()
    assert (await ReviewItem.get(id=item.id)).decided_at is None
    assert not await ReviewVote.exists()


async def test_spam_needs_a_second_reviewer_and_the_penalty_comes_with_the_deletion(database, users, client):
    spammer = await users("spammer", 150)
    flagger = await users("flagger", 15)
    first = await users("first", 500)
    second = await users("second", 500)
    spam = await ask(spammer)
    await flags.raise_flag(flagger, spam.id, "spam")  # weight 10, under the hide threshold of 30
    item = await flagged_item(spam)
    r = await client.post(f"/api/v1/review/{item.id}", headers=await token_for(client, "first"), json={"decision": "spam"})
    assert r.status_code == 200, r.text
    assert r.json() == {"item_id": item.id, "queue": "flagged", "decision": "spam", "decided": False, "post_id": spam.id,
                        "votes": 1, "needed": 2, "waiting_for": "reviewer"}
    assert (await Post.get(id=spam.id)).deleted_at is None and (await User.get(id=spammer.id)).reputation == 150
    # The voter is not offered it again and may not vote twice; the second reviewer sees the vote.
    assert await offered(client, "first") == []
    with pytest.raises(Conflict) as err:
        await review.decide(first, item.id, "delete")
    assert "You already voted on this item (Spam)" in err.value.message
    r = await client.get("/api/v1/review", headers=await token_for(client, "second"))
    [seen] = r.json()["items"]
    assert (seen["id"], seen["removal_votes"], seen["needs_moderator"]) == (item.id, ["spam"], False)
    result = await review.decide(second, item.id, "spam", "link farm")
    assert (result["decided"], result["decision"], result["votes"]) == (True, "spam", 2)
    assert (await Post.get(id=spam.id)).deleted_at is not None
    assert (await User.get(id=spammer.id)).reputation == 50
    assert [e.amount for e in await ReputationEvent.filter(user_id=spammer.id, reason="spam")] == [-100]
    decided = await ReviewItem.get(id=item.id)
    assert (decided.decision, decided.decided_by_id) == ("spam", second.id)
    log = [(e.action, e.actor_id) for e in await AuditEntry.filter(post_id=spam.id, action__in=["review_vote", "spam"]).order_by("id")]
    assert log == [("review_vote", first.id), ("spam", second.id)]
    assert (await AuditEntry.get(action="spam", post_id=spam.id)).reason == "link farm (2 reviewers agreed)"
    assert [(v.reviewer_id, v.decision) for v in await ReviewVote.filter(item_id=item.id).order_by("id")] == [
        (first.id, "spam"), (second.id, "spam")]


async def test_reviewers_who_agree_on_removal_but_not_on_spam_delete_without_the_penalty(database, users):
    author = await users("author", 150)
    flagger = await users("flagger", 15)
    first = await users("first", 500)
    second = await users("second", 500)
    q = await ask(author)
    await flags.raise_flag(flagger, q.id, "spam")
    item = await flagged_item(q)
    assert (await review.decide(first, item.id, "spam"))["decided"] is False
    result = await review.decide(second, item.id, "delete")
    assert (result["decided"], result["decision"]) == (True, "delete")
    assert (await Post.get(id=q.id)).deleted_at is not None
    assert (await User.get(id=author.id)).reputation == 150
    assert not await ReputationEvent.filter(user_id=author.id, reason="spam").exists()


async def test_one_reviewer_removes_a_post_whose_flags_reach_the_hide_threshold(database, users):
    spammer = await users("spammer", 150)
    flaggers = [await users(f"flagger{i}", 15) for i in range(3)]
    reviewer = await users("reviewer", 500)
    spam = await ask(spammer)
    for f in flaggers:
        await flags.raise_flag(f, spam.id, "spam")  # 3 x 10 = the threshold: hidden by the community
    assert (await Post.get(id=spam.id)).hidden is True
    result = await review.decide(reviewer, (await flagged_item(spam)).id, "spam")
    assert (result["decided"], result["votes"]) == (True, 1)
    assert (await Post.get(id=spam.id)).deleted_at is not None
    assert (await User.get(id=spammer.id)).reputation == 50
    assert (await AuditEntry.get(action="spam", post_id=spam.id)).reason == \
        "Confirmed spam in review (spam and abuse flags weigh 30 (threshold 30))"


@pytest.mark.parametrize("role", ["moderator", "staff"])
async def test_posts_by_moderators_and_staff_go_to_a_moderator(database, users, client, role):
    author = await users("author", 1, role)
    flaggers = [await users(f"flagger{i}", 15) for i in range(3)]
    first = await users("first", 500)
    second = await users("second", 500)
    third = await users("third", 500)
    mod = await users("boss", 1, "moderator")
    q = await ask(author, "How do I reset the network settings on my phone")
    await flags.raise_flag(flaggers[0], q.id, "rude")
    item = await flagged_item(q)
    assert (await review.decide(first, item.id, "spam"))["waiting_for"] == "reviewer"
    result = await review.decide(second, item.id, "spam")
    assert (result["decided"], result["waiting_for"]) == (False, "moderator")
    for f in flaggers[1:]:  # even flags at the hide threshold do not let a reviewer remove it
        await flags.raise_flag(f, q.id, "spam")
    post = await Post.get(id=q.id)
    assert post.deleted_at is None and (await User.get(id=author.id)).reputation == 1
    assert (await ReviewItem.get(id=item.id)).needs_moderator is True
    assert await offered(client, "third") == []
    with pytest.raises(NotAllowed) as err:
        await review.decide(third, item.id, "decline")
    assert "a moderator decides it" in err.value.message
    r = await client.get("/api/v1/review", headers=await token_for(client, "boss"))
    [seen] = r.json()["items"]
    assert (seen["id"], seen["needs_moderator"], seen["removal_votes"]) == (item.id, True, ["spam", "spam"])
    page = await client.get("/review", headers=await token_for(client, "boss"))
    assert "waiting for a moderator" in page.text and "Reviewers' votes to remove so far: Spam, Spam." in page.text
    result = await review.decide(mod, item.id, "decline")
    assert result["decided"] is True and (await Post.get(id=q.id)).deleted_at is None


async def test_two_reviewers_voting_at_once_remove_the_post_once(database, users):
    spammer = await users("spammer", 150)
    flagger = await users("flagger", 15)
    first = await users("first", 500)
    second = await users("second", 600)
    spam = await ask(spammer)
    await flags.raise_flag(flagger, spam.id, "spam")
    item = await flagged_item(spam)
    results = await asyncio.gather(review.decide(first, item.id, "spam"), review.decide(second, item.id, "spam"))
    assert sorted(r["decided"] for r in results) == [False, True]
    assert (await Post.get(id=spam.id)).deleted_at is not None
    assert [e.amount for e in await ReputationEvent.filter(user_id=spammer.id, reason="spam")] == [-100]
    assert await AuditEntry.filter(action="spam", post_id=spam.id).count() == 1


async def test_the_review_page_says_the_vote_waits_for_a_second_reviewer(database, users, client):
    spammer = await users("spammer", 150)
    flagger = await users("flagger", 15)
    await users("first", 500)
    await users("second", 500)
    spam = await ask(spammer)
    await flags.raise_flag(flagger, spam.id, "spam")
    item = await flagged_item(spam)
    csrf = await login(client, "first")
    r = await client.post(f"/review/{item.id}", data={"decision": "spam", "csrf_token": csrf, "queue": "flagged"})
    assert r.status_code == 303 and r.headers["location"] == "/review?voted=Spam&waiting_for=reviewer&queue=flagged"
    page = await client.get(r.headers["location"])
    assert "Your vote (Spam) is recorded. The post is removed when another reviewer agrees." in page.text
    assert f'id="item-{item.id}"' not in page.text
    client.cookies.clear()
    csrf = await login(client, "second")
    page = await client.get("/review?queue=flagged")
    assert f'id="item-{item.id}"' in page.text and "Reviewers' votes to remove so far: Spam." in page.text
    r = await client.post(f"/review/{item.id}", data={"decision": "spam", "csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/review?done=Spam"
    assert (await Post.get(id=spam.id)).deleted_at is not None


async def test_confirming_spam_on_a_post_already_deleted_charges_nothing(database, users):
    author = await users("author", 150)
    mod = await users("mod", 1, "moderator")
    q = await ask(author)
    await posts.delete(mod, q.id, "off topic")
    async with db.transaction() as conn:
        await posts._confirm_spam(await posts.load_post(q.id, conn), mod, "late spam decision", conn)
    assert (await User.get(id=author.id)).reputation == 150
    assert not await ReputationEvent.filter(user_id=author.id, reason="spam").exists()
