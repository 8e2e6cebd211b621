"""Relevance on real data: Stack Exchange duplicate pairs (PostLinks LinkTypeId=3).

Searching a duplicate's title should bring up the original among the first five results (the
duplicate's own thread does not count). The figure for merely linked pairs is printed for the
benchmark doc; it is not asserted (linked questions are often only loosely related).

Hybrid retrieval (search/hybrid.py) is measured the way the ask page uses it: similar questions for
the duplicate's title alone, asked for six so that the duplicate's own thread can be left out. The
test prints lexical, semantic and hybrid side by side, per site (docs/benchmarks.md keeps them).
"""

from __future__ import annotations

import numpy as np
import pytest

from community import db
from search import index as whoosh_index
from search.backend import WhooshBackend
from search.corpus import SITE_ID_STRIDE, link_pairs, read_all
from search.embedding import shared
from search.hybrid import HybridBackend, plain_words
from search.neighbours import NeighbourIndex
from search.vectors import text_of
from tests.conftest import require_datasets

# The issue asks for 80%. On these four sites (21 duplicate pairs, mostly meta discussions whose
# duplicates share few words with their originals) the best lexical ranking found reaches about
# 52% on titles alone; see docs/benchmarks.md. The floor guards against regressions.
DUPLICATE_FLOOR = 0.45
HYBRID_FLOOR = 0.6  # similar questions for a duplicate's title, hybrid (lexical: 29-48%)
# PostgreSQL's lexical lists rank these originals lower (ts_rank weighs every word of an OR alike,
# the site's name as much as a rare word): searching every word of the title, fusion reached 12 of
# the 21 pairs there; the title's 5 longest words reach 13, as Whoosh does.
POSTGRES_HYBRID_FLOOR = HYBRID_FLOOR
SITES = (1, 2, 3, 4)  # bicycles.meta, cardano, conlang.meta, french.meta (sorted by folder name)


@pytest.fixture(scope="module")
def corpus():
    docs, links = read_all(require_datasets())
    return docs, links


@pytest.fixture(scope="module")
def lexical(tmp_path_factory, corpus):
    directory = tmp_path_factory.mktemp("relevance")
    backend = WhooshBackend(directory)
    backend.index.rebuild([corpus[0]])
    yield backend
    whoosh_index.forget(directory)


@pytest.fixture(scope="module")
def real_index(lexical, corpus):
    docs, links = corpus
    return lexical.index, {d.question_id: d for d in docs}, links


@pytest.fixture(scope="module")
def title_vectors(corpus) -> dict[int, np.ndarray]:
    """Every question's vector, from the text the indexer embeds (search.vectors.text_of)."""
    docs = corpus[0]
    return dict(zip([d.question_id for d in docs], shared().embed([text_of(d) for d in docs])))


def neighbour_index(title_vectors: dict[int, np.ndarray]) -> NeighbourIndex:
    index = NeighbourIndex()
    for qid, vector in title_vectors.items():
        index.put(qid, vector)
    return index


class Tally:
    """Pairs whose original was found, per site."""

    def __init__(self) -> None:
        self.found: dict[int, int] = dict.fromkeys(SITES, 0)
        self.pairs: dict[int, int] = dict.fromkeys(SITES, 0)

    def add(self, duplicate: int, found: bool) -> None:
        site = duplicate // SITE_ID_STRIDE
        self.pairs[site] = self.pairs.get(site, 0) + 1
        self.found[site] = self.found.get(site, 0) + int(found)

    @property
    def rate(self) -> float:
        return sum(self.found.values()) / max(1, sum(self.pairs.values()))

    def __str__(self) -> str:
        per_site = " ".join(f"{self.found[s]}/{self.pairs[s]}" for s in sorted(self.pairs))
        return f"{sum(self.found.values()):>3}/{sum(self.pairs.values()):<3} {self.rate:6.1%}  ({per_site})"


def in_top5(original: int, duplicate: int, ids: list[int]) -> bool:
    return original in [qid for qid in ids if qid != duplicate][:5]


async def measure(hybrid: HybridBackend, by_id, links, kinds=(3, 1)) -> dict[tuple[str, int], Tally]:
    """Per route and link kind: is the original among the first five for the duplicate's title?"""
    tallies: dict[tuple[str, int], Tally] = {}
    for kind in kinds:
        for duplicate, original in link_pairs(links, by_id, kind):
            title = by_id[duplicate].title
            vector = await hybrid.embed_query(title)
            routes = {
                "lexical similar": [h.question_id for h in await hybrid.lexical.similar(title, "", 6)],
                "semantic": [qid for qid, _ in hybrid.neighbours.search(vector, 6)],
                "hybrid similar": [h.question_id for h in await hybrid.similar(title, "", 6)],
            }
            if kind == 3:  # the search page's figures, and similar questions with the start of the body
                words = plain_words(title)
                routes["lexical search"] = [h.question_id for h in (await hybrid.lexical.search(words, 1, 10)).items]
                routes["hybrid search"] = [h.question_id for h in (await hybrid.search(words, 1, 10)).items]
                body = by_id[duplicate].body[:1000]
                routes["lexical similar +body"] = [h.question_id for h in await hybrid.lexical.similar(title, body, 6)]
                routes["hybrid similar +body"] = [h.question_id for h in await hybrid.similar(title, body, 6)]
            for route, ids in routes.items():
                tallies.setdefault((route, kind), Tally()).add(duplicate, in_top5(original, duplicate, ids))
    return tallies


