"""Deflection events: did search (or the ask page's suggestions) answer the customer before they asked?

Recording is a side effect of reading, so it never fails a request: a broken event write is logged
and the customer still gets their results. The insights room reads `counts` and `solved_searches`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from community import clock, db, ratelimit
from community.errors import Invalid, NotFound
from community.models import Post
from search.models import DEFLECTION_KINDS, DeflectionEvent

log = logging.getLogger("search.deflection")


async def record(kind: str, *, user_id: int | None = None, question_id: int | None = None,
                 search_id: int | None = None, query: str = "", result_count: int | None = None,
                 solved: bool = False, ref: str = "") -> int | None:
    """Store one event; returns its id (None if it could not be stored)."""
    assert kind in DEFLECTION_KINDS, kind
    try:
        event = await DeflectionEvent.create(
            kind=kind, created_at=clock.now(), user_id=user_id, question_id=question_id, search_id=search_id,
            query=(query or "")[:200], result_count=result_count, solved=solved, ref=(ref or "")[:64])
        return event.id
    except Exception:
        log.exception("could not record the %s deflection event", kind)
        return None


async def _visible_question(question_id: Any) -> Post:
    try:
        qid = int(question_id)
    except (TypeError, ValueError):
        raise Invalid("question_id", "Say which question solved it: question_id must be a question's number.") from None
    if not -2**31 < qid < 2**31:
        raise Invalid("question_id", "question_id must be a question's number.")
    q = await Post.filter(id=qid, kind="question", hidden=False, deleted_at=None).first()
    if q is None:
        raise NotFound("There is no question with that id; it may have been deleted.")
    return q


async def search_ran(query: str, result_count: int, user_id: int | None) -> int | None:
    return await record("search", user_id=user_id, query=query, result_count=result_count)


async def result_opened(question_id: Any, search_id: Any, user_id: int | None, via: str = "search") -> int:
    """A click-through from search results (via="search") or from the ask page's suggestions (via="ask").

    Returns the question id to send the reader to.
    """
    q = await _visible_question(question_id)
    if via == "ask":
        await record("suggestion_opened", user_id=user_id, question_id=q.id, solved=q.state == "solved",
                     ref=str(search_id or ""))
        return q.id
    sid = None
    try:
        sid = int(search_id) if search_id not in (None, "") else None
    except (TypeError, ValueError):
        sid = None
    if sid is not None and not 0 < sid < 2**62:
        sid = None
    await record("result_opened", user_id=user_id, question_id=q.id, search_id=sid, solved=q.state == "solved")
    return q.id


async def suggestions_shown(view: str, count: int, user_id: int | None) -> None:
    """Once per ask page view (the page's JavaScript sends a random view id with each lookup)."""
    if not view or count <= 0:
        return
    view = view[:64]
    if await DeflectionEvent.filter(kind="suggestions_shown", ref=view).exists():
        return
    await record("suggestions_shown", user_id=user_id, result_count=count, ref=view)


async def solved_my_problem(question_id: Any, user_id: int | None, view: str = "", *,
                            address: str | None = None) -> DeflectionEvent:
    """"This solved my problem" on a suggestion: the question was not asked. `address`: the client's,
    when reported through a request (rate limited per member and address, so nobody can forge the figures)."""
    q = await _visible_question(question_id)
    await ratelimit.spend("deflection", user_id, address)
    return await DeflectionEvent.create(kind="solved_my_problem", created_at=clock.now(), user_id=user_id,
                                        question_id=q.id, solved=q.state == "solved", ref=(view or "")[:64])


async def asked_after_suggestions(question_id: int, user_id: int | None, shown: str) -> None:
    """The asker saw suggestions (the form's hidden suggestions_shown field) and posted anyway."""
    if shown and shown.strip():
        await record("asked_after_suggestions", user_id=user_id, question_id=question_id, ref=shown.strip()[:64])


async def counts(start: datetime, end: datetime) -> dict[str, int]:
    """Events of each kind in [start, end), every kind present (0 when none), plus
    `searches_opened_solved`: searches in the range from which a solved thread was opened."""
    rows = await db.fetch(
        "SELECT kind, COUNT(*) AS n FROM search_deflection_event WHERE created_at >= ? AND created_at < ? GROUP BY kind",
        [start, end])
    out = {kind: 0 for kind in DEFLECTION_KINDS}
    for r in rows:
        out[r["kind"]] = int(r["n"])
    out["searches_opened_solved"] = await solved_searches(start, end)
    return out


async def solved_searches(start: datetime, end: datetime) -> int:
    """Searches in [start, end) after which the searcher opened a solved thread."""
    rows = await db.fetch(
        "SELECT COUNT(DISTINCT o.search_id) AS n FROM search_deflection_event o"
        " JOIN search_deflection_event s ON s.id = o.search_id AND s.kind = 'search'"
        " WHERE o.kind = 'result_opened' AND o.solved = ? AND s.created_at >= ? AND s.created_at < ?",
        [True, start, end])
    return int(rows[0]["n"])
