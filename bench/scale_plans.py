"""EXPLAIN (ANALYZE, BUFFERS) of the list, tag and member page statements on a database made by
`bench/scale_bench.py generate` (issue 17): the statements the app runs now, recorded from Tortoise's
client log while the real service functions run, and with `--before` the shapes it ran before
migration 0012 (the Tortoise querysets of the time, written out by hand).

    .venv/bin/python bench/scale_plans.py --database-url postgres://postgres@127.0.0.1:5491/scale [--before]

Prints one line per shape: the execution time (best of 3), buffers hit + read, and the plan's top
nodes. Results: docs/benchmarks.md, "Scale".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LISTED = "p.kind = 'question' AND p.deleted_at IS NULL AND p.hidden = false"
STATE = {"unanswered": " AND p.state = 'unanswered'", "unsolved": " AND p.state <> 'solved'"}
KEYS = {"newest": "created_at", "active": "last_activity_at", "unanswered": "created_at", "unsolved": "created_at",
        "votes": "score"}


def _old_list(sort: str, tag: str | None, cursor: tuple[Any, int] | None) -> tuple[str, list[Any]]:
    """The queryset list_questions built before: the cursor as an OR, the tag through a join on its name."""
    key, values = KEYS[sort], []
    join, where = "", LISTED + STATE.get(sort, "")
    if tag:
        join = " LEFT OUTER JOIN post_tag pt ON pt.post_id = p.id LEFT OUTER JOIN tag t ON t.id = pt.tag_id"
        where += f" AND t.name = ${len(values) + 1}"
        values.append(tag)
    if cursor:
        n = len(values)
        where += f" AND (p.{key} < ${n + 1} OR (p.{key} = ${n + 2} AND p.id < ${n + 3}))"
        values += [cursor[0], cursor[0], cursor[1]]
    return (f'SELECT p.*, u.* FROM post p LEFT OUTER JOIN "user" u ON u.id = p.author_id{join} WHERE {where} '
            f"ORDER BY p.{key} DESC, p.id DESC LIMIT 21", values)


def _old_member(user_id: int) -> list[tuple[str, str, list[Any]]]:
    return [
        ("member: latest questions", "SELECT * FROM post p WHERE author_id = $1 AND kind = 'question' AND deleted_at IS NULL "
         "AND hidden = false ORDER BY created_at DESC LIMIT 30", [user_id]),
        ("member: latest answers", "SELECT * FROM post p WHERE author_id = $1 AND kind = 'answer' AND deleted_at IS NULL "
         "AND hidden = false ORDER BY created_at DESC LIMIT 30", [user_id]),
        ("member: weeks", "SELECT kind, created_at FROM post WHERE author_id = $1 AND deleted_at IS NULL AND hidden = false "
         "ORDER BY created_at DESC LIMIT 5000", [user_id]),
        ("member: top tags", "SELECT t.name AS name, COUNT(*) AS posts, SUM(CASE WHEN p.kind = 'answer' THEN p.score ELSE 0 END) "
         "AS score FROM post p JOIN post_tag pt ON pt.post_id = COALESCE(p.question_id, p.id) JOIN tag t ON t.id = pt.tag_id "
         "WHERE p.author_id = $1 AND p.deleted_at IS NULL AND p.hidden = false GROUP BY t.name "
         "ORDER BY score DESC, posts DESC, t.name LIMIT 5", [user_id]),
    ]


async def _explain(conn: Any, sql: str, values: list[Any]) -> tuple[float, int, str]:
    best, buffers, shape = float("inf"), 0, ""
    for _ in range(3):
        raw = await conn.fetchval("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, *values)
        doc = (json.loads(raw) if isinstance(raw, str) else raw)[0]
        if doc["Execution Time"] < best:
            best = doc["Execution Time"]
            plan = doc["Plan"]
            buffers = plan.get("Shared Hit Blocks", 0) + plan.get("Shared Read Blocks", 0)
            nodes, node = [], plan
            while node and len(nodes) < 4:
                nodes.append(node["Node Type"] + (f" {node['Index Name']}" if "Index Name" in node else ""))
                node = (node.get("Plans") or [None])[0]
            shape = " > ".join(nodes)
    return best, buffers, shape


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--before", action="store_true", help="the statements as they were before migration 0012")
    args = ap.parse_args()
    import asyncpg

    from community import activity, db, questions, reputation
    from search.whoosh_owner import asyncpg_dsn

    await db.init(args.database_url)
    conn = await asyncpg.connect(asyncpg_dsn(args.database_url))
    await conn.execute("SET plan_cache_mode = force_custom_plan")
    head = await conn.fetchrow("SELECT name, question_count FROM tag ORDER BY question_count DESC LIMIT 1")
    tail = await conn.fetchrow("SELECT name, question_count FROM tag WHERE question_count BETWEEN 20 AND 60 ORDER BY name LIMIT 1")
    mid = await conn.fetchrow("SELECT name, question_count FROM tag WHERE question_count BETWEEN 1000 AND 2999 ORDER BY name LIMIT 1")
    heavy = await conn.fetchval("SELECT author_id FROM post WHERE author_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")

    async def half(sort: str, tag: str | None) -> tuple[Any, int]:
        key = KEYS[sort]
        join = " JOIN post_tag pt ON pt.post_id = p.id JOIN tag t ON t.id = pt.tag_id AND t.name = $1" if tag else ""
        rows = await conn.fetch(f"SELECT p.{key} AS v, p.id FROM post p{join} WHERE {LISTED}{STATE.get(sort, '')} "
                                f"ORDER BY p.{key} DESC, p.id DESC", *([tag] if tag else []))
        r = rows[len(rows) // 2]
        return r["v"], r["id"]

    cases: list[tuple[str, str, str | None, bool]] = [(f"list {s}, deep", s, None, True) for s in KEYS]
    for label, row in (("head", head), ("mid", mid), ("tail", tail)):
        cases += [(f"tag {label} ({row['question_count']:,} q.) {s}{', deep' if deep else ''}", s, row["name"], deep)
                  for s, deep in (("newest", False), ("votes", False), ("votes", True), ("unanswered", True))]
    shapes: list[tuple[str, str, list[Any]]] = []
    log = logging.getLogger("tortoise.db_client")
    caught: list[tuple[str, list[Any]]] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if isinstance(record.args, tuple) and len(record.args) == 2 and isinstance(record.args[0], str):
                caught.append((record.args[0], list(record.args[1] or [])))

    log.addHandler(Catch())
    log.setLevel(logging.DEBUG)
    log.propagate = False
    for label, sort, tag, deep in cases:
        cursor = await half(sort, tag) if deep else None
        if args.before:
            shapes.append((label, *_old_list(sort, tag, cursor)))
            continue
        caught.clear()
        await questions.list_questions(sort, tag, questions._encode_cursor(*cursor) if cursor else None)
        shapes += [(f"{label} [{i}]", sql, values) for i, (sql, values) in enumerate(caught) if "FROM tag WHERE" not in sql]
    if args.before:
        shapes += _old_member(heavy)
    else:
        for label, call in (("member: latest questions", lambda: questions.user_posts(heavy, "question")),
                            ("member: latest answers", lambda: questions.user_posts(heavy, "answer")),
                            ("member: weeks", lambda: activity.weekly(heavy)),
                            ("member: top tags", lambda: activity.top_tags(heavy)),
                            ("member: reputation by day", lambda: reputation.history_by_day(heavy))):
            caught.clear()
            await call()
            shapes += [(label, sql, values) for sql, values in caught]
    for label, sql, values in shapes:
        ms, buffers, shape = await _explain(conn, sql, values)
        print(f"| {label} | {ms:.1f} | {buffers:,} | {shape} |")
    await conn.close()
    await db.close()


if __name__ == "__main__":
    asyncio.run(main())
