"""The anonymous page cache and the thread content shared between readers (community.web.PageCache):
anonymous pages are served from memory until a write bumps the content generation, members never get a
cached page, and pages built from shared rows still show each member their own votes, forms and token.
Also the session cookies whose signature was already checked (community.web.SessionCookies)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import itsdangerous
import pytest

from community import acceptance, db, questions, slugs, voting, web
from community.config import Config
from community.models import Post, User
from tests.conftest import PG_URL, login

CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


@pytest.fixture
def cached_app(tmp_path: Path, database_url: str, database: str):
    """The app as deployed: the page cache on (the shared test config turns it off)."""
    from community.app import create_app

    web.page_cache.clear()
    config = Config(var_dir=tmp_path / "var", database_url=database_url, secret_key="test-secret",
                    index_dir=tmp_path / "index", demo_data=False, page_cache=True,
                    run_indexer=False, run_sweeper=False)
    yield create_app(config, manage_db=False, background=False)
    web.page_cache.clear()


async def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.fixture
async def anon(cached_app) -> AsyncIterator[httpx.AsyncClient]:
    async with await _client(cached_app) as c:
        yield c


@pytest.fixture
async def member(cached_app) -> AsyncIterator[httpx.AsyncClient]:
    async with await _client(cached_app) as c:
        yield c


@pytest.fixture
async def other(cached_app) -> AsyncIterator[httpx.AsyncClient]:
    async with await _client(cached_app) as c:
        yield c


async def _thread(users) -> tuple[Post, Post]:
    asker = await users("asker", 60)
    helper = await users("helper", 60)
    q = await questions.ask(asker, "Roaming data stopped in Spain yesterday", "I have the roaming add-on but no data at all.", "roaming")
    a = await questions.answer(helper, q.id, "Turn data roaming on in the phone's mobile network settings.")
    return q, a


async def test_anonymous_thread_is_cached_until_a_members_write(anon, member, users):
    q, _ = await _thread(users)
    first = await anon.get(slugs.question_path(q))
    assert first.status_code == 200 and "x-cache" not in first.headers
    second = await anon.get(slugs.question_path(q))
    assert second.headers.get("x-cache") == "hit"
    assert second.text == first.text and "Turn data roaming on" in second.text

    await users("carol", 60)
    csrf = await login(member, "carol")
    r = await member.post(f"/questions/{q.id}/answers", data={"body": "Restart the phone after buying the add-on.", "csrf_token": csrf})
    assert r.status_code == 303

    fresh = await anon.get(slugs.question_path(q))
    assert "x-cache" not in fresh.headers
    assert "Restart the phone after buying the add-on." in fresh.text and "2 answers" in fresh.text
    assert (await anon.get(slugs.question_path(q))).headers.get("x-cache") == "hit"


async def test_votes_accepts_and_comments_invalidate_the_cache(anon, users):
    q, a = await _thread(users)
    voter = await users("voter", 200)
    await anon.get(slugs.question_path(q))
    assert (await anon.get(slugs.question_path(q))).headers.get("x-cache") == "hit"

    await voting.vote(voter, a.id, 1)
    page = await anon.get(slugs.question_path(q))
    assert "x-cache" not in page.headers
    assert re.search(rf'data-post="{a.id}">\s*<span class="score" aria-label="score">1</span>', page.text)

    await questions.comment(voter, a.id, "This fixed it for me in Portugal too.")
    page = await anon.get(slugs.question_path(q))
    assert "x-cache" not in page.headers and "This fixed it for me in Portugal too." in page.text

    assert 'class="accepted-label"' not in (await anon.get(slugs.question_path(q))).text
    await acceptance.accept(await User.get(username="asker"), q.id, a.id)
    page = await anon.get(slugs.question_path(q))
    assert "x-cache" not in page.headers and 'class="accepted-label"' in page.text


async def test_a_member_never_gets_a_cached_page_nor_fills_the_cache(anon, member, users):
    q, _ = await _thread(users)
    await anon.get(slugs.question_path(q))
    assert (await anon.get(slugs.question_path(q))).headers.get("x-cache") == "hit"

    await users("carol", 60)
    csrf = await login(member, "carol")
    for _ in range(2):
        page = await member.get(slugs.question_path(q))
        assert page.status_code == 200 and "x-cache" not in page.headers
        assert "carol" in page.text and 'id="answer-body"' in page.text
        assert set(CSRF.findall(page.text)) == {csrf}

    # The member's page did not go into the cache: anonymous readers still get theirs, with no token.
    page = await anon.get(slugs.question_path(q))
    assert page.headers.get("x-cache") == "hit"
    assert "carol" not in page.text and csrf not in page.text and "Log in</a> or" in page.text
    assert set(CSRF.findall(page.text)) <= {""}


async def test_members_see_their_own_votes_forms_and_token_on_shared_rows(member, other, users):
    q, a = await _thread(users)
    await users("carol", 200)
    mine = await login(member, "carol")
    theirs = await login(other, "asker")
    r = await member.post(f"/posts/{a.id}/vote", data={"value": "1", "csrf_token": mine})
    assert r.status_code == 303

    for _ in range(2):  # the second time every post comes from the kept fragments
        carol = await member.get(slugs.question_path(q))
        asker = await other.get(slugs.question_path(q))
        assert 'class="vote up on" aria-pressed="true"' in carol.text
        assert 'class="vote up on"' not in asker.text
        assert set(CSRF.findall(carol.text)) == {mine} and set(CSRF.findall(asker.text)) == {theirs}
        assert "Accept this answer" in asker.text and "Accept this answer" not in carol.text
        assert f'href="/posts/{q.id}/edit">Edit</a>' in asker.text
        assert f'href="/posts/{q.id}/edit">Edit</a>' not in carol.text


async def test_a_hidden_answer_stays_hidden_from_others_on_shared_rows(anon, member, users):
    q, a = await _thread(users)
    await anon.get(slugs.question_path(q))
    await Post.filter(id=a.id).update(hidden=True)
    await questions.bump_generation()

    page = await anon.get(slugs.question_path(q))
    assert "Turn data roaming on" not in page.text and "0 answers" in page.text
    await login(member, "helper")
    page = await member.get(slugs.question_path(q))
    assert "Turn data roaming on" in page.text and "This answer is hidden from other members." in page.text
    page = await anon.get(slugs.question_path(q))
    assert page.headers.get("x-cache") == "hit" and "Turn data roaming on" not in page.text


async def test_a_comment_error_re_renders_the_thread_with_the_text_and_message(member, users):
    q, a = await _thread(users)
    csrf = await login(member, "helper")
    await member.get(slugs.question_path(q))
    r = await member.post(f"/posts/{a.id}/comments", data={"body": "x", "csrf_token": csrf})
    assert r.status_code == 422
    assert re.search(rf'<details open>\s*<summary>Add a comment</summary>\s*<form method="post" action="/posts/{a.id}/comments"', r.text)
    assert f'id="comment-{a.id}-error"' in r.text and "Comments are 2 to 600 characters" in r.text
    assert set(CSRF.findall(r.text)) == {csrf}


async def _foreign_write(answer_id: int) -> None:
    """What another worker's write looks like here: the rows and the generation change in the
    database, but this process's own write counter does not move."""
    await db.execute("UPDATE post SET score = 41 WHERE id = ?", [answer_id])
    await db.execute("UPDATE content_generation SET value = value + 1 WHERE id = 1")


