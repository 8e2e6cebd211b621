"""The sweeper: one ticket per due question even when sweepers race; closed, deleted, hidden,
solved and exempt questions never escalate; the asker is told."""

from __future__ import annotations

import asyncio

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from community import acceptance, clock, db, questions
from community.models import Notification, Post
from community.support import backlog, nudge, policy, sweeper
from community.support.models import Ticket, TicketEvent


async def _ask(user, n: int, tags: str = "esim") -> Post:
    return await questions.ask(user, f"Question number {n} about my phone line", "Nothing works since the update yesterday.", tags)


async def test_two_sweepers_racing_make_one_ticket_per_question(database, users, fake_clock):
    asker = await users("asker", 50)
    qs = [await _ask(asker, n) for n in range(12)]
    fake_clock.advance(minutes=61)
    results = await asyncio.gather(sweeper.sweep(), sweeper.sweep(), sweeper.sweep())
    made = [tid for r in results for tid in r.created]
    assert len(made) == 12 and len(set(made)) == 12
    assert sorted(t.question_id for t in await Ticket.all()) == sorted(q.id for q in qs)
    assert await TicketEvent.filter(action="escalated").count() == 12
    assert await Notification.filter(user_id=asker.id, kind="escalated").count() == 12


async def test_a_sweeper_that_read_stale_candidates_adds_nothing(database, users, fake_clock):
    """Interleaving forced by hand: B reads, A sweeps and commits, then B inserts."""
    asker = await users("asker", 50)
    for n in range(3):
        await _ask(asker, n)
    fake_clock.advance(minutes=61)
    pol, now = policy.current(), fake_clock.now()
    stale = await sweeper.find_due(pol, now)
    assert len(stale) == 3
    first = await sweeper.sweep()
    assert len(first.created) == 3
    assert await sweeper.escalate_due(stale, pol, now) == []
    assert await Ticket.all().count() == 3
    assert await TicketEvent.all().count() == 3


async def test_closed_deleted_hidden_solved_and_exempt_questions_never_escalate(database, users, fake_clock):
    asker = await users("asker", 50)
    closed, deleted, hidden, solved, exempt, due = [await _ask(asker, n) for n in range(6)]
    await Post.filter(id=closed.id).update(closed_reason="off_topic", closed_at=fake_clock.now())
    await Post.filter(id=deleted.id).update(deleted_at=fake_clock.now())
    await Post.filter(id=hidden.id).update(hidden=True)
    own = await questions.answer(asker, solved.id, "Answering myself: resetting network settings fixed it.")
    await acceptance.accept(asker, solved.id, own.id)
    if "escalation_exempt" in Post._meta.fields_map:
        await Post.filter(id=exempt.id).update(escalation_exempt=True)
    else:
        await Post.filter(id=exempt.id).update(closed_reason="duplicate")
    fake_clock.advance(hours=3)
    result = await sweeper.sweep()
    assert [t.question_id for t in await Ticket.filter(id__in=result.created)] == [due.id]


async def test_a_question_answered_between_find_and_insert_is_dropped(database, users, fake_clock):
    asker, helper = await users("asker", 50), await users("helper", 50)
    q = await _ask(asker, 1)
    fake_clock.advance(minutes=61)
    pol, now = policy.current(), fake_clock.now()
    found = await sweeper.find_due(pol, now)
    await questions.answer(helper, q.id, "Reinstall the carrier profile from settings.")
    assert await sweeper.escalate_due(found, pol, now) == []


