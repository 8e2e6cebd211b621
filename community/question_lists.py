"""The SQL behind question lists and tag pages (issue 17): each page is an index range, whatever its depth.

A list page is the `limit` questions after a cursor `(value, id)` in one sort's order. The cursor is
a row comparison, `(created_at, id) < (?, ?)`, which PostgreSQL and SQLite (>= 3.15) both use as the
bound of a scan of an index ending in `id` (migration 0012: `(kind, created_at, id)`,
`(kind, last_activity_at, id)`, `(kind, score, id)`, `(kind, state, created_at, id)`), so a page deep
in the list reads the page and not every question before it.

A tag page is the same range on `post_tag`, which keeps each question's sort keys and whether it is
listed (migration 0016, kept in step by triggers): `(tag_id, listed, created_at, post_id)` and one
index per sort like it. It reads the page and nothing else, for the biggest tag and the smallest alike
(before, the tags near the border between a walk of the post index and a sort of the tag's rows read
about sqrt(page x questions) rows: 20 ms of PostgreSQL per page at a million questions).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from community import db, model_rows
from community.models import Post, User

SORT_FIELDS = {
    "newest": "created_at",
    "active": "last_activity_at",
    "unanswered": "created_at",
    "unsolved": "created_at",
    "votes": "score",
}
_STATE = {"unanswered": " AND {t}.state = 'unanswered'", "unsolved": " AND {t}.state <> 'solved'"}


async def tag_for_list(name: str) -> int | None:
    """The id of the tag called `name`, or None when there is none."""
    rows = await db.fetch("SELECT id FROM tag WHERE name = ?", [name])
    return int(rows[0]["id"]) if rows else None


def _db_value(value: Any) -> Any:
    # Stored times are UTC; SQLite compares them as text, so the bound must be written the same way.
    return value.astimezone(timezone.utc) if isinstance(value, datetime) else value


def _statement(sort: str, tag: int | None, after: tuple[Any, int] | None, limit: int, backwards: bool) -> tuple[str, list[Any]]:
    """The page statement (selecting `v` and `id`) and its values."""
    key = SORT_FIELDS[sort]
    op, order = (">", "ASC") if backwards else ("<", "DESC")
    if tag is None:
        t, pk = "p", "id"
        sql = "SELECT p.{key} AS v, p.id AS id FROM post p WHERE p.kind = 'question' AND p.deleted_at IS NULL AND p.hidden = ?"
        values: list[Any] = [False]
    else:
        t, pk = "pt", "post_id"
        sql = "SELECT pt.{key} AS v, pt.post_id AS id FROM post_tag pt WHERE pt.tag_id = ? AND pt.listed = ?"
        values = [tag, True]
    sql = sql.format(key=key) + _STATE.get(sort, "").format(t=t)
    if after is not None:
        sql += f" AND ({t}.{key}, {t}.{pk}) {op} (?, ?)"
        values += [_db_value(after[0]), after[1]]
    return f"{sql} ORDER BY {t}.{key} {order}, {t}.{pk} {order} LIMIT ?", values + [limit]


async def page(sort: str, tag: int | None, after: tuple[Any, int] | None, limit: int,
               backwards: bool = False) -> list[tuple[Any, int]]:
    """(sort value, id) of up to `limit` listed questions (of the tag with id `tag`, when given) after the
    cursor `after` (None: from the start), in the list's order (newest/highest first), or, `backwards`,
    those before it, nearest first."""
    rows = await db.fetch(*_statement(sort, tag, after, limit, backwards))
    key = SORT_FIELDS[sort]
    return [(db.as_datetime(r["v"]) if key != "score" else int(r["v"]), int(r["id"])) for r in rows]


async def questions(sort: str, tag: int | None, after: tuple[Any, int] | None, limit: int) -> list[Post]:
    """The questions `page` finds, with their authors (as select_related("author") attaches them), in
    the list's order: one statement, the page statement joined by primary key to its posts and their
    authors (community/model_rows.py builds them), so a list page costs one round trip and no ORM
    queryset. The rows come back in no set order (an outer ORDER BY would sort them again); they are
    put in the page's order here."""
    sql, values = _statement(sort, tag, after, limit, False)
    rows = await db.fetch(f'WITH pg AS ({sql}) SELECT {model_rows.columns(Post, "q")}, {model_rows.columns(User, "u", related=True)} '
                          'FROM pg JOIN post q ON q.id = pg.id LEFT JOIN "user" u ON u.id = q.author_id', values)
    authors: dict[int, User] = {}
    found = [model_rows.build(Post, row, "author", User, authors) for row in rows]
    key = SORT_FIELDS[sort]
    found.sort(key=lambda p: (getattr(p, key), p.id), reverse=True)
    return found

