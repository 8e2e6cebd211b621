"""The thread page issues a fixed number of SQL queries, whatever the number of answers and comments."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from community import clock
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
    with counting() as counter:
        page = await client.get(f"/questions/{qid}")
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

    anonymous = [await _count(client, small, 3), await _count(client, large, 30)]
    assert anonymous[0] == anonymous[1], anonymous
    assert anonymous[0] <= 12

    await login(client, "reader")
    member = [await _count(client, small, 3), await _count(client, large, 30)]
    assert member[0] == member[1], member
    assert member[0] <= 15
    page = await client.get(f"/questions/{large}")
    assert page.text.count('aria-pressed="true"') == 31  # the viewer's votes, fetched in one query


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
