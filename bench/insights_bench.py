"""Insights benchmark: the /insights page and the SLA what-if API on 1,000,000 questions.

    .venv/bin/python bench/insights_bench.py                     # SQLite
    PG_TEST_PORT=55437 bash tests/with_postgres.sh .venv/bin/python bench/insights_bench.py   # PostgreSQL

Rows are generated in the database itself (a recursive CTE on SQLite, generate_series on
PostgreSQL): 1,000,000 questions over three years, first answers (most within the hour), 45%
accepted with an accepted-answer row, 10,000 members, one ledger entry per question, tickets for
8% of questions and 200,000 search events. Then the page (HTML, through the app) and the API are
timed over the last four weeks and over the whole three years; the best of five runs is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

END = datetime(2026, 1, 31, tzinfo=timezone.utc)
SPAN_DAYS = 3 * 365


def _series(n: int, postgres: bool) -> str:
    """A derived table `s(i)` holding 1..n."""
    if postgres:
        return f"generate_series(CAST(1 AS BIGINT), {n}) AS s(i)"
    return f"(WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {n}) SELECT i FROM c) AS s"


def _at(offset_seconds_sql: str, postgres: bool) -> str:
    """A timestamp `offset` seconds after the start, stored as the ORM stores it."""
    start = END - timedelta(days=SPAN_DAYS)
    if postgres:
        return f"(TIMESTAMPTZ '{start.isoformat()}' + ({offset_seconds_sql}) * INTERVAL '1 second')"
    return f"strftime('%Y-%m-%d %H:%M:%S+00:00', '{start:%Y-%m-%d %H:%M:%S}', '+' || ({offset_seconds_sql}) || ' seconds')"


async def generate(questions: int) -> None:
    from community import db

    pg = db.dialect() == "postgres"
    true, false = ("TRUE", "FALSE") if pg else ("1", "0")
    members = 10_000
    step = SPAN_DAYS * 86400 // questions  # seconds between questions, about 95
    # Pseudo-random but repeatable per row: (i * prime) % m.
    wait = ("(CASE WHEN (i * 7919) % 100 < 8 THEN NULL "           # 8% never answered
            "WHEN (i * 7919) % 100 < 78 THEN 60 + (i * 104729) % 3300 "  # most within the hour
            "ELSE 3600 + (i * 1299709) % 86400 END)")
    began = time.perf_counter()
    await db.execute(
        'INSERT INTO "user" (id, username, email, password_hash, role, reputation, about, created_at, suspension_reason) '
        f"SELECT i, 'member' || i, '', NULL, 'member', 1, '', {_at('0', pg)}, '' FROM {_series(members, pg)}")
    await db.execute(
        "INSERT INTO post (id, kind, author_id, title, body, body_html, score, created_at, last_activity_at, official, "
        "tag_names, state, answer_count, first_answer_at, view_count, locked, hidden, escalation_exempt) "
        f"SELECT i, 'question', 1 + (i * 31) % {members}, 'Question number ' || i, 'body', 'body', 0, "
        f"{_at(f'i * {step}', pg)}, {_at(f'i * {step}', pg)}, {false}, 'esim', "
        f"CASE WHEN {wait} IS NULL THEN 'unanswered' ELSE 'answered' END, CASE WHEN {wait} IS NULL THEN 0 ELSE 1 END, "
        f"CASE WHEN {wait} IS NULL THEN NULL ELSE {_at(f'i * {step} + {wait}', pg)} END, 0, {false}, {false}, {false} "
        f"FROM {_series(questions, pg)}")
    # 45% of the answered questions have an accepted answer, posted at the first-answer time.
    accepted = f"{wait} IS NOT NULL AND (i * 6007) % 100 < 49"
    await db.execute(
        "INSERT INTO post (id, kind, question_id, author_id, title, body, body_html, score, created_at, last_activity_at, "
        "official, tag_names, state, answer_count, view_count, locked, hidden, escalation_exempt) "
        f"SELECT {questions} + i, 'answer', i, 1 + (i * 17) % {members}, '', 'answer', 'answer', 1, "
        f"{_at(f'i * {step} + {wait}', pg)}, {_at(f'i * {step} + {wait}', pg)}, {false}, '', 'unanswered', 0, 0, "
        f"{false}, {false}, {false} FROM {_series(questions, pg)} WHERE {accepted}")
    await db.execute(f"UPDATE post SET accepted_answer_id = id + {questions}, state = 'solved' WHERE kind = 'question' "
                     f"AND id IN (SELECT question_id FROM post WHERE kind = 'answer')")
    await db.execute(
        "INSERT INTO reputation_event (user_id, amount, reason, ref, post_id, created_at, day) "
        f"SELECT 1 + (i * 17) % {members}, 10, 'upvoted', 'bench:' || i, i, {_at(f'i * {step} + 600', pg)}, "
        f"{'CAST(' + _at(f'i * {step} + 600', pg) + ' AS DATE)' if pg else 'substr(' + _at(f'i * {step} + 600', pg) + ', 1, 10)'} "
        f"FROM {_series(questions, pg)}")
    await db.execute(
        "INSERT INTO support_ticket (question_id, state, source, reason, escalated_at, sla_breached_at, due_at, claimed_at, "
        "claim_due_at, first_reply_at, reply_due_at, updated_at) "
        f"SELECT i, 'resolved', 'sla', '', {_at(f'i * {step} + 3600', pg)}, {_at(f'i * {step} + 3600', pg)}, "
        f"{_at(f'i * {step} + 3600', pg)}, {_at(f'i * {step} + 3600 + (i % 3000)', pg)}, {_at(f'i * {step} + 5400', pg)}, "
        f"{_at(f'i * {step} + 4000 + (i % 5000)', pg)}, {_at(f'i * {step} + 10800', pg)}, {_at(f'i * {step} + 3600', pg)} "
        f"FROM {_series(questions, pg)} WHERE (i * 7919) % 100 < 8")
    await db.execute(
        "INSERT INTO search_deflection_event (kind, created_at, user_id, question_id, search_id, query, result_count, solved, ref) "
        f"SELECT CASE WHEN i % 10 < 6 THEN 'search' WHEN i % 10 < 8 THEN 'suggestions_shown' ELSE 'solved_my_problem' END, "
        f"{_at(f'i * {SPAN_DAYS * 86400 // 200_000}', pg)}, NULL, NULL, NULL, 'q', 3, {true}, '' "
        f"FROM {_series(200_000, pg)}")
    if pg:
        for table in ("user", "post", "reputation_event", "support_ticket", "search_deflection_event"):
            await db.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT MAX(id) FROM \"{table}\"))")
        await db.execute("ANALYZE")
    else:
        await db.execute("ANALYZE")
    print(f"generated {questions:,} questions in {time.perf_counter() - began:.0f} s", flush=True)


async def _best(fn, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - t)
    return min(times)


async def measure(database_url: str) -> None:
    import httpx

    from community import accounts, clock
    from community.app import create_app
    from community.config import Config

    from community import db

    clock.use(clock.FakeClock(END))
    await db.execute("DELETE FROM api_token WHERE user_id IN (SELECT id FROM \"user\" WHERE username = 'bench_admin')")
    await db.execute("DELETE FROM login_failure")
    await db.execute("DELETE FROM \"user\" WHERE username = 'bench_admin'")
    await accounts.sign_up("bench_admin", "bench@example.com", "password123", "admin")
    app = create_app(Config(var_dir=Path("/tmp/insights-bench-var"), database_url=database_url, secret_key="bench",
                            demo_data=False, page_cache=False, run_indexer=False, run_sweeper=False),
                     manage_db=False, background=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        r = await client.post("/api/v1/tokens", json={"username": "bench_admin", "password": "password123"})
        assert r.status_code == 201, r.text
        token = r.json()["token"]
        page = await client.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        await client.post("/login", data={"username": "bench_admin", "password": "password123", "csrf_token": csrf, "next": "/"})
        bearer = {"Authorization": f"Bearer {token}"}
        last = END.date() - timedelta(days=1)
        ranges = {"last 4 weeks": (last - timedelta(days=27), last), "whole 3 years": (last - timedelta(days=SPAN_DAYS - 1), last)}
        for label, (first, end) in ranges.items():
            query = f"from={first}&to={end}"

            async def page_view() -> None:
                r = await client.get(f"/insights?{query}&sla_minutes=60")
                assert r.status_code == 200, r.text[:300]

            async def whatif() -> None:
                r = await client.get(f"/api/v1/insights/sla-whatif?{query}&sla_minutes=60", headers=bearer)
                assert r.status_code == 200, r.text[:300]

            async def whatif_hours() -> None:
                r = await client.get(f"/api/v1/insights/sla-whatif?{query}&sla_minutes=60&business_hours=mon-fri%2009:00-17:00",
                                     headers=bearer)
                assert r.status_code == 200, r.text[:300]

            async def summary() -> None:
                r = await client.get(f"/api/v1/insights/summary?{query}", headers=bearer)
                assert r.status_code == 200, r.text[:300]

            r = await client.get(f"/api/v1/insights/sla-whatif?{query}&sla_minutes=60", headers=bearer)
            asked = r.json()["questions"]
            print(f"{label} ({asked:,} questions): page {await _best(page_view):.3f} s, summary API {await _best(summary):.3f} s, "
                  f"SLA what-if {await _best(whatif):.3f} s, with business hours {await _best(whatif_hours):.3f} s", flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="measure the database of a previous run again (SQLite file, or the PostgreSQL database) after migrating it")
    args = parser.parse_args()
    from community import db, settings
    from community.questions import ensure_generation_row

    url = os.environ.get("TEST_DATABASE_URL")
    path = Path("/tmp/insights-bench.sqlite3")
    fresh = not args.reuse
    if not url:
        url = f"sqlite://{path}"
        fresh = fresh or not path.exists()
        if fresh:
            for p in path.parent.glob(path.name + "*"):
                p.unlink()
    elif fresh:
        import asyncpg

        conn = await asyncpg.connect(db.normalise_url(url).replace("postgres://", "postgresql://", 1))
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        await conn.close()
    started = time.perf_counter()
    await db.migrate(url)  # on a reused database: applies what is new (e.g. backfills the insights facts)
    print(f"migrated in {time.perf_counter() - started:.1f} s", flush=True)
    await db.init(url)
    await settings.load()
    await ensure_generation_row()
    print(f"database: {'PostgreSQL' if url.startswith('postgres') else 'SQLite'}; machine: {platform.machine()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}", flush=True)
    if fresh:
        await generate(args.questions)
    await measure(url)
    await db.close()


if __name__ == "__main__":
    asyncio.run(main())
