"""The rows of one thread (the question, its answers, their comments, every author) in two statements
of plain SQL, built into the same model objects Tortoise's `select_related("author")` makes.

A thread page that is not kept (issue 17: random questions of a large forum are nearly always a miss)
spent most of its time in the ORM: three querysets built, compiled and their rows split per request.
Here the question and its answers come in one statement and the comments in a second one (it selects
the thread's posts itself), each written once per process and built into models by
community/model_rows.py, so templates and services see no difference.
"""

from __future__ import annotations

import functools

from community import db, model_rows
from community.models import Comment, Post, User

@functools.cache
def _statements() -> dict[str, str]:
    author = model_rows.columns(User, "u", related=True)
    return {
        "posts": (f'SELECT {model_rows.columns(Post, "p")}, {author} FROM post p LEFT JOIN "user" u ON u.id = p.author_id '
                  "WHERE (p.id = ? AND p.kind = 'question') OR (p.question_id = ? AND p.kind = 'answer')"),
        "comments": (f'SELECT {model_rows.columns(Comment, "c")}, {author} FROM comment c LEFT JOIN "user" u ON u.id = c.author_id '
                     "WHERE c.deleted_at IS NULL AND c.post_id IN (SELECT id FROM post WHERE id = ? OR question_id = ?) "
                     "ORDER BY c.created_at, c.id"),
    }


async def load(qid: int) -> tuple[Post | None, list[Post], list[Comment]]:
    """The question (None if there is no question with this id), its answers unsorted, and the comments
    on them that are not deleted, oldest first."""
    sql = _statements()
    authors: dict[int, User] = {}
    question: Post | None = None
    answers: list[Post] = []
    for row in await db.fetch(sql["posts"], [qid, qid]):
        post = model_rows.build(Post, row, "author", User, authors)
        if post.kind == "question":
            question = post
        else:
            answers.append(post)
    if question is None:
        return None, [], []
    comments = [model_rows.build(Comment, row, "author", User, authors) for row in await db.fetch(sql["comments"], [qid, qid])]
    return question, answers, comments