def report(name: str, tallies: dict[tuple[str, int], Tally]) -> None:
    print(f"\n{name}: original in the first five (sites {', '.join(map(str, SITES))})")
    print(f"{'route':24} {'duplicates':32} linked")
    for route in dict.fromkeys(r for r, _ in tallies):
        print(f"{route:24} {str(tallies[(route, 3)]):32} {tallies.get((route, 1), '')}")


def top5_rate(ix, by_id, links, kind: int) -> tuple[float, int]:
    pairs = link_pairs(links, by_id, kind)
    found = 0
    for duplicate, original in pairs:
        hits = [h.question_id for h in ix.search(by_id[duplicate].title, 1, 10).items if h.question_id != duplicate]
        found += original in hits[:5]
    return found / len(pairs), len(pairs)


def test_duplicate_titles_find_their_originals(real_index):
    ix, by_id, links = real_index
    rate, pairs = top5_rate(ix, by_id, links, 3)
    linked, linked_pairs = top5_rate(ix, by_id, links, 1)
    print(f"\nduplicates: {rate:.1%} of {pairs} pairs in the top 5; linked: {linked:.1%} of {linked_pairs} pairs")
    assert pairs >= 20
    assert rate >= DUPLICATE_FLOOR


def test_every_question_is_found_by_its_own_title(real_index):
    ix, by_id, _ = real_index
    sample = sorted(by_id)[::40]
    missing = [qid for qid in sample if qid not in [h.question_id for h in ix.search(by_id[qid].title, 1, 10).items]]
    assert len(missing) <= len(sample) // 20, missing


async def test_hybrid_similar_questions_find_the_originals_of_duplicates(lexical, corpus, title_vectors):
    """Similar questions for a duplicate's title alone, as the ask page asks for them: the original
    among the first five for at least 60% of the duplicate pairs, fusion never below either side
    on any site (French meta excepted on the lexical search's side: the model is English only)."""
    docs, links = corpus
    by_id = {d.question_id: d for d in docs}
    hybrid = HybridBackend(lexical, shared(), neighbour_index(title_vectors), follow=False)
    tallies = await measure(hybrid, by_id, links)
    report("whoosh", tallies)
    duplicates = tallies[("hybrid similar", 3)]
    assert sum(duplicates.pairs.values()) >= 20
    assert duplicates.rate >= HYBRID_FLOOR
    for site in SITES:  # fusion keeps what the semantic side and today's lexical look-up find
        assert duplicates.found[site] >= tallies[("semantic", 3)].found[site]
        assert duplicates.found[site] >= tallies[("lexical similar", 3)].found[site]
    linked = tallies[("hybrid similar", 1)].rate
    assert linked > max(tallies[("semantic", 1)].rate, tallies[("lexical similar", 1)].rate)
    assert tallies[("hybrid search", 3)].rate > tallies[("lexical search", 3)].rate


async def test_duplicate_titles_on_postgres_full_text(database, corpus, title_vectors, monkeypatch):
    """The same check on SEARCH_BACKEND=postgres (runs when the suite runs on PostgreSQL), with the
    similar-question look-up choosing its candidates by the title's rarer words as it does at a
    million threads: the budget scaled to these threads (5,000 of a million: 9 of 1,823)."""
    from search import postgres
    from search.postgres import PostgresBackend
    from tests.conftest import PG_URL

    if not PG_URL:
        pytest.skip("PostgreSQL full-text search runs when the suite runs on PostgreSQL (TEST_DATABASE_URL)")
    docs, links = corpus
    backend = PostgresBackend()
    await backend.apply(docs, [])
    await db.execute("ANALYZE search_document", [])  # as autovacuum would: the look-ups read its statistics
    monkeypatch.setattr(postgres, "SIMILAR_BUDGET", max(1, round(postgres.SIMILAR_BUDGET * len(docs) / 1_000_000)))
    by_id = {d.question_id: d for d in docs}
    hybrid = HybridBackend(backend, shared(), neighbour_index(title_vectors), follow=False)
    tallies = await measure(hybrid, by_id, links)
    report("postgres", tallies)
    assert tallies[("hybrid similar", 3)].rate >= POSTGRES_HYBRID_FLOOR
    for site in SITES:
        assert tallies[("hybrid similar", 3)].found[site] >= tallies[("semantic", 3)].found[site]
    rates = {}
    for kind in (3, 1):
        pairs = link_pairs(links, by_id, kind)
        found = 0
        for duplicate, original in pairs:
            page = await backend.search(by_id[duplicate].title, 1)
            found += original in [h.question_id for h in page.items if h.question_id != duplicate][:5]
        rates[kind] = found / len(pairs)
    print(f"\npostgres: duplicates {rates[3]:.1%}, linked {rates[1]:.1%} in the top 5")
    assert rates[3] >= 0.3
