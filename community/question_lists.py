"""The SQL behind question lists and tag pages (issue 17): each page is an index range, whatever its depth.

A list page is the `limit` questions after a cursor `(value, id)` in one sort's order. The cursor is
a row comparison, `(created_at, id) < (?, ?)`, which PostgreSQL and SQLite (>= 3.15) both use as the
bound of a scan of an index ending in `id` (migration 0012: `(kind, created_at, id)`,
`(kind, last_activity_at, id)`, `(kind, score, id)`, `(kind, state, created_at, id)`), so a page deep
in the list reads the page and not every question before it.

A tag page takes one of two shapes, chosen by how many questions the tag holds (`tag.question_count`):

- a common tag (sqrt(limit x questions) or more; the most used tag holds a third of them) walks the same
  post index in the sort's order and keeps the questions that carry the tag (a per-row probe of
  `post_tag`'s (post_id, tag_id) key, kept as a subplan by `OFFSET 0` so that PostgreSQL does not
  turn it into a hash join over all of the tag's rows): about limit / share rows are read;
- a rarer tag reads its questions through `post_tag` (tag_id, post_id) first (a MATERIALIZED CTE, so
  the planner cannot choose the walk, which would read most of the post index for a rare tag) and
  sorts those few.

Either way at most about sqrt(limit x questions) rows are read (4,600 at a million questions; the
tags near that threshold are the dearest pages, about 20-30 ms there on a loaded machine): keeping
each sort's key on post_tag itself would make every tag page an index range, at the price of
updating post_tag on each vote and answer.
"""

from __future__ import annotations

import math
import time
from datetime import datetime, timezone
from typing import Any

from community import db

# How long a process keeps its count of the questions (for the tag pages' choice of shape).
COUNT_TTL = 600.0
_counted: tuple[float, int] | None = None  # (monotonic time, questions)

SORT_FIELDS = {
    "newest": "created_at",
    "active": "last_activity_at",
    "unanswered": "created_at",
    "unsolved": "created_at",
    "votes": "score",
}
_STATE = {"unanswered": " AND p.state = 'unanswered'", "unsolved": " AND p.state <> 'solved'"}


async def common_tag_threshold(limit: int) -> float:
    """Questions a tag must hold for its pages to walk the post index rather than read the tag's rows:
    sqrt(limit x questions), where both shapes read about as many rows (measured at 100,000
    questions: a tag of 2,366 questions took 7-16 ms walking, 17-26 ms through post_tag). The count is
    kept COUNT_TTL seconds per process (an index-only count, about a tenth of a second at a million)."""
    global _counted
    now = time.monotonic()
    if _counted is None or now - _counted[0] > COUNT_TTL:
        rows = await db.fetch("SELECT COUNT(*) AS n FROM post WHERE kind = 'question'")
        _counted = (now, int(rows[0]["n"]))
    return math.sqrt(limit * _counted[1])


async def tag_for_list(name: str) -> tuple[int, int] | None:
    """(id, question_count) of the tag called `name`, or None when there is none."""
    rows = await db.fetch("SELECT id, question_count FROM tag WHERE name = ?", [name])
    return (int(rows[0]["id"]), int(rows[0]["question_count"] or 0)) if rows else None


def _db_value(value: Any) -> Any:
    # Stored times are UTC; SQLite compares them as text, so the bound must be written the same way.
    return value.astimezone(timezone.utc) if isinstance(value, datetime) else value


async def page(sort: str, tag: tuple[int, int] | None, after: tuple[Any, int] | None, limit: int,
               backwards: bool = False) -> list[tuple[Any, int]]:
    """(sort value, id) of up to `limit` listed questions after the cursor `after` (None: from the start),
    in the list's order (newest/highest first), or, `backwards`, those before it, nearest first."""
    key = SORT_FIELDS[sort]
    op, order = (">", "ASC") if backwards else ("<", "DESC")
    where = "p.kind = 'question' AND p.deleted_at IS NULL AND p.hidden = ?" + _STATE.get(sort, "")
    values: list[Any] = [False]
    if after is not None:
        where += f" AND (p.{key}, p.id) {op} (?, ?)"
        values += [_db_value(after[0]), after[1]]
    tail = f" ORDER BY p.{key} {order}, p.id {order} LIMIT ?"
    if tag is None:
        sql = f"SELECT p.{key} AS v, p.id AS id FROM post p WHERE {where}{tail}"
    elif tag[1] >= await common_tag_threshold(limit):
        fence = " OFFSET 0" if db.dialect() == "postgres" else ""
        sql = (f"SELECT p.{key} AS v, p.id AS id FROM post p WHERE {where} AND EXISTS "
               f"(SELECT 1 FROM post_tag pt WHERE pt.post_id = p.id AND pt.tag_id = ?{fence}){tail}")
        values.append(tag[0])
    else:
        sql = (f"WITH tagged AS MATERIALIZED (SELECT post_id FROM post_tag WHERE tag_id = ?) "
               f"SELECT p.{key} AS v, p.id AS id FROM tagged JOIN post p ON p.id = tagged.post_id WHERE {where}{tail}")
        values.insert(0, tag[0])
    rows = await db.fetch(sql, values + [limit])
    return [(db.as_datetime(r["v"]) if key != "score" else int(r["v"]), int(r["id"])) for r in rows]
