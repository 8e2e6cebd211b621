"""No route reads a large table in full: the statements a set of real requests runs, EXPLAINed on a
populated PostgreSQL database (tests/query_plan_data.py), must not plan a sequential scan of any
table with thousands of rows (post, vote, comment, reputation_event, notification, user, ...).

The requests go through the app (page cache off, SEARCH_BACKEND=postgres): thread pages for an
anonymous reader and a member, every question list sort with a deep cursor, a tag page, a user
page, search and similar questions, answer/vote/comment/ask/accept writes, the inbox, the review
queue, the support desk and an escalation sweep (nudge, then tickets). Every statement Tortoise's
client runs for them is recorded (its
`tortoise.db_client` log), then EXPLAINed with its own parameters (custom plans). The page statements
of the question lists and of tag pages (deep ones too) must also walk an index in the list's order,
with no sort (issue 17: a sort reads every question before the page).

PostgreSQL pass only: SQLite's planner is another matter (tests/test_thread_queries.py).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from community import clock, db, questions
from community.support import nudge, policy, sweeper
from community.config import Config
from tests.conftest import PG_URL, login, make_user, token_for
from tests.query_plan_data import generate

pytestmark = pytest.mark.skipif(
    not PG_URL, reason="query plans are checked on PostgreSQL: this test runs in the PostgreSQL pass "
                       "(make test, or PG_TEST_PORT=... bash tests/with_postgres.sh pytest tests/test_query_plans.py)")

LARGE_ROWS = 2000  # a table with at least this many rows must never be scanned in full


@dataclass
class Recorder(logging.Handler):
    """Keeps each statement Tortoise's client runs while `route` is set, with its parameters."""

    route: str | None = None
    statements: list[tuple[str, str, list[Any]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        logging.Handler.__init__(self, logging.DEBUG)

    def __hash__(self) -> int:
        return id(self)

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if self.route and isinstance(args, tuple) and len(args) == 2 and isinstance(args[0], str):
            values = list(args[1] or [])
            if record.funcName == "execute_many" and values:
                values = list(values[0])  # one statement for many rows: the first row's plan stands for all
            self.statements.append((self.route, args[0], values))


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    log = logging.getLogger("tortoise.db_client")
    rec = Recorder()
    level, propagate = log.level, log.propagate
    log.addHandler(rec)
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield rec
    log.removeHandler(rec)
    log.setLevel(level)
    log.propagate = propagate


def seq_scans(plan: dict, large: set[str]) -> list[str]:
    found = []
    if plan.get("Node Type") == "Seq Scan" and plan.get("Relation Name") in large:
        found.append(plan["Relation Name"])
    for child in plan.get("Plans", []):
        found += seq_scans(child, large)
    return found


def sorts(plan: dict) -> list[str]:
    found = [plan["Node Type"]] if plan.get("Node Type") in ("Sort", "Incremental Sort") else []
    for child in plan.get("Plans", []):
        found += sorts(child)
    return found


async def sorted_pages(statements: list[tuple[str, str, list[Any]]]) -> list[str]:
    """Reports for the page statements (community/question_lists.py) of question lists and tag pages
    that sort instead of walking an index in the list's order: a sort reads every row before the page,
    however deep it is."""
    import asyncpg

    from search.whoosh_owner import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(PG_URL))
    problems: list[str] = []
    try:
        await conn.execute("SET plan_cache_mode = force_custom_plan")
        for route, sql, values in statements:
            if not route.startswith(("list", "tag page")) or ("ORDER BY p." not in sql and "ORDER BY pt." not in sql):
                continue
            raw = await conn.fetchval("EXPLAIN (FORMAT JSON) " + sql, *values)
            found = sorts((json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"])
            if found:
                text = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + sql, *values))
                problems.append(f"[{route}] {', '.join(found)} instead of an index walk:\n{sql}\nparameters: {values!r}\n{text}")
    finally:
        await conn.close()
    return problems


SKIP = re.compile(r"^\s*(SET|SHOW|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|LOCK|ANALYZE|VACUUM|CREATE|DROP|ALTER)\b", re.I)


async def explain_all(statements: list[tuple[str, str, list[Any]]], large: set[str]) -> tuple[list[str], int]:
    """(a report for each statement planned with a full scan of a large table, statements explained)."""
    import asyncpg

    from search.whoosh_owner import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(PG_URL))
    problems: list[str] = []
    seen: set[str] = set()
    try:
        await conn.execute("SET plan_cache_mode = force_custom_plan")
        for route, sql, values in statements:
            if sql in seen or SKIP.match(sql):
                continue
            seen.add(sql)
            try:
                raw = await conn.fetchval("EXPLAIN (FORMAT JSON) " + sql, *values)
            except asyncpg.PostgresError as exc:
                problems.append(f"[{route}] could not EXPLAIN ({exc}):\n{sql}\nparameters: {values!r}")
                continue
            plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
            scanned = seq_scans(plan, large)
            if scanned:
                text = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + sql, *values))
                problems.append(f"[{route}] Seq Scan on {', '.join(sorted(set(scanned)))}:\n{sql}\n"
                                f"parameters: {values!r}\n{text}")
    finally:
        await conn.close()
    return problems, len(seen)


