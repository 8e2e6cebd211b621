"""The indexer: drains search_outbox into the search backend, and rebuilds it from the database.

At-least-once: outbox rows are deleted only after the backend has committed the documents, so a
process killed at any moment leaves rows that the next indexer replays (writing a thread document
twice is harmless). Only one indexer works at a time (a lock beside the Whoosh index, or a
PostgreSQL advisory lock): two indexers reading the same thread at different moments could
otherwise commit the older copy last.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from community import db
from search import documents
from search.backend import SearchBackend, WhooshBackend

log = logging.getLogger("search.indexer")

POLL_SECONDS = 0.25  # a new post is searchable within about this (the target is 2 s)
BATCH = 500
ADVISORY_LOCK = 7_340_001  # PostgreSQL advisory lock key held while draining


class Indexer:
    def __init__(self, backend: SearchBackend, batch: int = BATCH) -> None:
        self.backend = backend
        self.batch = batch

    @contextlib.asynccontextmanager
    async def _turn(self) -> AsyncIterator[tuple[bool, Any]]:
        """(this indexer may drain now, the connection to use)."""
        if isinstance(self.backend, WhooshBackend):
            lock = self.backend.index.ix.storage.lock("INDEXER")
            if not lock.acquire(blocking=False):
                yield False, None
                return
            try:
                yield True, None
            finally:
                lock.release()
        elif db.dialect() == "postgres":
            async with db.transaction() as conn:
                rows = await db.fetch("SELECT pg_try_advisory_xact_lock(?) AS ok", [ADVISORY_LOCK], conn)
                yield bool(rows[0]["ok"]), conn
        else:
            async with db.transaction() as conn:
                yield True, conn

    async def drain_once(self) -> int:
        """Index one batch of outbox rows; returns how many rows it handled (0: nothing to do)."""
        if not await db.fetch("SELECT id FROM search_outbox LIMIT 1"):
            return 0
        async with self._turn() as (mine, conn):
            if not mine:
                return 0
            rows = await db.fetch("SELECT id, question_id FROM search_outbox ORDER BY id LIMIT ?", [self.batch], conn)
            if not rows:
                return 0
            docs, removed = await documents.load([r["question_id"] for r in rows], conn)
            if conn is not None:
                await self.backend.apply(docs, removed, conn)  # type: ignore[call-arg]
            else:
                await self.backend.apply(docs, removed)
            ids = [r["id"] for r in rows]
            await db.execute(f"DELETE FROM search_outbox WHERE id IN ({','.join('?' * len(ids))})", ids, conn)
            return len(rows)

    async def drain(self) -> int:
        """Index everything waiting; returns the number of outbox rows handled."""
        total = 0
        while True:
            n = await self.drain_once()
            if n == 0:
                return total
            total += n

    async def run(self, poll: float = POLL_SECONDS) -> None:
        """The background loop: replays whatever a previous process left, then keeps up.

        A missing or outdated Whoosh index (first start, or a new schema) is rebuilt first.
        """
        failures = 0
        if getattr(getattr(self.backend, "index", None), "needs_rebuild", False):
            try:
                if await documents.count_questions():
                    log.warning("search index missing or outdated: rebuilding it from the database")
                    await self.reindex()
                else:
                    self.backend.index.needs_rebuild = False
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("search index rebuild failed; run `python run.py reindex`")
        while True:
            try:
                handled = await self.drain_once()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                handled = 0
                log.exception("search indexer failed; retrying (the outbox keeps every change)")
            if handled < self.batch:
                await asyncio.sleep(poll if not failures else min(30.0, poll * 2 ** failures))

    async def reindex(self, on_start: Callable[[int], None] | None = None,
                      on_batch: Callable[[int], None] | None = None, batch: int = 1000) -> int:
        """Rebuild the whole index from the database.

        Outbox rows that existed before the rebuild started are covered by it and removed; rows
        added during the rebuild stay for the indexer, so nothing written meanwhile is lost.
        """
        rows = await db.fetch("SELECT MAX(id) AS m FROM search_outbox")
        covered = rows[0]["m"] if rows and rows[0]["m"] is not None else 0
        if on_start:
            on_start(await documents.count_questions())

        async def batches() -> AsyncIterator[list[documents.ThreadDoc]]:
            async for ids in documents.all_question_ids(batch):
                docs, _ = await documents.load(ids)
                yield docs

        count = await self.backend.rebuild(batches(), on_batch)
        await db.execute("DELETE FROM search_outbox WHERE id <= ?", [covered])
        return count
