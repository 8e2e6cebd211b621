"""Benchmark of issue 4: one escalation sweep over 1,000,000 questions with 1% of them due.

Seeds a fresh database with set-based SQL: 1,000,000 questions over the past year, of which
- 1% (10,000) are due: no answer from anyone but the asker, older than the SLA, no ticket;
- 1% are unanswered but already have a (resolved) ticket: the steady state of a real forum;
- the newest 200 are unanswered but still inside their SLA;
- the rest were answered (a third of them solved).
Then, per round: one sweep that escalates the 10,000 alone (timed: database time, the time spent
awaiting statements, and wall time); the same sweep again while GET /api/v1/questions/{id} runs
back to back through the app in the same process (same event loop, same database connections),
with the requests' latency before and during it (its database time then includes turns the loop
gave to requests); and the next sweep, which finds nothing (the steady-state cost every
ESCALATION_SWEEP_SECONDS). The created tickets are deleted before each sweep that escalates.

    .venv/bin/python bench/sweep_bench.py --database sqlite
    PG_TEST_PORT=55435 bash tests/with_postgres.sh .venv/bin/python bench/sweep_bench.py --database postgres

Results and the machine they were measured on: docs/benchmarks.md, "Escalation sweep (issue 4)".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from community import clock, db  # noqa: E402
from community.config import Config  # noqa: E402

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
TAGS = ("esim", "billing", "roaming", "data", "signal")


def _seed_sql(dialect: str, n: int) -> list[str]:
    """Statements that seed `n` questions; i is 0..n-1, oldest first, ending two hours before NOW."""
    span = 365 * 86400
    step = span / n
    end = NOW.timestamp() - 7200
    recent = n - 200
    if dialect == "postgres":
        series = f"generate_series(0, {n - 1}) AS g(i)"
        ts = lambda secs: f"to_timestamp({secs})"  # noqa: E731
        false, true = "false", "true"
    else:
        series = f"(WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i < {n - 1}) SELECT i FROM g) AS g"
        ts = lambda secs: f"(strftime('%Y-%m-%d %H:%M:%S', {secs}, 'unixepoch') || '+00:00')"  # noqa: E731
        false, true = "0", "1"
    created_secs = (f"(CASE WHEN i >= {recent} THEN {int(NOW.timestamp()) - 600} + (i - {recent}) * 3 "
                    f"ELSE CAST({end - span} + i * {step} AS INTEGER) END)")
    unanswered = f"(i >= {recent} OR i % 100 IN (7, 13))"
    tag_case = "CASE i % 5 " + " ".join(f"WHEN {k} THEN '{t}'" for k, t in enumerate(TAGS)) + " END"
    del true
    return [
        f"""INSERT INTO post (kind, title, body, body_html, score, created_at, last_activity_at, official, tag_names,
                state, answer_count, first_answer_at, view_count, locked, hidden, escalation_exempt, author_id)
            SELECT 'question', 'Question ' || i, 'body', '<p>body</p>', 0, {ts(created_secs)}, {ts(created_secs)}, {false},
                {tag_case},
                CASE WHEN {unanswered} THEN 'unanswered' WHEN i % 3 = 0 THEN 'solved' ELSE 'answered' END,
                CASE WHEN {unanswered} THEN 0 ELSE 1 END,
                CASE WHEN {unanswered} THEN NULL ELSE {ts(created_secs + ' + 600')} END,
                0, {false}, {false}, {false}, 1
            FROM {series}""",
    ]


async def seed(n: int) -> None:
    dialect = db.dialect()
    await db.execute("INSERT INTO \"user\" (id, username, email, role, reputation, about, created_at, suspension_reason) "
                     "VALUES (1, 'asker', 'asker@example.com', 'member', 1, '', ?, '')", [NOW - timedelta(days=400)])
    for sql in _seed_sql(dialect, n):
        await db.execute(sql)
    # The old leftovers (i % 100 == 13) already have a resolved ticket.
    when = NOW - timedelta(days=1)
    await db.execute(
        "INSERT INTO support_ticket (question_id, state, source, reason, escalated_at, sla_breached_at, due_at, "
        "claim_due_at, reply_due_at, resolution, resolved_at, updated_at) "
        "SELECT id, 'resolved', 'sla', '', ?, ?, ?, ?, ?, 'no_response', ?, ? FROM post "
        "WHERE kind = 'question' AND state = 'unanswered' AND CAST(substr(title, 10) AS INTEGER) % 100 = 13",
        [when] * 7)
    if dialect == "postgres":
        await db.execute("ANALYZE")  # what autovacuum would have done by now
    # On SQLite no ANALYZE: with no answer rows seeded, its statistics would claim every post shares
    # one question_id and steer the thread page's answers query off its index, which says nothing
    # about a real forum.


async def reset_round() -> None:
    """Forget the tickets the last sweep made, so the next round has the same 10,000 due."""
    for sql in ("DELETE FROM support_ticket_event",
                "DELETE FROM notification",
                "DELETE FROM support_ticket WHERE state <> 'resolved'"):
        await db.execute(sql)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


async def latencies(client, ids: list[int], until=None, count: int = 200) -> list[float]:
    out: list[float] = []
    k = 0
    while (until is None and len(out) < count) or (until is not None and not until.done()):
        started = time.perf_counter()
        r = await client.get(f"/api/v1/questions/{ids[k % len(ids)]}")
        out.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200, r.text
        k += 1
    return out


async def timed_sweep(result) -> float:
    """One sweep at NOW, its figures added to `result`; returns its wall time in seconds."""
    from community.support import sweeper

    started = time.perf_counter()
    pol = sweeper.policy.current()
    await sweeper.escalate_due(await sweeper.find_due(pol, NOW, result), pol, NOW, result)
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--questions", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sqlite-path", default="", help="reuse (or create) this SQLite file instead of a fresh one")
    args = parser.parse_args()

    if args.database == "postgres":
        url = os.environ.get("TEST_DATABASE_URL") or sys.exit("set TEST_DATABASE_URL (run under tests/with_postgres.sh)")
        import asyncpg

        conn = await asyncpg.connect(db.normalise_url(url).replace("postgres://", "postgresql://", 1))
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        await conn.close()
    else:
        url = f"sqlite://{args.sqlite_path or tempfile.mkdtemp(prefix='sweep-bench-') + '/bench.sqlite3'}"
    await db.migrate(url)
    await db.init(url)
    reuse = bool((await db.fetch("SELECT COUNT(*) AS n FROM post"))[0]["n"])
    clock.use(clock.FakeClock(NOW))
    from community import questions, settings
    from community.support import sweeper

    await settings.load()
    await questions.ensure_generation_row()
    started = time.perf_counter()
    if not reuse:
        await seed(args.questions)
    seeded = time.perf_counter() - started
    total = (await db.fetch("SELECT COUNT(*) AS n FROM post WHERE kind = 'question'"))[0]["n"]
    print(f"{args.database}: seeded {total:,} questions in {seeded:.1f}s")

    import httpx

    from community.app import create_app

    app = create_app(Config(database_url=url, secret_key="bench", page_cache=False, run_sweeper=False, run_indexer=False,
                            demo_data=False), manage_db=False, background=False)
    ids = [r["id"] for r in await db.fetch("SELECT id FROM post WHERE kind = 'question' ORDER BY id DESC LIMIT 50")]
    rows = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        await latencies(client, ids, count=50)  # warm up
        for n in range(args.rounds):
            # The sweep alone first: its database time without requests taking turns on the loop.
            await reset_round()
            alone = sweeper.SweepResult()
            alone_wall = await timed_sweep(alone)
            # Then the same sweep again while requests run back to back in the same process.
            await reset_round()
            baseline = await latencies(client, ids)
            result = sweeper.SweepResult()
            task = asyncio.ensure_future(timed_sweep(result))
            during = await latencies(client, ids, until=task)
            wall = await task
            idle = await sweeper.sweep(NOW)
            rows.append({
                "due": alone.due, "created": len(alone.created), "alone_db_ms": alone.db_seconds * 1000,
                "alone_wall_ms": alone_wall * 1000, "db_ms": result.db_seconds * 1000, "wall_ms": wall * 1000,
                "idle_db_ms": idle.db_seconds * 1000, "idle_candidates": idle.candidates,
                "base_p50": statistics.median(baseline), "base_p95": pct(baseline, 0.95),
                "during_p50": statistics.median(during), "during_p95": pct(during, 0.95), "during_max": max(during),
                "during_n": len(during),
            })
            r = rows[-1]
            print(f"round {n + 1}: escalated {r['created']:,} of {r['due']:,} due; sweep alone: DB {r['alone_db_ms']:.0f} ms, "
                  f"wall {r['alone_wall_ms']:.0f} ms; beside requests: DB {r['db_ms']:.0f} ms, wall {r['wall_ms']:.0f} ms; "
                  f"idle sweep DB {r['idle_db_ms']:.1f} ms ({r['idle_candidates']} candidates); "
                  f"request p50/p95 {r['base_p50']:.1f}/{r['base_p95']:.1f} ms before, "
                  f"{r['during_p50']:.1f}/{r['during_p95']:.1f} ms (max {r['during_max']:.1f}, n={r['during_n']}) during")
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    print(f"\nmedian of {len(rows)} rounds on {args.database} ({platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}):")
    print(f"| {args.database} | {total:,} | {int(med['due']):,} | {med['alone_db_ms']:.0f} ms | {med['alone_wall_ms']:.0f} ms | "
          f"{med['db_ms']:.0f} ms | "
          f"{med['idle_db_ms']:.1f} ms | {med['base_p50']:.1f} / {med['base_p95']:.1f} ms | "
          f"{med['during_p50']:.1f} / {med['during_p95']:.1f} ms |")
    await db.close()


if __name__ == "__main__":
    asyncio.run(main())
