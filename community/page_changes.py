"""What each write changed, so a kept thread page is thrown away only when its own thread (or a member
shown on it) changed, not on every write anywhere (issue 17).

Every write bumps the content generation (row 1 of `content_generation`); `record` does that and, in
the same statement on PostgreSQL, adds rows to `content_change` saying what the write changed: the
question whose thread it touched, and the members whose name, reputation or badges it touched (they
show beside their posts on other threads). A bump with neither changed everything (edits, renames,
settings, moderation: any write that does not say). Lists are still kept per generation: any write
may reorder them.

`Changes` is a process's knowledge of those rows, read with the generation itself
(community.web.PageCache): a kept thread page made at generation g is still right at generation G when
no row in (g, G] names its thread, one of its authors, or everything. Any generation in (g, G] without
a row (another process bumped it by hand, a bump half done, rows already deleted) counts as
everything: the rule errs towards reading again, never towards a stale page.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from community import db

KEEP = 20_000  # generations of rows kept; a process further behind than that reads every thread again
PRUNE_EVERY = 1_000
MAX_NAMED = 100_000  # threads and members remembered per process before it simply starts afresh

READ_SQL = ("SELECT g.value AS value, c.generation AS generation, c.question_id AS question_id, c.user_id AS user_id "
            "FROM content_generation g LEFT JOIN content_change c ON c.generation > ? AND c.generation <= g.value "
            "WHERE g.id = 1")
SINCE_SQL = ("SELECT generation, question_id, user_id FROM content_change WHERE generation > ? AND generation <= ?")
NOTHING_BEFORE = 2**62  # `seen` for a process that knows nothing yet: it reads no rows, only the generation


async def record(question_id: int | None = None, users: Iterable[int | None] = ()) -> int | None:
    """Bump the content generation, saying what changed; returns the new generation (None if the row is missing)."""
    scope: list[tuple[int | None, int | None]] = [(int(question_id), None)] if question_id is not None else []
    scope += [(None, int(u)) for u in sorted({u for u in users if u is not None})]
    if not scope:
        scope = [(None, None)]  # everything
    params: list[Any] = [v for pair in scope for v in pair]
    if db.dialect() == "postgres":
        # One statement: the new generation and its rows become visible together.
        values = ", ".join("(CAST(? AS INTEGER), CAST(? AS INTEGER))" for _ in scope)
        rows = await db.fetch(
            "WITH g AS (UPDATE content_generation SET value = value + 1 WHERE id = 1 RETURNING value) "
            f"INSERT INTO content_change (generation, question_id, user_id) SELECT g.value, v.column1, v.column2 "
            f"FROM g CROSS JOIN (VALUES {values}) AS v RETURNING generation", params)
    else:
        # The rows first, then the bump: a reader between the two sees rows of a generation it has
        # not reached (and ignores them); two processes writing at once may leave a generation
        # without rows, which readers take as "everything changed".
        rows_sql = " UNION ALL ".join("SELECT value + 1, ?, ? FROM content_generation WHERE id = 1" for _ in scope)
        await db.execute(f"INSERT INTO content_change (generation, question_id, user_id) {rows_sql}", params)
        rows = await db.fetch("UPDATE content_generation SET value = value + 1 WHERE id = 1 RETURNING value AS generation")
    generation = int(rows[0]["generation"]) if rows else None
    if generation is not None and generation % PRUNE_EVERY == 0:
        await db.execute("DELETE FROM content_change WHERE generation <= ?", [generation - KEEP])
    return generation


class Changes:
    """One process's knowledge of what changed since it started reading generations."""

    def __init__(self) -> None:
        self.reset(-1)

    def reset(self, generation: int) -> None:
        self.seen = generation  # rows are known up to here
        self.all_at = generation  # the last generation that changed everything
        self.threads: dict[int, int] = {}  # question id -> the last generation that changed its thread
        self.users: dict[int, int] = {}  # member id -> the last generation that changed how they show

    def since(self) -> int:
        """The generation to read rows after (see READ_SQL)."""
        return self.seen if self.seen >= 0 else NOTHING_BEFORE

    def learn(self, generation: int, rows: Iterable[tuple[Any, Any, Any]]) -> None:
        """Take in the generation just read and the rows (generation, question_id, user_id) after `seen`."""
        if self.seen < 0 or generation < self.seen:  # the first read, or a database started again
            self.reset(generation)
            return
        if generation == self.seen:
            return
        found: set[int] = set()
        for g, question_id, user_id in rows:
            if g is None or not self.seen < int(g) <= generation:
                continue
            g = int(g)
            found.add(g)
            if question_id is not None:
                self.threads[int(question_id)] = max(self.threads.get(int(question_id), -1), g)
            if user_id is not None:
                self.users[int(user_id)] = max(self.users.get(int(user_id), -1), g)
            if question_id is None and user_id is None:
                self.all_at = max(self.all_at, g)
        if len(found) != generation - self.seen:  # a generation without rows: take it as everything
            self.all_at = generation
        self.seen = generation
        if len(self.threads) + len(self.users) > MAX_NAMED:
            self.reset(generation)

    def unchanged(self, made: int, scope: tuple[int, frozenset[int]] | None) -> bool:
        """Whether what was made at generation `made` for this scope (a thread and its authors) is still right."""
        if scope is None or made < self.all_at or made > self.seen:
            return False
        thread, authors = scope
        if self.threads.get(thread, -1) > made:
            return False
        users = self.users
        return not any(users.get(a, -1) > made for a in authors)
