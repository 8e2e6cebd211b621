"""Close and reopen: three votes or one moderator, duplicates, no new answers, races, the support hook."""

from __future__ import annotations

import asyncio
import sys
import types

import pytest

from community import questions
from community.errors import Conflict, Invalid, NotAllowed
from community.models import Post, User
from moderation import closing, review
from moderation.models import AuditEntry, CloseVote, ReviewItem
from search.models import IndexOutbox
from tests.conftest import token_for

BODY = "My phone shows no signal at all since Monday, what should I do?"


async def ask(user: User, title: str = "No signal at home since Monday") -> Post:
    return await questions.ask(user, title, BODY, "signal")


async def test_three_votes_close_with_the_most_common_reason(database, users, client):
    asker = await users("asker")
    voters = [await users(f"voter{i}", 3000) for i in range(3)]
    q = await ask(asker)
    r = await client.post(f"/api/v1/questions/{q.id}/close", headers=await token_for(client, "voter0"),
                          json={"reason": "needs_details"})
    assert r.status_code == 200, r.text
    assert r.json() == {"question_id": q.id, "kind": "close", "votes": 1, "needed": 3, "closed": None}
    assert (await ReviewItem.get(queue="close", post_id=q.id)).decided_at is None
    await closing.vote(voters[1], q.id, "close", "opinion_based")
    result = await closing.vote(voters[2], q.id, "close", "opinion_based")
    assert result["closed"] == {"reason": "opinion_based", "duplicate_of": None}
    assert (await client.get(f"/api/v1/questions/{q.id}")).json()["closed"] == {"reason": "opinion_based", "duplicate_of": None}
    assert (await ReviewItem.get(queue="close", post_id=q.id)).decision == "closed"
    assert await AuditEntry.filter(action="close", post_id=q.id).count() == 1
    assert await CloseVote.filter(question_id=q.id, active_key__not_isnull=True).count() == 0
    with pytest.raises(NotAllowed) as err:
        await questions.answer(asker, q.id, "An answer to a closed question, which must be refused.")
    assert "closed" in err.value.message
    page = await client.get(f"/questions/{q.id}", follow_redirects=True)
    assert "Closed as opinion-based" in page.text


async def test_votes_need_the_privilege_and_count_once(database, users):
    asker = await users("asker")
    low = await users("low", 2999)
    voter = await users("voter", 3000)
    q = await ask(asker)
    with pytest.raises(NotAllowed) as err:
        await closing.vote(low, q.id, "close", "off_topic")
    assert "cast close and reopen votes" in err.value.message and "3000" in err.value.message
    await closing.vote(voter, q.id, "close", "off_topic")
    with pytest.raises(Conflict):
        await closing.vote(voter, q.id, "close", "off_topic")
    with pytest.raises(Invalid):
        await closing.vote(voter, q.id, "close", "boring")
    with pytest.raises(Conflict):
        await closing.vote(voter, q.id, "reopen")


async def test_duplicate_points_to_the_original(database, users, client):
    asker = await users("asker")
    mod = await users("mod", 1, "moderator")
    original = await ask(asker, "How do I set up voicemail on my phone")
    dupe = await ask(asker, "Setting up voicemail does not work for me")
    with pytest.raises(Invalid) as err:
        await closing.vote(mod, dupe.id, "close", "duplicate")
    assert err.value.field == "duplicate_of"
    with pytest.raises(Invalid):
        await closing.vote(mod, dupe.id, "close", "duplicate", dupe.id)
    with pytest.raises(Invalid):
        await closing.vote(mod, dupe.id, "close", "duplicate", 999999)
    outbox_before = await IndexOutbox.filter(question_id=dupe.id).count()
    result = await closing.vote(mod, dupe.id, "close", "duplicate", f"http://test/questions/{original.id}")
    assert result["closed"] == {"reason": "duplicate", "duplicate_of": original.id}
    assert await IndexOutbox.filter(question_id=dupe.id).count() == outbox_before + 1
    data = (await client.get(f"/api/v1/questions/{dupe.id}")).json()
    assert data["closed"] == {"reason": "duplicate", "duplicate_of": original.id}
    page = await client.get(f"/questions/{dupe.id}", follow_redirects=True)
    assert f'href="/questions/{original.id}/how-do-i-set-up-voicemail-on-my-phone">How do I set up voicemail on my phone</a>' in page.text
    assert "Closed as a duplicate" in page.text


async def test_reopen_by_votes_and_by_a_moderator(database, users, client):
    asker = await users("asker")
    mod = await users("mod", 1, "moderator")
    voters = [await users(f"voter{i}", 3500) for i in range(3)]
    q = await ask(asker)
    await closing.vote(mod, q.id, "close", "off_topic")
    for v in voters[:2]:
        result = await closing.vote(v, q.id, "reopen")
    assert result["votes"] == 2 and result["closed"] is not None
    item = await ReviewItem.get(queue="reopen", post_id=q.id, decided_at=None)
    r = await client.post(f"/api/v1/review/{item.id}", headers=await token_for(client, "voter2"), json={"decision": "reopen"})
    assert r.status_code == 200, r.text
    assert r.json()["decided"] is True
    assert (await Post.get(id=q.id)).closed_reason is None
    assert (await questions.answer(asker, q.id, "Now it is open again, answers are welcome.")).id
    await closing.vote(mod, q.id, "close", "needs_details")
    await closing.vote(mod, q.id, "reopen")
    assert (await Post.get(id=q.id)).closed_reason is None


async def test_leave_open_clears_the_votes(database, users):
    asker = await users("asker")
    voter = await users("voter", 3000)
    reviewer = await users("reviewer", 500)
    q = await ask(asker)
    await closing.vote(voter, q.id, "close", "off_topic")
    item = await ReviewItem.get(queue="close", post_id=q.id)
    with pytest.raises(NotAllowed):
        await review.decide(reviewer, item.id, "close")  # a close vote needs the close privilege
    await review.decide(reviewer, item.id, "leave_open")
    assert await CloseVote.filter(question_id=q.id, active_key__not_isnull=True).count() == 0
    await closing.vote(voter, q.id, "close", "off_topic")  # a fresh round: the old vote no longer counts
    assert await CloseVote.filter(question_id=q.id, active_key__not_isnull=True).count() == 1


async def test_three_votes_at_once_close_it_once(database, users):
    asker = await users("asker")
    voters = [await users(f"voter{i}", 3000) for i in range(4)]
    q = await ask(asker)
    results = await asyncio.gather(*[closing.vote(v, q.id, "close", "off_topic") for v in voters[:3]],
                                   return_exceptions=True)
    assert all(isinstance(r, dict) for r in results), results
    assert sorted(r["votes"] for r in results) == [1, 2, 3]
    assert await AuditEntry.filter(action="close", post_id=q.id).count() == 1
    assert (await Post.get(id=q.id)).closed_reason == "off_topic"
    with pytest.raises(Conflict):
        await closing.vote(voters[3], q.id, "close", "off_topic")


async def test_closing_resolves_the_support_ticket_when_support_offers_it(database, users, monkeypatch):
    calls = []

    async def on_question_closed(question_id, reason, conn):
        calls.append((question_id, reason, conn is not None))

    fake = types.ModuleType("community.support.tickets")
    fake.on_question_closed = on_question_closed
    monkeypatch.setitem(sys.modules, "community.support.tickets", fake)
    asker = await users("asker")
    mod = await users("mod", 1, "moderator")
    q = await ask(asker)
    await closing.vote(mod, q.id, "close", "off_topic")
    assert calls == [(q.id, "off_topic", True)]
