"""Hybrid retrieval: the lexical backend's ranking fused with the questions nearest in meaning.

`HybridBackend` wraps either lexical backend (Whoosh or PostgreSQL) and has its interface, so pages,
the API and the indexer use it unchanged: writes go to the lexical index and to the vector store
(search/vectors.py); look-ups embed the query, ask this process's neighbour index
(search/neighbours.py), fuse the two lists by weighted reciprocal rank, and let the lexical backend
check the semantic candidates against the query's operators (`among`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np

from search import vectors
from search.documents import ThreadDoc
from search.embedding import Embedder
from search.neighbours import NeighbourIndex
from search.results import PER_PAGE, Hit, SearchPage

log = logging.getLogger("search.hybrid")

SIMILAR_POOL = 15  # candidates taken from each side before fusing
RRF_K = 60
LEXICAL_WEIGHT, SEMANTIC_WEIGHT = 1.0, 2.0
QUERY_CACHE = 1024


def fuse(lists: list[list[int]], weights: list[float], k: int = RRF_K) -> list[int]:
    """Weighted reciprocal-rank fusion: ids ordered by the sum of weight / (k + rank) over the lists."""
    score: dict[int, float] = {}
    for ranked, weight in zip(lists, weights):
        for rank, qid in enumerate(ranked, start=1):
            score[qid] = score.get(qid, 0.0) + weight / (k + rank)
    return sorted(score, key=lambda qid: -score[qid])


class HybridBackend:
    def __init__(self, lexical: Any, embedder: Embedder, neighbours: NeighbourIndex | None = None) -> None:
        self.lexical = lexical
        self.name = lexical.name
        self.embedder = embedder
        self.neighbours = neighbours or NeighbourIndex()
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()

    # ----- writing -----

    async def apply(self, docs: list[ThreadDoc], removed: list[int], conn: Any = None) -> None:
        if conn is not None:
            await self.lexical.apply(docs, removed, conn)
        else:
            await self.lexical.apply(docs, removed)
        await vectors.write(docs, removed, self.embedder, conn)

    async def rebuild(self, batches: AsyncIterator[list[ThreadDoc]], on_batch: Callable[[int], None] | None = None,
                      expected: int = 0) -> int:
        return await self.lexical.rebuild(batches, on_batch, expected)

    # ----- reading -----

    async def embed_query(self, text: str) -> np.ndarray:
        vector = self._queries.get(text)
        if vector is None:
            vector = await asyncio.to_thread(self.embedder.embed_one, text)
            self._queries[text] = vector
            if len(self._queries) > QUERY_CACHE:
                self._queries.popitem(last=False)
        else:
            self._queries.move_to_end(text)
        return vector

    async def nearest(self, text: str, k: int, exclude: frozenset[int] = frozenset()) -> list[tuple[int, float]]:
        await self.neighbours.follow()
        if not text.strip() or not len(self.neighbours):
            return []
        return self.neighbours.search(await self.embed_query(text), k, exclude)

    async def similar(self, title: str, body: str = "", limit: int = 5) -> list[Hit]:
        lexical = await self.lexical.similar(title, body, SIMILAR_POOL)
        query = vectors.text_of(ThreadDoc(0, title or "", body or "", "", [], "", None))
        semantic = [qid for qid, _ in await self.nearest(query, SIMILAR_POOL)]
        order = fuse([[h.question_id for h in lexical], semantic], [LEXICAL_WEIGHT, SEMANTIC_WEIGHT])
        hits = {h.question_id: h for h in lexical}
        missing = [qid for qid in order[:limit * 3] if qid not in hits]
        if missing:
            hits.update({h.question_id: h for h in await self.lexical.among("", missing)})
        chosen = [hits[qid] for qid in order if qid in hits][:limit]
        chosen.sort(key=lambda h: h.state != "solved")  # stable: solved first, fused order kept within
        return chosen

    async def search(self, raw: str, page: int = 1, per_page: int = PER_PAGE) -> SearchPage:
        return await self.lexical.search(raw, page, per_page)
