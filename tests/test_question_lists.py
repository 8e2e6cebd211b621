"""Question lists and tag pages page through every question once, in order, with either shape of a tag
page (community/question_lists.py): a common tag walks the sort's index and probes post_tag, a rare
tag reads its post_tag rows first. Ties in the sort key are broken by id, forwards and backwards."""

from __future__ import annotations

from typing import Any

import pytest

from community import db, question_lists, questions

LIMIT = 4


async def _ask_many(users: Any, fake_clock: Any) -> list[int]:
    author = await users("asker", 5000)
    ids = []
    for n in range(30):
        tags = ["common"] + (["rare"] if n % 5 == 0 else [])
        q = await questions.ask(author, f"Question number {n:02d} about roaming", "A body that is long enough to post.", tags)
        ids.append(q.id)
        if n % 3:
            fake_clock.advance(minutes=1)  # every third question shares its creation time with the one before
    for i, qid in enumerate(ids):  # scores with ties; states of every kind; one hidden, one deleted
        state = ("unanswered", "answered", "solved")[i % 3]
        await db.execute("UPDATE post SET score = ?, state = ?, last_activity_at = created_at WHERE id = ?", [i % 4, state, qid])
    await db.execute("UPDATE post SET hidden = ? WHERE id = ?", [True, ids[7]])
    await db.execute("UPDATE post SET deleted_at = created_at WHERE id = ?", [ids[11]])
    return ids


async def _expected(sort: str, tag: str | None) -> list[int]:
    key = question_lists.SORT_FIELDS[sort]
    condition = {"unanswered": " AND p.state = 'unanswered'", "unsolved": " AND p.state <> 'solved'"}.get(sort, "")
    if tag:
        condition += " AND p.id IN (SELECT pt.post_id FROM post_tag pt JOIN tag t ON t.id = pt.tag_id WHERE t.name = ?)"
    rows = await db.fetch(f"SELECT p.id, p.{key} AS v FROM post p WHERE p.kind = 'question' AND p.deleted_at IS NULL "
                          f"AND p.hidden = ?{condition}", [False] + ([tag] if tag else []))
    return [r["id"] for r in sorted(rows, key=lambda r: (str(r["v"]) if key != "score" else r["v"], r["id"]), reverse=True)]


@pytest.mark.parametrize("tag", [None, "common", "rare"])
@pytest.mark.parametrize("sort", questions.SORTS)
async def test_pages_cover_the_list_in_order_forwards_and_backwards(database, users, fake_clock, monkeypatch, sort, tag):
    monkeypatch.setattr(question_lists, "_counted", None)
    await _ask_many(users, fake_clock)
    expected = await _expected(sort, tag)
    assert len(expected) >= (2 if tag == "rare" else 8), expected

    seen: list[int] = []
    pages: list[tuple[str | None, list[int]]] = []
    cursor = None
    while True:
        rows, next_cursor = await questions.list_questions(sort, tag, cursor, limit=LIMIT)
        pages.append((cursor, [q.id for q in rows]))
        seen += [q.id for q in rows]
        if not next_cursor:
            break
        cursor = next_cursor
    assert seen == expected

    # From each page, the page before it is the one actually seen before it.
    for i, (cursor, ids) in enumerate(pages[1:], start=1):
        first = (await questions.list_questions(sort, tag, cursor, limit=LIMIT))[0][0]
        assert first.id == ids[0]
        before = await questions.previous_cursor(sort, tag, first, limit=LIMIT)
        want = pages[i - 1][0]
        assert (before or None) == want, (i, before, want)


async def test_a_common_tag_walks_the_index_and_a_rare_one_reads_its_rows(database, users, fake_clock, monkeypatch):
    monkeypatch.setattr(question_lists, "_counted", None)
    await _ask_many(users, fake_clock)
    seen: list[str] = []
    real_fetch = db.fetch

    async def fetch(sql: str, values: Any = None, conn: Any = None) -> Any:
        seen.append(sql)
        return await real_fetch(sql, values, conn)

    monkeypatch.setattr(db, "fetch", fetch)
    threshold = await question_lists.common_tag_threshold(LIMIT + 1)  # sqrt(5 x 29 questions listed or not)
    assert 5 < threshold < 25
    await questions.list_questions("votes", "common", None, limit=LIMIT)  # 28 questions
    assert any("EXISTS (SELECT 1 FROM post_tag" in s for s in seen)
    seen.clear()
    await questions.list_questions("votes", "rare", None, limit=LIMIT)  # 6 questions
    assert any("WITH tagged AS MATERIALIZED" in s for s in seen) and not any("EXISTS" in s for s in seen)
    seen.clear()
    rows, cursor = await questions.list_questions("newest", "no-such-tag", None, limit=LIMIT)
    assert (rows, cursor) == ([], None)
