"""What search sees of a thread: one document per visible question, read from the database.

Both backends index the same `ThreadDoc`, so "what is searchable" is decided here only: a hidden or
deleted question has no document, and a hidden or deleted answer is left out of its thread's text.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from community import db

EXCERPT_CHARS = 600  # stored for snippets; the full text is indexed but not stored

_TAGS = re.compile(r"<[^>]*>")


def plain_text(body_html: str) -> str:
    """Rendered HTML -> the words a reader sees."""
    # split/join collapses whitespace three times faster than a regex (it adds up over a reindex).
    return " ".join(html.unescape(_TAGS.sub(" ", body_html or "")).split())


@dataclass
class ThreadDoc:
    question_id: int
    title: str
    body: str  # the question's text
    answers: str  # the visible answers' text
    tags: list[str]
    author: str  # username, lower case ("" when the account is gone)
    author_id: int | None
    answerers: list[str] = field(default_factory=list)  # "name" and "#id" of each answer's author
    state: str = "unanswered"
    score: int = 0
    answer_count: int = 0
    created_at: datetime | None = None
    last_activity_at: datetime | None = None
    closed_duplicate: bool = False  # closed as a duplicate: searchable, but never a similar question

    @property
    def excerpt(self) -> str:
        return self.body[:EXCERPT_CHARS]

    @property
    def quality(self) -> float:
        """Multiplier applied to relevance: solved and well-scored threads rank higher among similar matches."""
        bonus = 0.25 if self.state == "solved" else 0.0
        bonus += 0.2 * min(math.log1p(max(self.score, 0)), 3.0)
        if self.score < 0:
            bonus -= 0.1
        return 1.0 + bonus


async def load(question_ids: Iterable[int], conn: Any = None) -> tuple[list[ThreadDoc], list[int]]:
    """Documents for these questions, and the ids that must leave the index (gone or not visible)."""
    ids = sorted({int(i) for i in question_ids})
    if not ids:
        return [], []
    docs: list[ThreadDoc] = []
    for start in range(0, len(ids), 500):
        docs += await _load_chunk(ids[start:start + 500], conn)
    found = {d.question_id for d in docs}
    return docs, [i for i in ids if i not in found]


async def _load_chunk(ids: list[int], conn: Any) -> list[ThreadDoc]:
    marks = ",".join("?" * len(ids))
    questions = await db.fetch(
        f"SELECT p.id, p.title, p.body_html, p.tag_names, p.author_id, u.username, p.state, p.score,"
        f" p.answer_count, p.created_at, p.last_activity_at, p.closed_reason FROM post p LEFT JOIN \"user\" u ON u.id = p.author_id"
        f" WHERE p.id IN ({marks}) AND p.kind = 'question' AND p.hidden = ? AND p.deleted_at IS NULL",
        [*ids, False], conn)
    if not questions:
        return []
    qids = [q["id"] for q in questions]
    answers = await db.fetch(
        f"SELECT a.question_id, a.body_html, a.author_id, u.username FROM post a"
        f" LEFT JOIN \"user\" u ON u.id = a.author_id WHERE a.question_id IN ({','.join('?' * len(qids))})"
        f" AND a.kind = 'answer' AND a.hidden = ? AND a.deleted_at IS NULL ORDER BY a.id",
        [*qids, False], conn)
    texts: dict[int, list[str]] = {}
    people: dict[int, list[str]] = {}
    for a in answers:
        texts.setdefault(a["question_id"], []).append(plain_text(a["body_html"]))
        if a["author_id"] is not None:
            people.setdefault(a["question_id"], []).extend([f"#{a['author_id']}", (a["username"] or "").lower()])
    out = []
    for q in questions:
        out.append(ThreadDoc(
            question_id=q["id"], title=q["title"], body=plain_text(q["body_html"]),
            answers="\n".join(texts.get(q["id"], [])), tags=(q["tag_names"] or "").split(),
            author=(q["username"] or "").lower(), author_id=q["author_id"],
            answerers=sorted(set(people.get(q["id"], []))), state=q["state"], score=q["score"],
            answer_count=q["answer_count"], created_at=_when(q["created_at"]),
            last_activity_at=_when(q["last_activity_at"]), closed_duplicate=q["closed_reason"] == "duplicate",
        ))
    return out


def _when(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


async def all_question_ids(batch: int = 1000) -> AsyncIterator[list[int]]:
    """Every question id, in batches (for reindex)."""
    last = 0
    while True:
        rows = await db.fetch("SELECT id FROM post WHERE kind = 'question' AND id > ? ORDER BY id LIMIT ?", [last, batch])
        if not rows:
            return
        yield [r["id"] for r in rows]
        last = rows[-1]["id"]


async def count_questions() -> int:
    rows = await db.fetch("SELECT COUNT(*) AS n FROM post WHERE kind = 'question' AND hidden = ? AND deleted_at IS NULL", [False])
    return int(rows[0]["n"])
