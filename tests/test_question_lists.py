"""Question lists and tag pages page through every question once, in order (community/question_lists.py).
Ties in the sort key are broken by id, forwards and backwards. A tag page reads `post_tag` alone, whose
copy of each question's sort keys follows every change to the question (migration 0016's triggers)."""

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
async def test_pages_cover_the_list_in_order_forwards_and_backwards(database, users, fake_clock, sort, tag):
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


async def _keys_out_of_step() -> list[Any]:
    """post_tag rows whose copy of the question's keys differs from the question's own."""
    rows = await db.fetch("SELECT pt.post_id, pt.tag_id, pt.created_at, pt.last_activity_at, pt.score, pt.state, pt.listed, "
                          "p.created_at AS p_created_at, p.last_activity_at AS p_last_activity_at, p.score AS p_score, "
                          "p.state AS p_state, p.deleted_at, p.hidden FROM post_tag pt JOIN post p ON p.id = pt.post_id")
    assert rows
    return [r for r in rows if (r["created_at"], r["last_activity_at"], r["score"], r["state"], bool(r["listed"]))
            != (r["p_created_at"], r["p_last_activity_at"], r["p_score"], r["p_state"], r["deleted_at"] is None and not r["hidden"])]


async def test_post_tag_follows_each_change_to_its_question(database, users, fake_clock):
    from community import acceptance, voting

    asker, helper = await users("asker", 5000), await users("helper", 5000)
    voter = await users("voter", 5000)
    q = await questions.ask(asker, "Roaming charges in Spain after the update", "A body that is long enough to post.", ["roaming", "spain"])
    assert not await _keys_out_of_step()
    await voting.vote(voter, q.id, 1)  # score
    fake_clock.advance(minutes=5)
    a = await questions.answer(helper, q.id, "Turn data roaming on in the settings, then restart.")  # state, activity
    assert not await _keys_out_of_step()
    await acceptance.accept(asker, q.id, a.id)  # solved
    await questions.edit(asker, q.id, tags="roaming eu-travel")  # a new post_tag row, filled in on insert
    rows = await db.fetch("SELECT t.name, pt.score, pt.state FROM post_tag pt JOIN tag t ON t.id = pt.tag_id ORDER BY t.name")
    assert [(r["name"], r["score"], r["state"]) for r in rows] == [("eu-travel", 1, "solved"), ("roaming", 1, "solved")]
    assert not await _keys_out_of_step()

    await db.execute("UPDATE post SET hidden = ? WHERE id = ?", [True, q.id])
    assert await questions.list_questions("newest", "roaming") == ([], None)
    await db.execute("UPDATE post SET hidden = ? WHERE id = ?", [False, q.id])
    assert [p.id for p in (await questions.list_questions("votes", "eu-travel"))[0]] == [q.id]
    await db.execute("UPDATE post SET deleted_at = ? WHERE id = ?", [fake_clock.now(), q.id])
    assert await questions.list_questions("active", "eu-travel") == ([], None)
    assert not await _keys_out_of_step()


async def test_a_tag_page_is_a_range_of_post_tag(database, users, fake_clock, monkeypatch):
    await _ask_many(users, fake_clock)
    assert not await _keys_out_of_step()
    seen: list[str] = []
    real_fetch = db.fetch

    async def fetch(sql: str, values: Any = None, conn: Any = None) -> Any:
        seen.append(sql)
        return await real_fetch(sql, values, conn)

    monkeypatch.setattr(db, "fetch", fetch)
    for tag in ("common", "rare"):
        seen.clear()
        await questions.list_questions("votes", tag, None, limit=LIMIT)
        page = [s for s in seen if "ORDER BY" in s]
        assert len(page) == 1 and "FROM post_tag pt WHERE pt.tag_id = ?" in page[0] and "ORDER BY pt.score DESC" in page[0]
    seen.clear()
    rows, cursor = await questions.list_questions("newest", "no-such-tag", None, limit=LIMIT)
    assert (rows, cursor) == ([], None)