async def deep_cursor(sort: str, depth: int, tag: str | None = None) -> str:
    """The cursor of the list page (of this tag's questions) that starts `depth` questions down this sort."""
    key = questions._SORT_FIELDS[sort]
    condition = {"unanswered": " AND state = 'unanswered'", "unsolved": " AND state <> 'solved'"}.get(sort, "")
    if tag:
        condition += f" AND id IN (SELECT pt.post_id FROM post_tag pt JOIN tag t ON t.id = pt.tag_id WHERE t.name = '{tag}')"
    listed = f"FROM post WHERE kind = 'question' AND deleted_at IS NULL AND hidden = false{condition}"
    total = (await db.fetch(f"SELECT count(*) AS n {listed}"))[0]["n"]
    rows = await db.fetch(f"SELECT {key} AS v, id {listed} ORDER BY {key} DESC, id DESC OFFSET ? LIMIT 1", [min(depth, total // 2)])
    return questions._encode_cursor(rows[0]["v"], rows[0]["id"])


@pytest.fixture
def config(tmp_path, database_url: str) -> Config:
    return Config(var_dir=tmp_path / "var", database_url=database_url, secret_key="test-secret",
                  index_dir=tmp_path / "index", demo_data=False, page_cache=False, run_indexer=False,
                  run_sweeper=False, search_backend="postgres", embeddings=False)


async def test_no_route_scans_a_large_table(app, database, recorder: Recorder) -> None:
    counts = await generate()
    assert counts["post"] >= 30_000 and counts["vote"] >= 90_000, counts
    from search.indexer import Indexer
    from search.postgres import PostgresBackend

    await Indexer(PostgresBackend()).reindex()
    reader = await make_user("reader", 3000)
    writer = await make_user("writer", 3000)
    await make_user("agent", 1, "staff")
    await db.execute("UPDATE notification SET user_id = ? WHERE id % 40 = 0", [reader.id])
    await db.execute("ANALYZE", [])
    rows = await db.fetch("SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                          "WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.reltuples >= ?", [LARGE_ROWS])
    large = {r["name"] for r in rows}
    assert {"post", "vote", "comment", "reputation_event", "notification", "user"} <= large, large

    busy = (await db.fetch("SELECT id FROM post WHERE kind = 'question' ORDER BY answer_count DESC, id LIMIT 1"))[0]["id"]
    heavy = (await db.fetch('SELECT id FROM "user" ORDER BY reputation DESC LIMIT 1'))[0]["id"]
    answer = (await db.fetch("SELECT id FROM post WHERE kind = 'answer' AND question_id = ? LIMIT 1", [busy]))[0]["id"]
    transport = httpx.ASGITransport(app=app)

    async def visit(client: httpx.AsyncClient, route: str, method: str, url: str, **kw: Any) -> httpx.Response:
        recorder.route = route
        try:
            r = await client.request(method, url, follow_redirects=True, **kw)
        finally:
            recorder.route = None
        assert r.status_code < 400, f"{route}: {method} {url} answered {r.status_code}: {r.text[:400]}"
        return r

    async with httpx.AsyncClient(transport=transport, base_url="http://test") as anon, \
            httpx.AsyncClient(transport=transport, base_url="http://test") as member, \
            httpx.AsyncClient(transport=transport, base_url="http://test") as staff, \
            httpx.AsyncClient(transport=transport, base_url="http://test") as api:
        await visit(anon, "thread (anonymous)", "GET", f"/questions/{busy}")
        await visit(anon, "front page", "GET", "/")
        for sort in questions.SORTS:
            await visit(anon, f"list {sort}", "GET", f"/questions?sort={sort}")
            await visit(anon, f"list {sort}, deep", "GET", "/questions", params={"sort": sort, "cursor": await deep_cursor(sort, 4000)})
        await visit(anon, "tag page (common)", "GET", "/tags/topic1")
        await visit(anon, "tag page (common), deep", "GET", "/tags/topic1",
                    params={"sort": "votes", "cursor": await deep_cursor("votes", 2000, "topic1")})
        await visit(anon, "tag page (rare), deep", "GET", "/tags/topic280?sort=votes")
        await visit(anon, "tags", "GET", "/tags")
        await visit(anon, "user page", "GET", f"/users/{heavy}")
        await visit(anon, "search", "GET", "/search", params={"q": "roaming refund"})
        await visit(anon, "search with tag and operators", "GET", "/search", params={"q": "[topic2] sim is:solved score:1"})
        await visit(anon, "search API", "GET", "/api/v1/search", params={"q": "esim unlock", "page": "3"})
        await visit(anon, "similar questions", "GET", "/api/v1/similar",
                    params={"title": "Refund for roaming data abroad", "body": "My bill shows roaming data charges"})

        anonymous = list(recorder.statements)
        await login(member, "reader")
        recorder.statements.clear()  # the log-in itself is not a route under test
        await visit(member, "thread (member)", "GET", f"/questions/{busy}")
        await visit(member, "list (member)", "GET", "/questions?sort=active")
        await visit(member, "inbox", "GET", "/inbox")
        await visit(member, "unread count", "GET", "/api/v1/me/unread")
        await visit(member, "review queue", "GET", "/review")
        await login(staff, "agent")
        await visit(staff, "support desk", "GET", "/support")
        await visit(staff, "support desk, breached", "GET", "/support?show=breached")

        mine = await token_for(api, "writer")
        theirs = await token_for(api, "reader")
        r = await visit(api, "ask", "POST", "/api/v1/questions", headers=mine, json={
            "title": "Porting my number to a new contract", "body": "How long does porting a number take when the contract changes?",
            "tags": "topic1 topic2"})
        asked = r.json()["id"]
        r = await visit(api, "answer", "POST", f"/api/v1/questions/{busy}/answers", headers=mine,
                        json={"body": "Order a replacement SIM card in the app and the number moves within an hour."})
        r = await visit(api, "answer (own question)", "POST", f"/api/v1/questions/{asked}/answers", headers=theirs,
                        json={"body": "Porting takes one working day once the new contract has started."})
        await visit(api, "accept", "POST", f"/api/v1/questions/{asked}/accept", headers=mine, json={"answer_id": r.json()["id"]})
        await visit(api, "vote", "POST", f"/api/v1/posts/{answer}/vote", headers=mine, json={"value": 1})
        await visit(api, "vote on a question", "POST", f"/api/v1/posts/{busy}/vote", headers=theirs, json={"value": -1})
        await visit(api, "comment", "POST", f"/api/v1/posts/{answer}/comments", headers=mine,
                    json={"body": "This worked for me as well, thank you for the steps."})
        r = await visit(api, "ask (left unanswered)", "POST", "/api/v1/questions", headers=theirs, json={
            "title": "Voicemail stopped after the tariff upgrade", "body": "Calls go straight to a beep since the upgrade.",
            "tags": "topic3"})
        waiting = r.json()["id"]

    # The escalation sweep (issue 17): the nudge half way to the SLA, then the ticket past it. Imported
    # history (every generated question is exempt) must not be read, let alone in full.
    pol, rule, now = policy.current(), nudge.rules(), clock.now()
    recorder.route = "escalation sweep: nudge"
    await sweeper.sweep(now + timedelta(seconds=(1 + rule.share) / 2 * pol.shortest))
    recorder.route = "escalation sweep: tickets"
    swept = await sweeper.sweep(now + timedelta(days=3))
    recorder.route = None
    assert swept.candidates == 1 and len(swept.created) == 1, swept  # the one open question, not the history
    assert await db.fetch("SELECT 1 FROM support_ticket WHERE question_id = ?", [waiting])

    # A tag page, common or rare, is a range of post_tag's copy of the sort keys (migration 0016).
    assert len([s for s in anonymous if s[0] == "tag page (common), deep" and "FROM post_tag pt WHERE pt.tag_id" in s[1]]) == 2  # the page, the one before
    unsorted = await sorted_pages(anonymous + recorder.statements)
    assert not unsorted, "\n\n".join(unsorted)
    # The anonymous list, tag and member pages (issue 17) scan no large table either.
    pages = [s for s in anonymous if s[0].startswith(("front page", "list", "tag", "user page"))]
    problems, explained = await explain_all(pages, large)
    assert explained >= 15 and not problems, "\n\n".join(problems) or f"only {explained} page statements"
    problems, explained = await explain_all(recorder.statements, large)
    assert explained >= 40, f"only {explained} statements were recorded: is the tortoise.db_client log still written?"
    assert not problems, f"{len(problems)} of {explained} statements scan a large table in full:\n\n" + "\n\n".join(problems)
