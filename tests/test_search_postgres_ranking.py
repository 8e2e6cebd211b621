"""SEARCH_BACKEND=postgres ranks few rows whatever a query matches (issue 17, search/postgres.py).

The paths for queries of common words (the title tier, titles with two of the words first) only
start past thousands of estimated matches; these tests lower EXACT_UPTO so that a few threads take
them, and check what a reader sees: title matches first, later pages continuing without repeats,
"some of your words" with the titles holding most of them first, and similar questions identical
to ranking every title. Runs when the suite runs on PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from community import db
from search import postgres
from search.documents import ThreadDoc
from search.postgres import PostgresBackend
from search.query import parse
from tests.conftest import PG_URL

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
async def backend(database) -> PostgresBackend:
    if not PG_URL:
        pytest.skip("PostgreSQL full-text search runs when the suite runs on PostgreSQL (TEST_DATABASE_URL)")
    docs = []
    # 1-6: "roaming" in the title; 7-30: only in the body, next to "spain" again and again (a high
    # full-text rank for "roaming spain" that the title tier must not let through first).
    for i in range(1, 7):
        docs.append(ThreadDoc(i, f"Roaming question number {i} about the network abroad", "Some text about a trip.",
                              "", ["roaming"], "alice", 1, created_at=START + timedelta(days=i)))
    for i in range(7, 31):
        docs.append(ThreadDoc(i, f"Travel question {i}", "roaming spain " * 8 + "and a refund",
                              "roaming spain works for me", ["travel"], "bob", 2, created_at=START + timedelta(days=i)))
    # 31-80: titles for similar questions, with five words or one of one title (25 of each).
    for i in range(31, 81):
        title = "Refund for data bundle charged twice" if i % 2 else "Refund request pending for weeks"
        docs.append(ThreadDoc(i, title, "Body of a billing thread.", "", ["billing"], "carol", 3,
                              created_at=START + timedelta(days=i)))
    b = PostgresBackend()
    await b.apply(docs, [])
    return b


async def analyze() -> None:
    await db.execute("ANALYZE search_document", [])


async def test_matches_are_estimated_from_the_statistics(backend) -> None:
    assert await backend._estimates(parse("roaming")) == (0.0, 0.0)  # no statistics yet: rank in full
    await analyze()
    every, anything = await backend._estimates(parse("roaming spain"))
    assert 15 <= anything <= 60 and 5 <= every <= anything
    # 24 threads hold both (7-30); their shares multiplied (30 and 24 of 80) say 9: words of one
    # thread go together, so the estimate is taken halfway to the rarer word's 24 (about 15).
    assert 12 <= every <= 24
    assert await backend._estimates(parse("the of")) == (0.0, 0.0)  # stop words only


async def test_common_words_list_the_title_tier_first_and_page_on(backend, monkeypatch) -> None:
    await analyze()
    exact = await backend.search("roaming", 1)
    assert exact.total == 30 and exact.total_exact
    monkeypatch.setattr(postgres, "EXACT_UPTO", 5)
    first = await backend.search("roaming", 1)
    assert sorted(h.question_id for h in first.items[:6]) == [1, 2, 3, 4, 5, 6]
    # Titles gave fewer than a page, so every match was ranked: the total is exact all the same.
    assert first.total == 30 and first.total_exact
    # Titles that fill the page leave the rest uncounted: "1000+".
    short = await backend.search("roaming", 1, per_page=5)
    assert len(short.items) == 5 and {h.question_id for h in short.items} <= {1, 2, 3, 4, 5, 6}
    assert not short.total_exact and short.total >= 30
    second = await backend.search("roaming", 2)
    third = await backend.search("roaming", 3)
    listed = [h.question_id for page in (first, second, third) for h in page.items]
    assert sorted(listed) == list(range(1, 31))  # every match once, the body-only ones after the titles
    # Operators still apply on the title tier and after it.
    assert {h.question_id for h in (await backend.search("roaming [travel]", 1)).items} <= set(range(7, 31))


async def test_some_of_your_words_take_titles_with_most_of_them_first(backend, monkeypatch) -> None:
    await analyze()
    monkeypatch.setattr(postgres, "EXACT_UPTO", 5)
    page = await backend.search("refund bundle pending", 1)
    assert page.hint and "some of them" in page.hint
    assert len(page.items) == 10
    assert all(h.title.startswith("Refund") for h in page.items)


async def test_similar_questions_are_the_same_as_ranking_every_title(backend, monkeypatch) -> None:
    title = "Why was my data bundle refund charged twice"
    paired = [h.question_id for h in await backend.similar(title, "", 5)]
    monkeypatch.setattr(PostgresBackend, "_pairs", staticmethod(lambda exprs, values: ("NULL::tsquery", [])))
    every = [h.question_id for h in await backend.similar(title, "", 5)]
    assert paired == every
    assert all(qid % 2 for qid in paired)  # the titles with more of the words


async def test_similar_questions_leave_out_the_commonest_title_words(backend, monkeypatch) -> None:
    title, body = "Roaming refund for my data bundle".split(), ["spain", "refund", "the"]
    await analyze()
    # In titles: roaming 6 of 80, data and bundle 25, refund 50; "for" and "my" are stop words.
    assert await backend._key_words(title, body) == (["Roaming", "refund", "data", "bundle"], ["spain", "refund"])
    monkeypatch.setattr(postgres, "SIMILAR_BUDGET", 40)
    # The rarest first until their titles pass 40: roaming (6) and data (25); bundle would make 56.
    assert await backend._key_words(title, body) == (["Roaming", "data"], ["spain"])
    monkeypatch.setattr(postgres, "SIMILAR_BUDGET", 1)
    assert await backend._key_words(title, body) == (["Roaming", "data"], [])  # the 2 rarest at least
    # A title of stop words only: the body's 2 rarest instead.
    assert await backend._key_words(["How", "do", "I"], ["refund", "bundle", "roaming"]) == ([], ["bundle", "roaming"])
    hits = await backend.similar("Roaming refund for my data bundle", "", 5)
    assert [h.question_id for h in hits][:5] and all(h.question_id <= 6 or "data" in h.title.lower() for h in hits)


async def _titles_out_of_step() -> list[dict]:
    """Documents whose narrow title copy (search_title) is missing, left over or different."""
    return await db.fetch(
        "SELECT question_id, d.question_id IS NULL AS left_over, t.question_id IS NULL AS missing"
        " FROM search_document AS d FULL JOIN search_title AS t USING (question_id)"
        " WHERE d.question_id IS NULL OR t.question_id IS NULL OR t.quality <> d.quality OR t.title_tsv <> d.title_tsv", [])


async def test_titles_are_kept_in_a_narrow_copy_in_step(backend) -> None:
    rows = await db.fetch("SELECT count(*) AS n FROM search_title", [])
    assert rows[0]["n"] == 80 and await _titles_out_of_step() == []
    # Re-indexed with a new title and quality, removed, and the same document again unchanged.
    renamed = ThreadDoc(1, "Porting my number to a new network", "Body.", "", ["porting"], "alice", 1,
                        state="solved", created_at=START)
    retitled = ThreadDoc(3, "Unlocking a handset", "Some text about a trip.", "", ["roaming"], "alice", 1,
                         created_at=START)  # the title alone changes (the same quality)
    await backend.apply([renamed, retitled], [2])
    await backend.apply([renamed], [])
    assert await _titles_out_of_step() == []
    kept = await db.fetch("SELECT question_id, quality, title_tsv::text AS t FROM search_title"
                          " WHERE question_id IN (1, 2, 3) ORDER BY question_id", [])
    assert [(r["question_id"], r["quality"]) for r in kept] == [(1, 1.25), (3, 1.0)]
    assert "'port'" in kept[0]["t"] and "'unlock'" in kept[1]["t"]

    async def batches():
        yield [renamed, ThreadDoc(5, "Roaming again", "Body.", "", [], "alice", 1, created_at=START)]

    assert await backend.rebuild(batches()) == 2
    assert await _titles_out_of_step() == []
    rows = await db.fetch("SELECT question_id FROM search_title ORDER BY question_id", [])
    assert [r["question_id"] for r in rows] == [1, 5]


async def test_the_title_tier_reads_the_narrow_copy_unless_a_filter_needs_the_document(backend) -> None:
    # Take thread 1 out of the narrow copy only: a plain query's title tier no longer finds it, a
    # query with a tag filter (a column only search_document has) still does.
    await db.execute("DELETE FROM search_title WHERE question_id = 1", [])
    plain = [r["question_id"] for r in await backend._titles_first(parse("roaming"), False, 50)]
    assert sorted(plain) == [2, 3, 4, 5, 6]
    filtered = [r["question_id"] for r in await backend._titles_first(parse("roaming [roaming]"), False, 50)]
    assert sorted(filtered) == [1, 2, 3, 4, 5, 6]
    similar = [h.question_id for h in await backend.similar("Roaming question about the network", "", 5)]
    assert 1 not in similar and len(similar) == 5
