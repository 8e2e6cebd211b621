"""Hybrid retrieval: the lexical backend's ranking fused with the questions nearest in meaning.

`HybridBackend` wraps either lexical backend (Whoosh or PostgreSQL) and has its interface, so pages,
the API and the indexer use it unchanged: writes go to the lexical index and to the vector store
(search/vectors.py); look-ups embed the query, ask this process's neighbour index
(search/neighbours.py) and fuse the two sides.

The fusion (tuned on the four shared Stack Exchange sites, docs/benchmarks.md): every candidate is
scored by its cosine similarity to the query, plus a bonus for its rank in each lexical list
(weight * (K + 1) / (K + rank), so the lexical first gets the whole weight). Scoring the lexical
candidates by meaning too is what lets fusion keep what either side finds where a plain
reciprocal-rank fusion let a weak lexical list push the semantic finds out. And each side's best
few (by its own order: a third of `limit` for the lexical search, half for the neighbours) always
keep a place among the first `limit`: fusion never loses what one side is sure of.

Similar questions fuse three lists: the neighbours of the title (and the start of the body), the
lexical search for the title's words, and the lexical similar-question look-up. Search fuses its
first lexical page with neighbours of the query's plain words that pass the query's operators and
filters (`among`); the lexical pages after it follow unchanged, shifted by the semantic additions,
so page 2 never repeats page 1 and nothing the lexical search lists goes missing.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np

from search import vectors
from search.documents import ThreadDoc
from search.embedding import Embedder
from search.neighbours import NeighbourIndex
from search.query import SearchQuery, parse
from search.results import MAX_PAGE, PER_PAGE, Hit, SearchPage

log = logging.getLogger("search.hybrid")

SIMILAR_POOL = 8  # candidates taken from each lexical list (each costs a snippet)
SEMANTIC_POOL = 15  # nearest neighbours considered for similar questions
SEARCH_POOL = 20  # nearest neighbours considered for a search's first page
BONUS_K = 5
SEARCH_ROUTE_WEIGHT = 0.12  # bonus of the lexical search's first hit (cosine similarities span about 0.2-1)
SIMILAR_ROUTE_WEIGHT = 0.12  # bonus of the lexical similar-question look-up's first hit
SEARCH_WEIGHT = 0.12  # bonus of a search's own first lexical hit
KEEP_SHARE = 3  # the lexical search's best limit // 3 keep a place among the first `limit`,
SEMANTIC_KEEP_SHARE = 2  # and the nearest limit // 2 (on PostgreSQL the lexical lists are weaker)
SIMILAR_MIN_COSINE = 0.2  # a neighbour less similar than this is no suggestion on its own
SEARCH_MIN_COSINE = 0.45  # nor an addition to a search's results (about where loosely related texts end)
MISSING_COSINE = 0.3  # for a lexical hit whose vector this process has not seen yet
QUERY_CACHE = 1024
_WORD = re.compile(r"\w+")


def plain_words(text: str, limit: int = 32) -> str:
    """The text's words as a query of plain words only (nothing the query language would read as
    an operator, a phrase or an OR)."""
    return " ".join(_WORD.findall((text or "").lower())[:limit])


def meaning_of(parsed: SearchQuery) -> str:
    """The plain words of a query: what its semantic neighbours are looked up by."""
    return " ".join(t.text for g in parsed.groups for t in g if not t.phrase and not t.field)


def _bonus(rank: int) -> float:
    return (BONUS_K + 1) / (BONUS_K + rank)


def fuse(cosine: dict[int, float], lexical: list[tuple[list[int], float]]) -> list[int]:
    """Candidates by cosine similarity plus, for each lexical list (ids, weight) they are on, weight
    * (K + 1) / (K + rank). `cosine` holds every candidate; ties keep the lower id first."""
    score = dict(cosine)
    for ranked, weight in lexical:
        for rank, qid in enumerate(ranked, start=1):
            score[qid] = score.get(qid, MISSING_COSINE) + weight * _bonus(rank)
    return sorted(score, key=lambda qid: (-score[qid], qid))


def keeping(order: list[int], kept: list[int], limit: int) -> list[int]:
    """`order` with the `kept` ids (those in it) among its first `limit`, everything else in order."""
    present = set(order)
    first = {qid for qid in kept if qid in present}
    for qid in order:
        if len(first) >= limit:
            break
        first.add(qid)
    return [qid for qid in order if qid in first] + [qid for qid in order if qid not in first]


class HybridBackend:
    def __init__(self, lexical: Any, embedder: Embedder, neighbours: NeighbourIndex | None = None,
                 follow: bool = True) -> None:
        """`follow=False`: the neighbour index was filled directly (tests, benchmarks) and is not
        brought up to date from the search_vector table before each look-up."""
        self.lexical = lexical
        self.name = lexical.name
        self.embedder = embedder
        self.neighbours = neighbours or NeighbourIndex()
        self.follow = follow
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

    async def among(self, raw: str, ids: list[int], unlisted: bool = False) -> list[Hit]:
        return await self.lexical.among(raw, ids, unlisted)

    # ----- the semantic side -----

    async def embed_query(self, text: str) -> np.ndarray:
        vector = self._cached(text)
        if vector is None:
            vector = await asyncio.to_thread(self.embedder.embed_one, text)
            self._remember(text, vector)
        return vector

    def _cached(self, text: str) -> np.ndarray | None:
        vector = self._queries.get(text)
        if vector is not None:
            self._queries.move_to_end(text)
        return vector

    def _remember(self, text: str, vector: np.ndarray) -> None:
        self._queries[text] = vector
        if len(self._queries) > QUERY_CACHE:
            self._queries.popitem(last=False)

    async def _start_neighbours(self, text: str, k: int) -> asyncio.Task[tuple[np.ndarray | None, list[tuple[int, float]]]]:
        """The query's vector and its k nearest questions, started on a worker thread before the
        lexical side runs: a Whoosh look-up holds the event loop (and the GIL) while ONNX Runtime
        and the neighbour product, which release the GIL, run beside it, so on two free cores the
        semantic side costs the look-up almost nothing. Started after the lexical work
        (asyncio.gather's order), it would wait for all of it. (None, []) when there is nothing to
        compare with."""
        if self.follow:
            await self.neighbours.follow()  # on the loop, before the thread reads the index
        task = asyncio.ensure_future(self._neighbours(text, k))
        await asyncio.sleep(0)  # the task runs up to its thread hand-off
        return task

    async def _neighbours(self, text: str, k: int) -> tuple[np.ndarray | None, list[tuple[int, float]]]:
        if not text.strip() or not len(self.neighbours):
            return None, []
        cached = self._cached(text)

        def work() -> tuple[np.ndarray, list[tuple[int, float]]]:
            vector = cached if cached is not None else self.embedder.embed_one(text)
            return vector, self.neighbours.search(vector, k)

        vector, found = await asyncio.to_thread(work)
        if cached is None:
            self._remember(text, vector)
        return vector, found

    def _cosines(self, vector: np.ndarray, found: list[tuple[int, float]], ids: list[int]) -> dict[int, float]:
        cosine = dict(found)
        for qid in ids:
            if qid not in cosine:
                other = self.neighbours.vector_of(qid)
                cosine[qid] = float(other @ vector) if other is not None else MISSING_COSINE
        return cosine

    # ----- similar questions -----

    async def similar(self, title: str, body: str = "", limit: int = 5) -> list[Hit]:
        title, body = title or "", body or ""
        pool = max(SIMILAR_POOL, limit)
        words = plain_words(title) or plain_words(body[:300])
        keep = getattr(self.lexical, "similar_search_words", None)  # the backend's cost/relevance trade
        if keep:
            rarest = getattr(self.lexical, "rarest_words", None)
            words = " ".join(rarest(words, keep) if rarest else
                             sorted(dict.fromkeys(words.split()), key=len, reverse=True)[:keep])
        query = vectors.text_of(ThreadDoc(0, title, body, "", [], "", None)) if title.strip() else body[:300]

        async def lexical() -> tuple[list[Hit], list[Hit]]:
            looked_up = await self.lexical.similar(title, body, pool)
            searched = (await self.lexical.search(words, 1, pool, snippets=False)).items if words else []
            return looked_up, searched

        nearest = await self._start_neighbours(query, max(SEMANTIC_POOL, limit + 1))
        (vector, found), (looked_up, searched) = await asyncio.gather(nearest, lexical())
        if vector is None:
            return await self.lexical.similar(title, body, limit)
        found = [(qid, sim) for qid, sim in found if sim >= SIMILAR_MIN_COSINE]
        # The look-up's hits come solved first; its relevance is the order it found them in.
        route = [h.question_id for h in sorted(looked_up, key=lambda h: -h.relevance)]
        ranked = [h.question_id for h in searched]
        cosine = self._cosines(vector, found, route + ranked)
        order = fuse(cosine, [(ranked, SEARCH_ROUTE_WEIGHT), (route, SIMILAR_ROUTE_WEIGHT)])
        order = keeping(order, ranked[:max(1, limit // KEEP_SHARE)]
                        + [qid for qid, _ in found[:max(1, limit // SEMANTIC_KEEP_SHARE)]], limit)
        hits = {h.question_id: h for h in searched}
        hits.update({h.question_id: h for h in looked_up})  # their marks are the look-up's words
        for window in (order[:limit], order[limit:limit * 3]):  # the second when one has left the index
            if sum(qid in hits for qid in order[:limit]) >= limit:
                break
            missing = [qid for qid in window if qid not in hits]
            if missing:  # semantic-only: they share no words worth marking in a snippet
                hits.update({h.question_id: h for h in await self.lexical.among("", missing)})
        chosen = [hits[qid] for qid in order if qid in hits][:limit]
        chosen.sort(key=lambda h: h.state != "solved")  # stable: solved first, fused order kept within
        return chosen

    # ----- search -----

    async def search(self, raw: str, page: int = 1, per_page: int = PER_PAGE, snippets: bool = True) -> SearchPage:
        """Plain words: the lexical first page fused with the words' neighbours that pass the
        query's operators and filters; then the lexical pages after it, shifted by what was added.
        Operators alone, or answers only (is:answer), stay lexical."""
        page = min(max(int(page), 1), MAX_PAGE)
        parsed = parse(raw)
        meaning = meaning_of(parsed)
        if not meaning or parsed.scope == "answer":
            return await self.lexical.search(raw, page, per_page)
        nearest = await self._start_neighbours(meaning, max(SEARCH_POOL, per_page))
        (vector, found), first = await asyncio.gather(nearest, self.lexical.search(raw, 1, per_page))
        lexical = [h.question_id for h in first.items]
        shown = set(lexical)
        candidates = [qid for qid, sim in found if sim >= SEARCH_MIN_COSINE and qid not in shown]
        # A full first page may be followed by more lexical pages: only what the search never
        # lists may join it, or a later page would list it again.
        extras = (await self.lexical.among(raw, candidates, len(lexical) >= per_page))[:per_page] if candidates else []
        if vector is None or not (extras or page == 1):
            return first if page == 1 else await self.lexical.search(raw, page, per_page)
        cosine = self._cosines(vector, found, lexical)
        order = fuse({qid: cosine[qid] for qid in lexical + [h.question_id for h in extras]},
                     [(lexical, SEARCH_WEIGHT)])
        keep = max(1, per_page // KEEP_SHARE)
        order = keeping(order, lexical[:keep] + [h.question_id for h in extras[:keep]], per_page)
        hits = {h.question_id: h for h in first.items + extras}
        head = [hits[qid] for qid in order]
        out = SearchPage(items=[], total=first.total + len(extras), total_exact=first.total_exact, page=page,
                         per_page=per_page, hints=list(first.hints), suggestion=first.suggestion)
        start, end = (page - 1) * per_page, page * per_page
        out.items = head[start:end]
        if len(lexical) >= per_page and end > len(head):
            # The rest comes from the lexical pages: position i after the head is the lexical
            # search's position per_page + i.
            rest = await self._lexical_range(raw, per_page + max(0, start - len(head)), per_page + end - len(head),
                                             per_page)
            out.items += rest.items
            out.total, out.total_exact = max(out.total, rest.total + len(extras)), rest.total_exact
        return out

    async def _lexical_range(self, raw: str, start: int, end: int, per_page: int) -> SearchPage:
        """The lexical search's hits at positions [start, end) (at most two of its pages)."""
        items: list[Hit] = []
        last = None
        for number in range(start // per_page + 1, min((end - 1) // per_page + 1, MAX_PAGE) + 1):
            last = await self.lexical.search(raw, number, per_page)
            offset = (number - 1) * per_page
            items += [h for i, h in enumerate(last.items, start=offset) if start <= i < end]
        if last is None:
            return SearchPage(items=[], total=0, total_exact=False, per_page=per_page)
        # A new page: the lexical one is cached by the Whoosh index and must stay as it is.
        return SearchPage(items=items, total=last.total, total_exact=last.total_exact, per_page=per_page)
