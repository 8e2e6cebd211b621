"""Writes take their row locks in one order and run again when PostgreSQL still aborts them.

The lock tests hold locks from a second, raw PostgreSQL connection the way another transaction
would, and watch `pg_locks` for the service waiting. The last test runs on SQLite too.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
from collections.abc import Awaitable
from datetime import datetime, timezone

import asyncpg
import httpx
import pytest

from community import acceptance, accounts, clock, db, questions, reputation, settings, voting
from community.errors import Busy
from community.models import Post, ReputationEvent, User, Vote
from tests.conftest import PG_URL, login, token_for
from tests.test_insights_facts import _assert_rollups_match_facts

postgres_only = pytest.mark.skipif(not PG_URL, reason="row locks and deadlocks are PostgreSQL's: set TEST_DATABASE_URL "
                                                      "(tests/with_postgres.sh does); SQLite has one writer at a time")
BODY = "Since the update my phone shows no service at all in Spain."


@functools.cache
def _password_hash() -> str:
    return accounts.hash_password("password123")


async def _member(name: str) -> User:
    return await User.create(username=name, email=f"{name}@example.com", password_hash=_password_hash(),
                             created_at=clock.now())


async def _other_connection() -> asyncpg.Connection:
    """A connection of its own, outside the app's pool: another transaction running beside the service."""
    return await asyncpg.connect(db.normalise_url(PG_URL).replace("postgres://", "postgresql://", 1))


async def _waits(x: asyncpg.Connection) -> list[str]:
    """Locks some other session is waiting for (the service's, since nothing else runs)."""
    rows = await x.fetch("SELECT locktype, mode FROM pg_locks WHERE NOT granted AND pid <> pg_backend_pid()")
    return [f"{r['mode']} on a {r['locktype']}" for r in rows]


async def _finishes_beside(x: asyncpg.Connection, call: Awaitable) -> None:
    """Run a service call while `x` keeps its transaction open; fail if the call waits for `x`."""
    task = asyncio.ensure_future(call)
    while not task.done():
        waits = await _waits(x)
        if waits:
            await x.execute("ROLLBACK")  # let it finish, then fail
            with contextlib.suppress(Exception):
                await task
            pytest.fail(f"the write waited for the other transaction: {waits}")
        await asyncio.sleep(0.02)
    await task


async def _until_waiting(x: asyncpg.Connection, task: asyncio.Future) -> None:
    while not await _waits(x):
        assert not task.done(), task.result()
        await asyncio.sleep(0.02)


@pytest.fixture
def transactions(monkeypatch) -> list[int]:
    """Counts the service transactions begun (a run again shows as one more)."""
    begun: list[int] = []
    real = db.transaction

    def counted():
        begun.append(1)
        return real()

    monkeypatch.setattr(db, "transaction", counted)
    return begun


@postgres_only
async def test_writes_do_not_wait_for_rows_being_inserted_that_refer_to_their_post_and_members(database):
    """Inserting an answer, a vote, a notification or a ledger event takes a KEY SHARE lock on the post
    and the members it refers to. The writes lock those rows FOR NO KEY UPDATE, which lets such
    inserts through; with FOR UPDATE an accept waited for an answer being inserted by a member it
    locks, while that answer waited for the accept's question: the deadlock of issue 12."""
    settings.override("priv.upvote", 1)
    asker, helper, voter = await _member("asker"), await _member("helper"), await _member("voter")
    q = await questions.ask(asker, "Roaming stopped working in Spain", BODY, "roaming")
    a = await questions.answer(helper, q.id, "Turn data roaming on, then restart the phone.")
    x = await _other_connection()
    try:
        await x.execute("BEGIN")
        await x.execute("SELECT 1 FROM post WHERE id = ANY($1::int[]) FOR KEY SHARE", [q.id, a.id])
        await x.execute('SELECT 1 FROM "user" WHERE id = ANY($1::int[]) FOR KEY SHARE', [asker.id, helper.id, voter.id])
        await _finishes_beside(x, acceptance.accept(asker, q.id, a.id))
        await _finishes_beside(x, voting.vote(voter, q.id, 1))
        await _finishes_beside(x, voting.vote(voter, a.id, 1))
        await _finishes_beside(x, questions.answer(voter, q.id, "Check that the APN is set to the right one."))
        await _finishes_beside(x, acceptance.unaccept(asker, q.id))
        await x.execute("COMMIT")
    finally:
        await x.close()
    q = await Post.get(id=q.id)
    assert (q.score, q.answer_count, q.accepted_answer_id, q.state) == (1, 2, None, "answered")
    assert (await User.get(id=helper.id)).reputation == 11