async def test_an_answer_still_being_written_when_the_sweep_starts_wins(database, users, fake_clock):
    """The answer's transaction is open when the sweep writes: the sweep waits for it (the row
    lock on PostgreSQL, the write lock on SQLite), then sees the answer and makes no ticket."""
    asker = await users("asker", 50)
    q = await _ask(asker, 1)
    fake_clock.advance(minutes=61)
    pol, now = policy.current(), fake_clock.now()
    found = await sweeper.find_due(pol, now)
    assert [d.question_id for d in found] == [q.id]
    written, release = asyncio.Event(), asyncio.Event()

    async def answer() -> None:  # its own task, so the sweep below is not inside this transaction
        async with db.transaction() as conn:
            await Post.filter(id=q.id).using_db(conn).update(first_answer_at=now, state="answered", answer_count=1)
            written.set()
            await release.wait()

    answering = asyncio.ensure_future(answer())
    await written.wait()
    sweep = asyncio.ensure_future(sweeper.escalate_due(found, pol, now))
    if db.dialect() == "postgres":
        for _ in range(500):  # until the sweep's statement waits on the question's row lock
            waiting = await db.fetch("SELECT COUNT(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            if waiting[0]["n"]:
                break
            await asyncio.sleep(0.01)
        else:
            pytest.fail("the sweep never waited for the answer's transaction")
    else:
        await asyncio.sleep(0.2)  # the sweep's write transaction waits for the answer's
    assert not sweep.done(), "the sweep wrote past an uncommitted answer"
    release.set()
    await answering
    assert await sweep == []
    assert await Ticket.filter(question_id=q.id).count() == 0


async def _candidate_reads(monkeypatch) -> list[tuple[str, list]]:
    """The statements with which the sweeper and the nudge read their candidates, as they run them."""
    seen: list[tuple[str, list]] = []
    real = db.fetch

    async def fetch(query, values=None, conn=None):
        seen.append((query, list(values or [])))
        return await real(query, values, conn)

    monkeypatch.setattr(db, "fetch", fetch)
    now = clock.now()
    await sweeper.find_due(policy.current(), now)
    await nudge.find_due(policy.current(), nudge.rules(), now)
    monkeypatch.setattr(db, "fetch", real)
    assert len(seen) == 2, seen
    return seen


async def _plan(sql: str, values: list) -> str:
    """SQLite's query plan; PostgreSQL's generic plan (what a cached prepared statement runs), with
    sequential scans priced out so that an empty table shows which index the statement can use."""
    if db.dialect() == "sqlite":
        return " ".join(r["detail"] for r in await db.fetch("EXPLAIN QUERY PLAN " + sql, values))
    async with in_transaction() as conn:
        await db.execute("SET LOCAL enable_seqscan = off", [], conn)
        await db.execute("SET LOCAL plan_cache_mode = force_generic_plan", [], conn)
        await db.execute("PREPARE candidates AS " + sql, [], conn)
        try:
            args = ", ".join("'" + v.isoformat() + "'" for v in values)
            rows = await conn.execute_query_dict(f"EXPLAIN EXECUTE candidates({args})")
        finally:
            await db.execute("DEALLOCATE candidates", [], conn)
    return " ".join(r["QUERY PLAN"] for r in rows)


async def test_sweep_and_nudge_read_only_the_open_backlog_through_its_partial_index(database, monkeypatch):
    """Issue 17: the candidates come from the partial index of open, covered, unanswered questions
    (migration 0015), also in a generic plan, so that imported history is never read."""
    reads = await _candidate_reads(monkeypatch)
    for sql, values in reads:
        assert backlog.OPEN in sql
        detail = await _plan(sql, values)
        assert backlog.INDEX in detail, f"{sql}\n{detail}"
        assert "SCAN p " not in detail + " " and "Seq Scan" not in detail, detail


async def test_the_sweep_writes_in_batches_and_misses_nothing(database, users, fake_clock, monkeypatch):
    monkeypatch.setattr(sweeper, "BATCH", 2)
    asker = await users("asker", 50)
    qs = [await _ask(asker, n) for n in range(7)]
    fake_clock.advance(minutes=61)
    result = await sweeper.sweep()
    assert result.candidates == 7 and len(result.created) == 7
    assert sorted(t.question_id for t in await Ticket.all()) == sorted(q.id for q in qs)


async def test_requests_keep_reading_while_a_sweep_holds_its_write_transaction(database, users, fake_clock):
    """On SQLite the sweeper has a connection of its own: a request's read is not queued behind
    the sweep's open write transaction (WAL readers never wait for the writer)."""
    if not database.startswith("sqlite"):
        pytest.skip("SQLite only: PostgreSQL gives each request its own pooled connection anyway")
    asker = await users("asker", 50)
    question = await _ask(asker, 1)
    assert db.background() is not connections.get("default")
    async with db.background_transaction() as conn:
        await db.execute("UPDATE post SET view_count = view_count + 1 WHERE id = ?", [question.id], conn)
        # The default connection still reads (the committed value) while the write is open.
        rows = await asyncio.wait_for(db.fetch("SELECT view_count FROM post WHERE id = ?", [question.id]), 5)
        assert rows[0]["view_count"] == 0
    rows = await db.fetch("SELECT view_count FROM post WHERE id = ?", [question.id])
    assert rows[0]["view_count"] == 1
