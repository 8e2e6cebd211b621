"""Kept thread pages are thrown away per thread (community/page_changes.py): a write to one question
leaves every other thread's kept page in place, unless it changed a member shown there (a vote moves
the author's reputation beside their posts everywhere) or said nothing of what it changed (then every
page goes, as before). Another worker's writes are followed the same way, on SQLite at once and on
PostgreSQL within PageCache.RECHECK_SECONDS."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from community import db, page_changes, questions, slugs, voting, web
from community.config import Config
from community.models import Post, User
from community.page_changes import Changes
from tests.conftest import login


@pytest.fixture
def cached_app(tmp_path: Path, database_url: str, database: str):
    from community.app import create_app

    web.page_cache.clear()
    config = Config(var_dir=tmp_path / "var", database_url=database_url, secret_key="test-secret",
                    index_dir=tmp_path / "index", demo_data=False, page_cache=True, run_indexer=False, run_sweeper=False)
    yield create_app(config, manage_db=False, background=False)
    web.page_cache.clear()


@pytest.fixture
async def anon(cached_app) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=cached_app), base_url="http://test") as c:
        yield c


@pytest.fixture
async def member(cached_app) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=cached_app), base_url="http://test") as c:
        yield c


async def _two_threads(users) -> tuple[Post, Post, Post, Post]:
    """Two questions; the same member (helper) answers both."""
    asker = await users("asker", 50)
    helper = await users("helper", 60)
    a = await questions.ask(asker, "Roaming data stopped in Spain yesterday", "I have the roaming add-on but no data.", "roaming")
    b = await questions.ask(asker, "Voicemail greeting resets after a restart", "Every restart it goes back to default.", "voicemail")
    answer_a = await questions.answer(helper, a.id, "Turn data roaming on in the phone's mobile network settings.")
    answer_b = await questions.answer(helper, b.id, "Record the greeting again after the latest update.")
    return a, b, answer_a, answer_b


async def _hit(client: httpx.AsyncClient, q: Post) -> tuple[bool, str]:
    page = await client.get(slugs.question_path(q))
    assert page.status_code == 200
    return page.headers.get("x-cache") == "hit", page.text


async def _kept(client: httpx.AsyncClient, *threads: Post) -> None:
    for q in threads:
        await _hit(client, q)
        assert (await _hit(client, q))[0], f"question {q.id} was not kept"


async def test_a_comment_on_one_thread_keeps_the_other_threads_page(anon, users):
    a, b, answer_a, _ = await _two_threads(users)
    commenter = await users("carol", 60)
    await _kept(anon, a, b)

    await questions.comment(commenter, answer_a.id, "This fixed it for me in Portugal too.")
    hit, text = await _hit(anon, a)
    assert not hit and "This fixed it for me in Portugal too." in text
    assert (await _hit(anon, b))[0]  # carol shows nowhere on b: its page stays


async def test_a_vote_throws_away_the_pages_where_the_authors_reputation_shows(anon, users):
    a, b, answer_a, _ = await _two_threads(users)
    other = await questions.ask(await users("dave", 60), "Bill shows a charge twice", "Two lines for one top-up.", "billing")
    voter = await users("voter", 200)
    await _kept(anon, a, b, other)
    before = (await User.get(username="helper")).reputation

    await voting.vote(voter, answer_a.id, 1)
    after = (await User.get(username="helper")).reputation
    assert after > before
    hit, text = await _hit(anon, a)
    assert not hit and re.search(rf'data-post="{answer_a.id}">\s*<span class="score" aria-label="score">1</span>', text)
    hit, text = await _hit(anon, b)  # helper answered b too: their reputation there is the new one
    assert not hit and f'<span class="rep">{after}</span>' in text and f'<span class="rep">{before}</span>' not in text
    assert (await _hit(anon, other))[0]  # neither helper nor the voter shows on dave's question


async def test_a_write_that_does_not_say_what_it_changed_throws_away_every_page(anon, users):
    a, b, _, _ = await _two_threads(users)
    await _kept(anon, a, b)
    b.title = "Voicemail greeting resets after every restart"
    await Post.filter(id=b.id).update(title=b.title)
    await questions.bump_generation()
    assert not (await _hit(anon, a))[0]
    hit, text = await _hit(anon, b)
    assert not hit and "Voicemail greeting resets after every restart" in text


async def test_the_writer_sees_their_answer_at_once_and_lists_still_follow_every_write(anon, member, users):
    a, b, _, _ = await _two_threads(users)
    await users("carol", 60)
    await anon.get("/")
    assert (await anon.get("/")).headers.get("x-cache") == "hit"
    await _kept(anon, a, b)

    csrf = await login(member, "carol")
    r = await member.post(f"/questions/{b.id}/answers", data={"body": "Turn off visual voicemail, then record it.", "csrf_token": csrf})
    assert r.status_code == 303
    assert "Turn off visual voicemail, then record it." in (await member.get(slugs.question_path(b))).text
    assert "Turn off visual voicemail, then record it." in (await _hit(anon, b))[1]
    assert (await _hit(anon, a))[0]
    assert "x-cache" not in (await anon.get("/")).headers  # the list shows b's new answer count


async def _other_workers_comment(answer: Post, author: User, text: str) -> None:
    """What another worker's comment looks like here: its row and its scoped bump are in the
    database, but this process's own write counter does not move."""
    from community.models import Comment
    from community import clock

    await Comment.create(post_id=answer.id, author_id=author.id, body=text, body_html=f"<p>{text}</p>", created_at=clock.now())
    await page_changes.record(answer.question_id, [author.id])