@postgres_only
async def test_accepts_on_questions_of_different_days_share_no_roll_up_row_they_do_not_change(database, fake_clock):
    """Both questions were first answered a minute after being asked, in the same month: their
    first-answer bucket's row for the month is shared, and accepting changes neither's first answer.
    The roll-up triggers skip rows whose change adds up to zero (and take the others in key order),
    so the two accepts do not queue on it, and cannot lock it in opposite orders with another row."""
    asker1, asker2 = await _member("asker1"), await _member("asker2")
    helpers = [await _member(f"helper{i}") for i in range(3)]
    fake_clock.set(datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc))
    q1 = await questions.ask(asker1, "Roaming stopped working in Spain", BODY, "roaming")
    fake_clock.advance(minutes=1)
    a1 = await questions.answer(helpers[0], q1.id, "Turn data roaming on, then restart the phone.")
    fake_clock.set(datetime(2026, 3, 12, 9, 0, tzinfo=timezone.utc))
    q2 = await questions.ask(asker2, "Roaming stopped working in France", BODY, "roaming")
    fake_clock.advance(minutes=1)
    await questions.answer(helpers[1], q2.id, "Turn data roaming on, then restart the phone.")
    fake_clock.advance(hours=3)
    a2 = await questions.answer(helpers[2], q2.id, "Your plan has no roaming: add the travel pass.")
    x = await _other_connection()
    try:
        await x.execute("BEGIN")
        await x.execute("UPDATE post SET accepted_answer_id = $1 WHERE id = $2", a1.id, q1.id)  # an accept, still open
        await _finishes_beside(x, acceptance.accept(asker2, q2.id, a2.id))
        await x.execute("COMMIT")
    finally:
        await x.close()
    await _assert_rollups_match_facts()


@postgres_only
async def test_a_vote_that_deadlocks_runs_again_whole_and_counts_once(database, transactions):
    """Another transaction holds the voter's row and then wants the question the vote has locked:
    PostgreSQL aborts the vote's transaction (a real 40P01). The vote runs again and counts once."""
    settings.override("priv.upvote", 1)
    asker, voter = await _member("asker"), await _member("voter")
    q = await questions.ask(asker, "Roaming stopped working in Spain", BODY, "roaming")
    transactions.clear()
    x = await _other_connection()
    try:
        await x.execute("SET deadlock_timeout = '60s'")  # the vote's side looks for deadlocks first, so it is aborted
        await x.execute("BEGIN")
        await x.execute('SELECT 1 FROM "user" WHERE id = $1 FOR NO KEY UPDATE', voter.id)
        vote = asyncio.ensure_future(voting.vote(voter, q.id, 1))
        await _until_waiting(x, vote)  # the vote holds the question and waits for the voter
        await x.execute("SELECT 1 FROM post WHERE id = $1 FOR NO KEY UPDATE", q.id)  # the circle: waits for the vote
        await x.execute("COMMIT")
        assert await vote == 1
    finally:
        await x.close()
    assert len(transactions) == 2  # the first run was rolled back by the deadlock; the second committed
    assert (await Post.get(id=q.id)).score == 1
    assert await Vote.filter(post_id=q.id).count() == 1
    assert [e.amount for e in await ReputationEvent.filter(user_id=asker.id)] == [10]
    assert (await User.get(id=asker.id)).reputation == 11


