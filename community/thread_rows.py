"""The rows of one thread (the question, its answers, their comments, every author) in two statements
of plain SQL, built into the same model objects Tortoise's `select_related("author")` makes.

A thread page that is not kept (issue 17: random questions of a large forum are nearly always a miss)
spent most of its time in the ORM: three querysets built, compiled and their rows split per request.
Here the statements are written once per process from the models' own column lists (a column added
to a model is read without a change here), the question and its answers come in one statement, and
the comments in a second one (it selects the thread's posts itself). Rows become models through `Model._init_from_db`, the ORM's own constructor for a fetched row
(it converts SQLite's text dates and integer booleans as the ORM does), and each author is attached as
`select_related` attaches one, so templates and services see no difference.
"""

from __future__ import annotations

from typing import Any

from community import db
from community.models import Comment, Post, User

_sql: dict[str, str] = {}


def _columns(model: Any, alias: str, prefix: str = "") -> str:
    return ", ".join(f'{alias}."{column}" AS "{prefix}{column}"' for column in model._meta.fields_db_projection.values())


def _statements() -> dict[str, str]:
    if not _sql:
        author = _columns(User, "u", "u__")
        _sql["posts"] = (f'SELECT {_columns(Post, "p")}, {author} FROM post p LEFT JOIN "user" u ON u.id = p.author_id '
                         "WHERE (p.id = ? AND p.kind = 'question') OR (p.question_id = ? AND p.kind = 'answer')")
        _sql["comments"] = (f'SELECT {_columns(Comment, "c")}, {author} FROM comment c LEFT JOIN "user" u ON u.id = c.author_id '
                            "WHERE c.deleted_at IS NULL AND c.post_id IN (SELECT id FROM post WHERE id = ? OR question_id = ?) "
                            "ORDER BY c.created_at, c.id")
    return _sql


def _split(row: dict[str, Any], authors: dict[int, User]) -> tuple[dict[str, Any], User | None]:
    """The row's own columns, and its author (one object per member, shared by their posts and comments)."""
    own = {k: v for k, v in row.items() if not k.startswith("u__")}
    uid = row.get("u__id")
    if uid is None:
        return own, None
    author = authors.get(uid)
    if author is None:
        author = authors[uid] = User._init_from_db(**{k[3:]: v for k, v in row.items() if k.startswith("u__")})
    return own, author


def _build(model: Any, row: dict[str, Any], authors: dict[int, User]) -> Any:
    own, author = _split(row, authors)
    obj = model._init_from_db(**own)
    object.__setattr__(obj, "_author", author)  # as select_related("author") attaches it
    return obj


async def load(qid: int) -> tuple[Post | None, list[Post], list[Comment]]:
    """The question (None if there is no question with this id), its answers unsorted, and the comments
    on them that are not deleted, oldest first."""
    sql = _statements()
    authors: dict[int, User] = {}
    question: Post | None = None
    answers: list[Post] = []
    for row in await db.fetch(sql["posts"], [qid, qid]):
        post = _build(Post, row, authors)
        if post.kind == "question":
            question = post
        else:
            answers.append(post)
    if question is None:
        return None, [], []
    comments = [_build(Comment, row, authors) for row in await db.fetch(sql["comments"], [qid, qid])]
    return question, answers, comments
