"""The thread page issues a fixed number of SQL queries, whatever the number of answers and comments."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator

import httpx
import pytest

from community import clock, notifications, questions, slugs, web
from community.models import Comment, Post, User, Vote
from community.questions import refresh_state
from tests.conftest import login

DB_LOG = logging.getLogger("tortoise.db_client")


class QueryCounter(logging.Handler):
    """Counts the statements Tortoise's clients log (every execute path logs its SQL at DEBUG)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.queries: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if not text.startswith(("Created connection pool", "Closed connection pool")):
            self.queries.append(text)


@contextlib.contextmanager
def counting() -> Iterator[QueryCounter]:
    counter = QueryCounter()
    level = DB_LOG.level
    DB_LOG.addHandler(counter)
    DB_LOG.setLevel(logging.DEBUG)
    try:
        yield counter
    finally:
        DB_LOG.removeHandler(counter)
        DB_LOG.setLevel(level)


async def _thread(n_answers: int, viewer: User) -> int:
    """A question with `n_answers` answers by different members, two comments on every post, the viewer's votes."""
    now = clock.now()
    asker = await User.create(username=f"asker{n_answers}", email="a@example.com", created_at=now)
    q = await Post.create(kind="question", author_id=asker.id, title=f"Top-up not showing after {n_answers} hours",
                          body="body", body_html="<p>body</p>", tag_names="top-up", created_at=now, last_activity_at=now)
    posts = [q]
    for i in range(n_answers):
        author = await User.create(username=f"helper{n_answers}x{i}", email="h@example.com", created_at=now, reputation=10 + i)
        posts.append(await Post.create(kind="answer", question_id=q.id, author_id=author.id, body=f"Answer {i}",
                                       body_html=f"<p>Answer number {i}</p>", score=i % 4, created_at=now,
                                       last_activity_at=now))
    for p in posts:
        for j in range(2):
            commenter = await User.create(username=f"c{p.id}x{j}", email="c@example.com", created_at=now)
            await Comment.create(post_id=p.id, author_id=commenter.id, body="Same here", body_html=f"<p>comment by c{p.id}x{j}</p>",
                                 created_at=now)
        await Vote.create(post_id=p.id, voter_id=viewer.id, value=1, created_at=now)
    await Post.filter(id=posts[2].id).update(score=99)
    await Post.filter(id=q.id).update(accepted_answer_id=posts[1].id)
    await refresh_state(q.id, None)
    return q.id


async def _count(client, qid: int, n_answers: int) -> int:
    canonical = slugs.question_path(await Post.get(id=qid))  # the thread's own address: no redirect counted
    with counting() as counter:
        page = await client.get(canonical)
    assert page.status_code == 200
    # The page really shows every answer, its author's reputation and every comment's author.
    assert page.text.count('class="accepted-label"') == 1
    assert f"Answer number {n_answers - 1}" in page.text
    assert f'<span class="rep">{10 + n_answers - 1}</span>' in page.text
    assert f"c{qid + n_answers}x1</a>" in page.text
    return len(counter.queries)


async def test_thread_page_query_count_does_not_grow_with_answers(client, users):
    viewer = await users("reader")
    small, large = await _thread(3, viewer), await _thread(30, viewer)

    # The page cache is off here: the question with its answers and their authors (1), the comments
    # with theirs (1; community/thread_rows.py), the support ticket (1) and the authors' badge counts (1).
    anonymous = [await _count(client, small, 3), await _count(client, large, 30)]
    assert anonymous == [4, 4]

    await login(client, "reader")
    # And for a member: the member with their unread count (1), their votes (1) and the thread's posts
    # held by the spam filter (1, moderation/spam_pages.py).
    member = [await _count(client, small, 3), await _count(client, large, 30)]
    assert member == [7, 7]
    page = await client.get(f"/questions/{large}", follow_redirects=True)
    assert page.text.count('aria-pressed="true"') == 31  # the viewer's votes, fetched in one query


@pytest.fixture
def cached_client(config, database):
    """The app as deployed: thread content and the support ticket are read once per content generation."""
    from community.app import create_app

    web.page_cache.clear()
    app = create_app(dataclasses.replace(config, page_cache=True), manage_db=False, background=False)
    transport = httpx.ASGITransport(app=app)
    yield httpx.AsyncClient(transport=transport, base_url="http://test")
    web.page_cache.clear()


async def test_a_members_repeat_view_costs_two_queries(cached_client, users):
    """The member, their unread count and the content generation in one statement, their votes in
    another; everything every reader sees alike comes from the content kept for the generation."""
    viewer = await users("reader")
    qid = await _thread(30, viewer)
    asker = await User.get(username="asker30")
    await notifications.notify(viewer.id, "answer", "Someone answered", f"/questions/{qid}")
    await notifications.notify(viewer.id, "comment", "Someone commented", f"/questions/{qid}")
    async with cached_client as client:
        await login(client, "reader")
        first = await _count(client, qid, 30)
        assert first > 2  # the content and the support ticket, read once for this generation
        assert await _count(client, qid, 30) == 2
        page = await client.get(f"/questions/{qid}", follow_redirects=True)
        assert 'aria-label="2 unread"' in page.text and page.text.count('aria-pressed="true"') == 31

        # A write bumps the generation: the next view reads the content again, and it is right.
        await questions.comment(asker, qid, "Which phone do you have?")
        assert await _count(client, qid, 30) == first
        assert "Which phone do you have?" in (await client.get(f"/questions/{qid}", follow_redirects=True)).text
        await notifications.mark_read(viewer)
        assert await _count(client, qid, 30) == 2
        assert 'unread"' not in (await client.get(f"/questions/{qid}", follow_redirects=True)).text


async def test_query_counter_sees_every_query(database):
    """The counter would notice an N+1: loading authors one by one costs one query each."""
    now = clock.now()
    posts = []
    for i in range(3):
        u = await User.create(username=f"u{i}", email="u@example.com", created_at=now)
        posts.append(await Post.create(kind="question", author_id=u.id, title="t" * 20, body="b", body_html="b",
                                       created_at=now, last_activity_at=now))
    with counting() as counter:
        for p in await Post.all():
            await p.fetch_related("author")
    assert len(counter.queries) == 1 + 3