@pytest.mark.skipif(bool(PG_URL), reason="the exact cross-worker check reads the SQLite file")
async def test_on_sqlite_another_workers_write_is_seen_by_the_next_request(anon, users):
    q, a = await _thread(users)
    await anon.get(slugs.question_path(q))
    assert (await anon.get(slugs.question_path(q))).headers.get("x-cache") == "hit"
    await _foreign_write(a.id)
    page = await anon.get(slugs.question_path(q))
    assert "x-cache" not in page.headers and 'aria-label="score">41</span>' in page.text


async def test_without_the_sqlite_reader_the_staleness_window_is_bounded(anon, member, users, monkeypatch):
    """The path other databases take: an anonymous hit re-reads the generation only every
    RECHECK_SECONDS, a member always reads it, and a write in this process is seen at once."""
    q, a = await _thread(users)
    await anon.get(slugs.question_path(q))
    if web.page_cache._reader is not None:  # make SQLite take the path PostgreSQL takes
        web.page_cache._reader.close()
        web.page_cache._reader = None
    monkeypatch.setattr(web.page_cache, "RECHECK_SECONDS", 3600)
    await anon.get(slugs.question_path(q))
    assert (await anon.get(slugs.question_path(q))).headers.get("x-cache") == "hit"

    await _foreign_write(a.id)
    stale = await anon.get(slugs.question_path(q))
    assert stale.headers.get("x-cache") == "hit" and 'aria-label="score">41</span>' not in stale.text
    await login(member, "asker")
    assert 'aria-label="score">41</span>' in (await member.get(slugs.question_path(q))).text

    monkeypatch.setattr(web.page_cache, "RECHECK_SECONDS", 0)
    page = await anon.get(slugs.question_path(q))
    assert "x-cache" not in page.headers and 'aria-label="score">41</span>' in page.text

    monkeypatch.setattr(web.page_cache, "RECHECK_SECONDS", 3600)
    assert (await anon.get(slugs.question_path(q))).headers.get("x-cache") == "hit"
    await questions.comment(await User.get(username="asker"), q.id, "Still no data after the restart.")
    page = await anon.get(slugs.question_path(q))
    assert "x-cache" not in page.headers and "Still no data after the restart." in page.text


def test_a_remembered_session_cookie_still_expires_and_a_forged_one_is_refused():
    signer = itsdangerous.TimestampSigner("test-secret")
    now = [1_800_000_000]
    signer.get_timestamp = lambda: now[0]  # type: ignore[method-assign]
    cookies = web._CheckedCookies(signer)
    value = signer.sign(b"eyJ1aWQiOiAxfQ==")

    assert cookies.unsign(value, max_age=60) == b"eyJ1aWQiOiAxfQ=="
    assert value in cookies.checked
    now[0] += 60
    assert cookies.unsign(value, max_age=60) == b"eyJ1aWQiOiAxfQ=="  # remembered, and still inside max_age

    forged = value[:-2] + (b"AA" if not value.endswith(b"AA") else b"BB")
    with pytest.raises(itsdangerous.BadSignature):
        cookies.unsign(forged, max_age=60)
    assert forged not in cookies.checked

    now[0] += 1
    with pytest.raises(itsdangerous.SignatureExpired):
        cookies.unsign(value, max_age=60)
    assert value not in cookies.checked


async def test_a_member_stays_logged_in_across_requests_and_a_tampered_cookie_is_anonymous(member, users):
    await users("carol", 60)
    await login(member, "carol")
    for _ in range(2):
        assert "carol" in (await member.get("/questions")).text
    cookie = member.cookies["session"]
    member.cookies.clear()
    member.cookies["session"] = cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")
    page = await member.get("/questions")
    assert page.status_code == 200 and "carol" not in page.text and "Log in" in page.text