async def test_another_workers_write_is_followed_per_thread(anon, users, monkeypatch):
    a, b, answer_a, _ = await _two_threads(users)
    carol = await users("carol", 60)
    await _kept(anon, a, b)
    await _other_workers_comment(answer_a, carol, "Same here on a Pixel.")
    if web.page_cache._reader is None:  # PostgreSQL: an anonymous hit re-reads the generation every RECHECK_SECONDS
        monkeypatch.setattr(web.page_cache, "RECHECK_SECONDS", 0)
    hit, text = await _hit(anon, a)
    assert not hit and "Same here on a Pixel." in text
    assert (await _hit(anon, b))[0]


async def test_a_generation_bumped_without_rows_counts_as_everything(anon, users, monkeypatch):
    a, b, answer_a, _ = await _two_threads(users)
    await _kept(anon, a, b)
    await db.execute("UPDATE post SET score = 41 WHERE id = ?", [answer_a.id])
    await db.execute("UPDATE content_generation SET value = value + 1 WHERE id = 1")  # no content_change row
    monkeypatch.setattr(web.page_cache, "RECHECK_SECONDS", 0)
    hit, text = await _hit(anon, a)
    assert not hit and 'aria-label="score">41</span>' in text
    assert not (await _hit(anon, b))[0]


def test_changes_take_a_gap_or_an_unscoped_row_as_everything():
    changes = Changes()
    changes.learn(10, [])
    scope = (7, frozenset({3, 4}))
    assert changes.unchanged(10, scope) and not changes.unchanged(9, scope)  # older than what this process knows
    changes.learn(12, [(11, 8, None), (12, None, 5)])
    assert changes.unchanged(10, scope)  # question 8 and member 5 are not on it
    changes.learn(13, [(13, None, 4)])
    assert not changes.unchanged(12, scope) and changes.unchanged(13, scope)
    changes.learn(15, [(15, 9, None)])  # 14 has no row: another process bumped it without saying
    assert not changes.unchanged(13, scope) and changes.unchanged(15, scope)
    changes.learn(16, [(16, None, None)])
    assert not changes.unchanged(15, (1, frozenset()))
    changes.learn(2, [])  # a database started afresh
    assert not changes.unchanged(16, scope) and changes.unchanged(2, scope)
