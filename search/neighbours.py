"""This process's nearest-neighbour index over the question vectors, following search_vector.

Exact while small (one matrix product over every vector); from `APPROX_FROM` vectors on, an HNSW
graph (usearch, vectors held as float16) that answers in well under a millisecond at any size where
the matrix product would grow with the corpus (docs/benchmarks.md has the measurement).

The index follows the table by `seq` (see search/vectors.py): `follow()` reads what was written
since it last looked, at most every FOLLOW_SECONDS, so a new question is found within the index-lag
target whichever process or host embedded it.

Look-ups run on worker threads (beside the lexical search, search/hybrid.py) while changes arrive on
the event loop, so both take one lock: a search never reads a matrix half replaced.
"""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np

from search import vectors
from search.embedding import DIMENSIONS

APPROX_FROM = 100_000  # vectors from which the HNSW graph replaces the exact product (docs/benchmarks.md)
FOLLOW_SECONDS = 0.25


class NeighbourIndex:
    def __init__(self, approx_from: int = APPROX_FROM) -> None:
        self.approx_from = approx_from
        self.seq = 0  # the last search_vector seq applied
        self._rows: dict[int, int] = {}  # question id -> row of the matrix (exact mode)
        self._ids = np.full(1024, -1, dtype=np.int64)
        self._matrix = np.zeros((1024, DIMENSIONS), dtype=np.float32)
        self._free: list[int] = []
        self._used = 0  # rows handed out so far (free ones included)
        self._graph = None  # usearch.index.Index once approximate
        self._keys: set[int] = set()  # question ids in the graph (approximate mode)
        self._checked = 0.0
        self._lock: asyncio.Lock | None = None  # one follow() at a time
        self._guard = threading.RLock()  # the vectors: changes against look-ups on worker threads

    def __len__(self) -> int:
        return len(self._keys) if self._graph is not None else len(self._rows)

    @property
    def approximate(self) -> bool:
        return self._graph is not None

    # ----- changes -----

    def put(self, question_id: int, vector: np.ndarray | None) -> None:
        """Add or replace a question's vector; None removes it."""
        with self._guard:
            self._put(question_id, vector)

    def _put(self, question_id: int, vector: np.ndarray | None) -> None:
        if self._graph is not None:
            if question_id in self._keys:
                self._graph.remove(question_id)
                self._keys.discard(question_id)
            if vector is not None:
                self._graph.add(question_id, vector)
                self._keys.add(question_id)
            return
        row = self._rows.get(question_id)
        if vector is None:
            if row is not None:
                del self._rows[question_id]
                self._ids[row] = -1
                self._matrix[row] = 0.0
                self._free.append(row)
            return
        if row is None:
            row = self._free.pop() if self._free else self._new_row()
            self._rows[question_id] = row
            self._ids[row] = question_id
        self._matrix[row] = vector
        if len(self._rows) >= self.approx_from:
            self._to_graph()

    def put_many(self, changes: list[tuple[int, np.ndarray | None]]) -> None:
        """Apply changes in order (a question's last one wins); into the graph as one bulk add, which
        usearch builds on several threads (a process loading a million vectors adds them at once)."""
        with self._guard:
            self._put_many(list(dict(changes).items()))

    def _put_many(self, pending: list[tuple[int, np.ndarray | None]]) -> None:
        done = 0
        while done < len(pending) and self._graph is None:
            self._put(*pending[done])
            done += 1
        rest = pending[done:]
        if not rest:
            return
        assert self._graph is not None
        leaving = np.array([qid for qid, _ in rest if qid in self._keys], dtype=np.uint64)
        if len(leaving):
            self._graph.remove(leaving)
            self._keys.difference_update(int(k) for k in leaving)
        coming = [(qid, vector) for qid, vector in rest if vector is not None]
        if coming:
            self._graph.add(np.array([qid for qid, _ in coming], dtype=np.uint64),
                            np.stack([vector for _, vector in coming]).astype(np.float32))
            self._keys.update(qid for qid, _ in coming)

    def _new_row(self) -> int:
        if self._used == len(self._ids):
            size = len(self._ids) * 2
            self._ids = np.concatenate([self._ids, np.full(size - len(self._ids), -1, dtype=np.int64)])
            matrix = np.zeros((size, DIMENSIONS), dtype=np.float32)
            matrix[:self._used] = self._matrix[:self._used]
            self._matrix = matrix
        self._used += 1
        return self._used - 1

    def _to_graph(self) -> None:
        from usearch.index import Index

        graph = Index(ndim=DIMENSIONS, metric="cos", dtype="f16", connectivity=16, expansion_add=128, expansion_search=96)
        rows = np.array(sorted(self._rows.values()), dtype=np.int64)
        if len(rows):
            graph.add(self._ids[rows], self._matrix[rows])
        self._keys = set(self._rows)
        self._graph = graph
        self._rows, self._free, self._used = {}, [], 0
        self._ids = np.full(0, -1, dtype=np.int64)
        self._matrix = np.zeros((0, DIMENSIONS), dtype=np.float32)

    # ----- reading -----

    def search(self, vector: np.ndarray, k: int, exclude: set[int] | frozenset[int] = frozenset()) -> list[tuple[int, float]]:
        """The k nearest questions (question id, cosine similarity), nearest first."""
        with self._guard:
            return self._search(vector, k, exclude)

    def _search(self, vector: np.ndarray, k: int, exclude: set[int] | frozenset[int]) -> list[tuple[int, float]]:
        want = k + len(exclude)
        if self._graph is not None:
            if not self._keys:
                return []
            found = self._graph.search(vector, min(want, len(self._keys)))
            pairs = [(int(key), 1.0 - float(dist)) for key, dist in zip(found.keys, found.distances)]
        else:
            if not self._rows:
                return []
            # einsum's own single-threaded loop, not BLAS: OpenBLAS's threads made the product of
            # 41,000 vectors cost 20 / 40 ms (p50 / p95) on the busy two-core machine against 7 / 12
            # for einsum, at a third of the CPU (docs/benchmarks.md).
            sims = np.einsum("ij,j->i", self._matrix[:self._used], np.asarray(vector, dtype=np.float32))
            sims[self._ids[:self._used] < 0] = -2.0
            take = min(want, self._used)
            top = np.argpartition(-sims, take - 1)[:take]
            top = top[np.argsort(-sims[top])]
            pairs = [(int(self._ids[r]), float(sims[r])) for r in top if self._ids[r] >= 0]
        return [(qid, sim) for qid, sim in pairs if qid not in exclude][:k]

    def vector_of(self, question_id: int) -> np.ndarray | None:
        with self._guard:
            return self._vector_of(question_id)

    def _vector_of(self, question_id: int) -> np.ndarray | None:
        if self._graph is not None:
            return np.asarray(self._graph.get(question_id), dtype=np.float32) if question_id in self._keys else None
        row = self._rows.get(question_id)
        return None if row is None else self._matrix[row].copy()

    async def follow(self, force: bool = False) -> None:
        """Apply what search_vector gained since the last look (at most every FOLLOW_SECONDS)."""
        now = time.monotonic()
        if not force and now - self._checked < FOLLOW_SECONDS:
            return
        if self._lock is None:
            self._lock = asyncio.Lock()
        if not force and self._lock.locked():
            return  # another task is catching up (the first load, perhaps): answer with what is here
        async with self._lock:
            if not force and time.monotonic() - self._checked < FOLLOW_SECONDS:
                return  # another request caught up while this one waited
            while True:
                rows = await vectors.changes(self.seq)
                if rows:
                    self.put_many([(qid, vector) for _, qid, vector in rows])
                    self.seq = rows[-1][0]
                if len(rows) < vectors.FOLLOW_BATCH:
                    break
            self._checked = time.monotonic()
