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
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from community import db, outage
from community.loop_guard import LoopGuard
from community.wakeup import sleep_until_woken
from search import documents, outbox, vectors
from search.backend import SearchBackend, WhooshBackend

log = logging.getLogger("search.indexer")

POLL_SECONDS = 0.25  # rows queued by other processes are found within this (the target is 2 s)
RECHECK_SECONDS = 0.05  # after a nudge found nothing yet (the writer's transaction still open)
RECHECKS = 5
BATCH = 500
FILL_BATCH = 64  # questions per vector batch filled between drains (the outbox waits at most one batch)
FILL_RETRIES = 5
ADVISORY_LOCK = 7_340_001  # PostgreSQL advisory lock key held while draining


class VectorFill(vectors.Fill):
    """`vectors.Fill` with what the indexer's log reports."""

    def __init__(self, embedder: Any, total: int) -> None:
        super().__init__(embedder, FILL_BATCH)
        self.total = total
        self.next_report = max(1, total // 10)
        self.started = time.monotonic()


class Indexer:
    def __init__(self, backend: SearchBackend, batch: int = BATCH, claim: Any = None) -> None:
        self.backend = backend
        self.batch = batch
        self.claim = claim  # search.whoosh_owner.OutboxClaim: a Whoosh index on PostgreSQL drains only while it holds it

    @contextlib.asynccontextmanager
    async def _turn(self) -> AsyncIterator[tuple[bool, Any]]:
        """(this indexer may drain now, the connection to use)."""
        lexical = getattr(self.backend, "lexical", self.backend)  # a HybridBackend wraps it
        if isinstance(lexical, WhooshBackend):
            lock = lexical.index.ix.storage.lock("INDEXER")
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
        if self.claim is not None and not await self.claim.may_drain():
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

        A missing or outdated Whoosh index (first start, or a new schema) is rebuilt first. Missing
        or outdated question vectors (the first start after an upgrade, a new model) are filled a
        batch at a time whenever the outbox is drained, so new writes wait at most one batch.
        """
        failures = 0
        guard = LoopGuard("the search indexer")  # an outage: one line, back-off, one line when it is back
        lexical = getattr(self.backend, "lexical", self.backend)
        if getattr(getattr(lexical, "index", None), "needs_rebuild", False):
            try:
                if await documents.count_questions():
                    log.warning("search index missing or outdated: rebuilding it from the database")
                    await self.reindex()
                else:
                    lexical.index.needs_rebuild = False
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                guard.failed(exc, "search index rebuild failed; run `python run.py reindex`")
        fill = await self._vector_fill(guard)
        fill_failures = 0
        recheck = 0
        pause = poll
        while True:
            try:
                handled = await self.drain_once()
                failures = 0
                guard.ok()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                handled = 0
                pause = guard.failed(exc, "search indexer failed; retrying (the outbox keeps every change)",
                                     poll if outage.kind(exc) else min(30.0, poll * 2 ** failures))
            if handled >= self.batch:
                continue
            if fill is not None and not failures:
                # The outbox is drained: embed one batch of the missing vectors, then look again.
                try:
                    if not await self._fill_step(fill):
                        fill = None
                    fill_failures = 0
                    continue
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if outage.kind(exc) is not None:  # the database is away: not the fill's fault
                        await asyncio.sleep(guard.failed(exc, "filling the question vectors failed"))
                        continue
                    fill_failures += 1
                    if fill_failures >= FILL_RETRIES:
                        log.exception("filling the question vectors failed; run `python run.py reindex --vectors-only`")
                        fill = None
                    else:
                        log.exception("filling the question vectors failed; trying again")
                        await asyncio.sleep(min(30.0, poll * 2 ** fill_failures))
                    continue
            if handled:
                recheck = 0
            if failures:
                await asyncio.sleep(pause)
            elif handled == 0 and recheck > 0:
                # Woken by a write in this process whose transaction had not committed yet (on
                # PostgreSQL the indexer reads on another connection): look again shortly.
                recheck -= 1
                await asyncio.sleep(RECHECK_SECONDS)
            elif await self._wait_for_nudge(poll):
                recheck = RECHECKS
            else:
                recheck = 0

    async def _vector_fill(self, guard: LoopGuard | None = None) -> VectorFill | None:
        """On a start after an upgrade (questions without a vector of this model, or made from another
        text), the fill that the loop runs a batch at a time while the outbox is empty."""
        embedder = getattr(self.backend, "embedder", None)
        if embedder is None:
            return None
        try:
            why = await vectors.outdated()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            message = "could not check the question vectors; run `python run.py reindex --vectors-only`"
            if guard is None:
                log.exception(message)
            else:
                guard.failed(exc, message)
            return None
        if why is None:
            return None
        total = await documents.count_questions()
        log.warning("question vectors out of date (%s): embedding up to %d questions in the background", why, total)
        return VectorFill(embedder, total)

    async def _fill_step(self, fill: VectorFill) -> bool:
        """One batch of the fill, when no other indexer holds the turn; False once it is done."""
        async with self._turn() as (mine, _):
            if not mine:
                await asyncio.sleep(POLL_SECONDS)  # another process's indexer is at work; its fill too
                return True
            more = await fill.step()
        if not more:
            log.warning("question vectors up to date: embedded %d texts in %.0f s", fill.embedded,
                        time.monotonic() - fill.started)
        elif fill.seen >= fill.next_report:
            log.info("question vectors: %d of %d questions gone through, %d embedded", fill.seen, fill.total, fill.embedded)
            fill.next_report += max(1, fill.total // 10)
        return more

    @staticmethod
    async def _wait_for_nudge(poll: float) -> bool:
        """Sleep until the next poll, or until this process queues a change (True)."""
        return await sleep_until_woken(outbox.nudge_event(), poll)

    async def reindex(self, on_start: Callable[[int], None] | None = None,
                      on_batch: Callable[[int], None] | None = None, batch: int = 1000) -> int:
        """Rebuild the whole index from the database.

        Outbox rows that existed before the rebuild started are covered by it and removed; rows
        added during the rebuild stay for the indexer, so nothing written meanwhile is lost.
        """
        rows = await db.fetch("SELECT MAX(id) AS m FROM search_outbox")
        covered = rows[0]["m"] if rows and rows[0]["m"] is not None else 0
        expected = await documents.count_questions()
        if on_start:
            on_start(expected)

        async def batches() -> AsyncIterator[list[documents.ThreadDoc]]:
            async for ids in documents.all_question_ids(batch):
                docs, _ = await documents.load(ids)
                yield docs

        count = await self.backend.rebuild(batches(), on_batch, expected=expected)
        await db.execute("DELETE FROM search_outbox WHERE id <= ?", [covered])
        return count
