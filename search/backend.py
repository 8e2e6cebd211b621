"""Which engine answers searches (SEARCH_BACKEND): the Whoosh index, or PostgreSQL full-text search.

Both take the same `ThreadDoc`s from the indexer and the same query language, and return the same
`SearchPage`, so pages, the API and the tests do not care which one is configured.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
import logging
from typing import Any, Protocol

from community.config import Config
from search.documents import ThreadDoc
from search.results import PER_PAGE, Hit, SearchPage

BACKENDS = ("whoosh", "postgres")
log = logging.getLogger("search")


class SearchBackend(Protocol):
    name: str

    async def search(self, raw: str, page: int = 1, per_page: int = PER_PAGE, snippets: bool = True) -> SearchPage: ...

    async def similar(self, title: str, body: str = "", limit: int = 5) -> list[Hit]: ...

    async def among(self, raw: str, ids: list[int], unlisted: bool = False) -> list[Hit]:
        """These questions, in this order, that satisfy the query's operators and filters (all of
        it but its plain words); with `unlisted`, only those its search never lists."""
        ...

    async def apply(self, docs: list[ThreadDoc], removed: list[int]) -> None: ...

    async def rebuild(self, batches: AsyncIterator[list[ThreadDoc]], on_batch: Callable[[int], None] | None = None,
                      expected: int = 0) -> int: ...


class WhooshBackend:
    """Searches run in the event loop (they are short, and usually cached); writes run in a thread."""

    name = "whoosh"
    # Hybrid similar questions search only the title's 3 rarest words (`rarest_words`): a search of
    # every word relaxes to an OR that walks the common words' postings, and an AND of common words
    # leapfrogs through long postings. On the shared sites the 3 rarest keep the 13 of 21 duplicate
    # pairs and find 150 linked ones (the 4 longest: 147; 4 rarest: 155 at 40% more CPU at p95);
    # docs/benchmarks.md. PostgreSQL, without document frequencies at hand, takes the 5 longest.
    similar_search_words = 3

    def __init__(self, directory: Path | str) -> None:
        from search.index import open_index

        self.index = open_index(directory)

    async def search(self, raw: str, page: int = 1, per_page: int = PER_PAGE, snippets: bool = True) -> SearchPage:
        return self.index.search(raw, page, per_page, snippets)

    async def similar(self, title: str, body: str = "", limit: int = 5) -> list[Hit]:
        return self.index.similar(title, body, limit)

    def rarest_words(self, words: str, keep: int) -> list[str]:
        """The `keep` words of `words` whose stems are rarest in the index's full text (unknown words
        skipped), in their order in `words`."""
        return self.index.rarest_words(words.split(), keep)

    async def among(self, raw: str, ids: list[int], unlisted: bool = False) -> list[Hit]:
        return self.index.among(raw, ids, unlisted)

    async def apply(self, docs: list[ThreadDoc], removed: list[int]) -> None:
        await asyncio.to_thread(self.index.apply, docs, removed)
        # Searches run on this thread, so the searcher can be refreshed here, at once, instead of
        # by the next search (which would pay for opening the new segment).
        self.index.refresh()

    async def rebuild(self, batches: AsyncIterator[list[ThreadDoc]], on_batch: Callable[[int], None] | None = None,
                      expected: int = 0) -> int:
        """Reading from the database and writing the index overlap: a thread writes while we read
        (and, for a big rebuild, worker processes index what that thread hands them)."""
        from search.index import rebuild_procs

        procs = rebuild_procs(expected)
        handoff: queue.Queue = queue.Queue(maxsize=4)
        done = object()

        def feed():
            while True:
                item = handoff.get()
                if item is done:
                    result["fed"] = True
                    return
                yield item

        result: dict = {}

        def write() -> None:
            try:
                result["count"] = self.index.rebuild(feed(), on_batch, procs=procs)
            except BaseException as exc:  # handed back to the caller below
                result["error"] = exc
                while not result.get("fed") and handoff.get() is not done:  # unblock the reader
                    pass

        worker = threading.Thread(target=write, name="search-reindex", daemon=True)
        worker.start()
        try:
            async for batch in batches:
                await asyncio.to_thread(handoff.put, batch)
                if "error" in result:
                    break
        finally:
            await asyncio.to_thread(handoff.put, done)
            await asyncio.to_thread(worker.join)
        if "error" in result:
            raise result["error"]
        return result["count"]


def lexical_for(config: Config) -> SearchBackend:
    """The configured lexical backend (one per process per index directory)."""
    if config.search_backend == "postgres":
        from search.postgres import PostgresBackend

        return PostgresBackend()
    return WhooshBackend(config.index_dir)


def backend_for(config: Config) -> SearchBackend:
    """The configured backend: the lexical one, wrapped for hybrid retrieval unless EMBEDDINGS=0
    (or the model is not installed: then search stays lexical and says why in the log)."""
    lexical = lexical_for(config)
    if not config.embeddings:
        return lexical
    from search.embedding import ModelMissing, shared
    from search.hybrid import HybridBackend

    try:
        return HybridBackend(lexical, shared())
    except ModelMissing as exc:
        log.error("semantic search is off: %s", exc)
        return lexical


def search_backend(app: Any) -> SearchBackend:
    """This app's backend, made once (pages of every room reach search through it)."""
    backend = getattr(app.state, "search_backend", None)
    if backend is None:
        config = app.state.config
        if config.search_backend not in BACKENDS:
            log.warning("SEARCH_BACKEND=%r is not one of %s; using whoosh", config.search_backend, BACKENDS)
            config.search_backend = "whoosh"
        backend = app.state.search_backend = backend_for(config)
    return backend
