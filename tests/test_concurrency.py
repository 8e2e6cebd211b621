"""Votes and accepts racing each other leave exact scores, exact reputation and one accepted answer.

Meaningful on PostgreSQL, where each service call runs its transaction on its own pooled
connection; on SQLite the same calls serialise and the same results must hold.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from community import acceptance, clock, db, reputation, settings, voting
from community.models import Post, ReputationEvent, User, Vote
from community.questions import refresh_state
from tests.conftest import PG_URL


async def _member(name: str) -> User:
    return await User.create(username=name, email=f"{name}@example.com", created_at=clock.now())


async def _question_with_answers(asker: User, authors: list[User]) -> tuple[Post, list[Post]]:
    now = clock.now()
    q = await Post.create(kind="question", author_id=asker.id, title="Roaming stopped working in Spain",
                          body="body", body_html="<p>body</p>", created_at=now, last_activity_at=now)
    answers = [await Post.create(kind="answer", question_id=q.id, author_id=a.id, body="Turn on data roaming.",
                                 body_html="<p>Turn on data roaming.</p>", created_at=now, last_activity_at=now)
               for a in authors]
    await refresh_state(q.id, None)
    return q, answers


async def _assert_ledger_consistent(*members: User) -> None:
    for m in members:
        row = await User.get(id=m.id)
        total = sum(e.amount for e in await ReputationEvent.filter(user_id=m.id))
        assert row.reputation == max(1, 1 + total), m.username


@pytest.fixture
def overlap(monkeypatch) -> dict[str, int]:
    """Records how many service transactions were open at once (more than one only on PostgreSQL)."""
    seen = {"open": 0, "most": 0}
    real = db.transaction

    @contextlib.asynccontextmanager
    async def counted():
        async with real() as conn:
            seen["open"] += 1
            seen["most"] = max(seen["most"], seen["open"])
            try:
                yield conn
            finally:
                seen["open"] -= 1

    monkeypatch.setattr(db, "transaction", counted)
    return seen


async def test_twenty_simultaneous_upvotes_reach_the_cap_exactly_and_a_21st_adds_nothing(database, overlap):
    settings.override("priv.upvote", 1)  # voters start at 1: no earlier ledger rows to account for
    asker, author = await _member("asker"), await _member("author")
    q, (answer,) = await _question_with_answers(asker, [author])
    voters = [await _member(f"voter{i:02d}") for i in range(21)]

    scores = await asyncio.gather(*(voting.vote(v, answer.id, 1) for v in voters[:20]))
    if PG_URL:
        assert overlap["most"] > 1  # the transactions really ran side by side
    assert sorted(scores) == list(range(1, 21))  # each vote saw the one before it: no lost update
    assert (await Post.get(id=answer.id)).score == 20
    assert await Vote.filter(post_id=answer.id).count() == 20
    assert (await User.get(id=author.id)).reputation == 1 + 20 * 10 == 1 + settings.get("rep.daily_vote_cap")
    assert sorted({e.amount for e in await ReputationEvent.filter(user_id=author.id)}) == [10]

    assert await voting.vote(voters[20], answer.id, 1) == 21
    assert (await User.get(id=author.id)).reputation == 201  # the cap holds: the 21st gives 0
    assert await reputation.gained_today(author.id, clock.now().date(), None) == 200
    await _assert_ledger_consistent(author, *voters)


async def test_simultaneous_votes_retractions_and_changes_leave_score_and_reputation_exact(database):
    settings.override("priv.upvote", 1)
    settings.override("priv.downvote", 1)
    asker, author = await _member("asker"), await _member("author")
    q, (answer,) = await _question_with_answers(asker, [author])
    voters = [await _member(f"voter{i:02d}") for i in range(12)]
    await asyncio.gather(*(voting.vote(v, answer.id, 1) for v in voters))
    # Now at once: four retract, four change to down, four vote up again (no change).
    await asyncio.gather(*(voting.vote(v, answer.id, value)
                           for v, value in zip(voters, [0] * 4 + [-1] * 4 + [1] * 4, strict=True)))
    assert (await Post.get(id=answer.id)).score == 4 * 1 + 4 * -1
    assert (await User.get(id=author.id)).reputation == 1 + 4 * 10 + 4 * -2
    for v in voters[4:8]:
        assert (await User.get(id=v.id)).reputation == 1  # -1 for downvoting an answer, floored at 1
    await _assert_ledger_consistent(author, *voters)


async def test_same_member_voting_twice_at_once_counts_once(database):
    settings.override("priv.upvote", 1)
    asker, author, voter = await _member("asker"), await _member("author"), await _member("voter")
    q, (answer,) = await _question_with_answers(asker, [author])
    await asyncio.gather(*(voting.vote(voter, answer.id, 1) for _ in range(5)))
    assert (await Post.get(id=answer.id)).score == 1
    assert await Vote.filter(post_id=answer.id).count() == 1
    assert (await User.get(id=author.id)).reputation == 11
    await _assert_ledger_consistent(author, voter)


async def test_two_accepts_racing_leave_exactly_one_accepted_answer(database):
    asker = await _member("asker")
    helpers = [await _member(f"helper{i}") for i in range(2)]
    q, answers = await _question_with_answers(asker, helpers)

    results = await asyncio.gather(*(acceptance.accept(asker, q.id, a.id) for a in answers), return_exceptions=True)
    assert not [r for r in results if isinstance(r, BaseException)], results
    q = await Post.get(id=q.id)
    assert q.accepted_answer_id in {a.id for a in answers}
    assert q.state == "solved"
    winner = next(h for h, a in zip(helpers, answers, strict=True) if a.id == q.accepted_answer_id)
    loser = next(h for h in helpers if h.id != winner.id)
    assert (await User.get(id=winner.id)).reputation == 1 + 15
    assert (await User.get(id=loser.id)).reputation == 1
    assert (await User.get(id=asker.id)).reputation == 1 + 2  # +2 once, not twice
    await _assert_ledger_consistent(asker, *helpers)


async def test_accept_and_unaccept_racing_many_times_keep_the_ledger_consistent(database):
    asker = await _member("asker")
    helpers = [await _member(f"helper{i}") for i in range(3)]
    q, answers = await _question_with_answers(asker, helpers)
    calls = [acceptance.accept(asker, q.id, answers[i % 3].id) for i in range(9)] + [acceptance.unaccept(asker, q.id)]
    await asyncio.gather(*calls)
    q = await Post.get(id=q.id)
    accepted = [h for h, a in zip(helpers, answers, strict=True) if a.id == q.accepted_answer_id]
    for h in helpers:
        assert (await User.get(id=h.id)).reputation == (16 if h in accepted else 1)
    assert (await User.get(id=asker.id)).reputation == (3 if accepted else 1)
    assert q.state == ("solved" if accepted else "answered")
    await _assert_ledger_consistent(asker, *helpers)


async def test_votes_on_the_question_racing_its_accepts_do_not_deadlock(database):
    """Accepting locks the question then its people; a vote on the question locks the people then
    updates the question. Both must take their locks in one order, or PostgreSQL reports a deadlock."""
    settings.override("priv.upvote", 1)
    helpers = [await _member(f"helper{i}") for i in range(2)]
    asker = await _member("asker")  # a higher id than the helpers: the order locks are taken in matters
    voters = [await _member(f"voter{i:02d}") for i in range(8)]
    q, answers = await _question_with_answers(asker, helpers)
    calls = []
    for i, v in enumerate(voters):
        calls.append(voting.vote(v, q.id, 1))
        calls.append(acceptance.accept(asker, q.id, answers[i % 2].id) if i % 3 else acceptance.unaccept(asker, q.id))
        # The asker votes on the answers while switching which one is accepted.
        calls.append(voting.vote(asker, answers[i % 2].id, (1, 0)[i // 2 % 2]))
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert (await Post.get(id=q.id)).score == 8
    await _assert_ledger_consistent(asker, *helpers, *voters)