async def test_a_write_that_keeps_deadlocking_answers_503_try_again_and_writes_nothing(app, client, database, monkeypatch):
    """Each run fails with a deadlock (raised by PostgreSQL itself there, inside the transaction):
    after RETRY_ATTEMPTS runs the API answers 503 with a JSON error, the page 503 with a message;
    a write that does not run again by itself gets the same 503 from the error handler."""
    settings.override("priv.upvote", 1)
    monkeypatch.setattr(db, "RETRY_PAUSE", 0.001)
    asker, voter = await _member("asker"), await _member("voter")
    q = await questions.ask(asker, "Roaming stopped working in Spain", BODY, "roaming")
    runs: list[int] = []
    real = reputation.lock_users

    async def deadlocked(user_ids: list[int], conn) -> None:
        runs.append(1)
        await real(user_ids, conn)
        if PG_URL:
            await db.execute("DO $$ BEGIN RAISE EXCEPTION 'deadlock detected' USING ERRCODE = 'deadlock_detected'; END $$",
                             [], conn)
        raise asyncpg.exceptions.DeadlockDetectedError("deadlock detected")  # what the driver raises on PostgreSQL

    monkeypatch.setattr(reputation, "lock_users", deadlocked)
    r = await client.post(f"/api/v1/posts/{q.id}/vote", json={"value": 1}, headers=await token_for(client, "voter"))
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "busy"
    assert "try again" in r.json()["error"]["message"].lower()
    assert r.headers["retry-after"] == "1"
    assert len(runs) == db.RETRY_ATTEMPTS

    csrf = await login(client, "voter")
    r = await client.post(f"/posts/{q.id}/vote", data={"value": "1", "csrf_token": csrf})
    assert r.status_code == 503
    assert "text/html" in r.headers["content-type"]
    assert re.search(r"(?i)please try again", r.text)
    assert len(runs) == 2 * db.RETRY_ATTEMPTS

    monkeypatch.setattr(voting, "_vote_once", voting._vote_once.__wrapped__)  # as if it were not db.retried
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # the error handler answers; no exception here
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as bare:
        r = await bare.post(f"/api/v1/posts/{q.id}/vote", json={"value": 1}, headers=await token_for(bare, "voter"))
    assert (r.status_code, r.json()["error"]["code"], r.headers["retry-after"]) == (503, "busy", "1")
    assert len(runs) == 2 * db.RETRY_ATTEMPTS + 1
    assert (await Post.get(id=q.id)).score == 0
    assert await Vote.filter(post_id=q.id).count() == 0
    assert await ReputationEvent.filter(user_id=asker.id).count() == 0


def test_only_deadlocks_and_serialisation_failures_are_run_again() -> None:
    wrapped = RuntimeError("wrapped")
    wrapped.__cause__ = asyncpg.exceptions.SerializationError("could not serialize access")
    assert db.must_retry(asyncpg.exceptions.DeadlockDetectedError("deadlock detected"))
    assert db.must_retry(wrapped)
    assert not db.must_retry(asyncpg.exceptions.UniqueViolationError("duplicate key"))
    assert not db.must_retry(ValueError("no"))


async def test_a_write_inside_a_callers_transaction_is_left_to_that_caller(database, monkeypatch):
    """Running the service again inside an outer transaction would run on an aborted transaction;
    the outer one is what must run again, so `retried` calls through once."""
    monkeypatch.setattr(db, "RETRY_PAUSE", 0.001)
    calls: list[int] = []

    @db.retried
    async def service() -> None:
        calls.append(1)
        raise asyncpg.exceptions.DeadlockDetectedError("deadlock detected")

    with pytest.raises(asyncpg.exceptions.DeadlockDetectedError):
        async with db.transaction():
            await service()
    assert calls == [1]
    with pytest.raises(Busy):
        await service()
    assert len(calls) == 1 + db.RETRY_ATTEMPTS
