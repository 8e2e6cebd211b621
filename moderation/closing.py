"""Closing and reopening questions: votes from members with the privilege, or one moderator.

The question row is locked while a vote is counted, so votes arriving together close it once.
"""

from __future__ import annotations

import importlib
from collections import Counter
from typing import Any

from tortoise.exceptions import IntegrityError

from community import clock, db, privileges, questions, settings
from community.errors import Conflict, Invalid, NotFound
from community.models import Post, User
from moderation import audit
from moderation.models import CLOSE_REASONS, CloseVote
from moderation.posts import close_items, load_post, open_item
from search import outbox

REASON_TITLES = {"duplicate": "a duplicate", "off_topic": "off-topic", "needs_details": "needing details",
                 "opinion_based": "opinion-based"}
# The close form's choices, as a person picks them.
REASON_LABELS = {"duplicate": "Duplicate of another question", "off_topic": "Off-topic", "needs_details": "Needs details",
                 "opinion_based": "Opinion-based"}


def _id(value: Any) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise Invalid("duplicate_of", "Give the id (or link) of the original question.")
    if isinstance(value, str):
        # "12", or a link: /questions/12, /questions/12/its-slug, with ?query or #fragment
        value = value.strip().rstrip("/").rsplit("/questions/", 1)[-1].split("#")[0].split("?")[0].split("/")[0]
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise Invalid("duplicate_of", "Give the id (or link) of the original question.") from None
    if not 0 < n < 2**31:
        raise Invalid("duplicate_of", "There is no question with that id.")
    return n


async def _check_reason(question: Post, reason: Any, duplicate_of: Any, conn: Any) -> tuple[str, int | None]:
    if reason not in CLOSE_REASONS:
        raise Invalid("reason", "Choose why it should be closed: a duplicate, off-topic, needing details or opinion-based.")
    if reason != "duplicate":
        return reason, None
    original_id = _id(duplicate_of)
    if original_id is None:
        raise Invalid("duplicate_of", "Say which question this one duplicates.")
    if original_id == question.id:
        raise Invalid("duplicate_of", "A question cannot duplicate itself; give the original's id.")
    original = await Post.filter(id=original_id, kind="question").using_db(conn).first()
    if original is None or not original.visible:
        raise Invalid("duplicate_of", f"There is no question {original_id} to point to.")
    return reason, original.id


async def _resolve_ticket(question_id: int, reason: str, conn: Any) -> None:
    """Resolve the question's open support ticket, when the support room offers that."""
    try:
        tickets = importlib.import_module("community.support.tickets")
    except ModuleNotFoundError as exc:
        if exc.name in ("community.support.tickets", "community.support"):
            return
        raise
    hook = getattr(tickets, "on_question_closed", None)
    if hook is not None:
        await hook(question_id, reason, conn)


async def _load_question(question_id: Any, user: User, conn: Any) -> Post:
    q = await load_post(question_id, conn, for_update=True)
    if not q.is_question or q.deleted_at is not None or not questions.can_see(q, user):
        raise NotFound("There is no question with that id; it may have been deleted.")
    return q


async def lock_question(question_id: Any, user: User, conn: Any) -> Post:
    """The question row, locked for a close in the caller's transaction (404 when `user` cannot see it)."""
    return await _load_question(question_id, user, conn)


async def close_as_duplicate_in(actor: User, q: Post, duplicate_of: Any, why: str, conn: Any) -> int:
    """Close `q` (locked with `lock_question`) at once as a duplicate of `duplicate_of`, in the caller's
    transaction: the staff desk's "Resolve as duplicate", whose room decides who may (the agent working
    the question's ticket, who resolves the ticket first). Waiting votes stop counting; the audit log
    names the actor and `why`. Returns the original's id."""
    if q.closed_reason:
        raise Conflict("This question is already closed.")
    _, original = await _check_reason(q, "duplicate", duplicate_of, conn)
    await _close(q, actor, "duplicate", original, why, conn)
    return original


async def _close(q: Post, actor: User | None, reason: str, duplicate_of: int | None, why: str, conn: Any) -> bool:
    changed = await Post.filter(id=q.id, closed_reason=None).using_db(conn).update(
        closed_reason=reason, closed_at=clock.now(), duplicate_of_id=duplicate_of)
    if not changed:
        return False
    q.closed_reason, q.duplicate_of_id = reason, duplicate_of
    await CloseVote.filter(question_id=q.id, active_key__not_isnull=True).using_db(conn).update(active_key=None)
    await close_items(q, ("close", "reopen"), actor, "closed", conn)
    await audit.record(actor, "close", conn, post_id=q.id, user_id=q.author_id,
                       reason=why + (f" (duplicate of question {duplicate_of})" if duplicate_of else ""))
    await outbox.enqueue(q.id, conn)
    await _resolve_ticket(q.id, reason, conn)
    return True


async def _reopen(q: Post, actor: User | None, why: str, conn: Any) -> bool:
    changed = await Post.filter(id=q.id, closed_reason__not_isnull=True).using_db(conn).update(
        closed_reason=None, closed_at=None, duplicate_of_id=None)
    if not changed:
        return False
    q.closed_reason = q.duplicate_of_id = None
    await CloseVote.filter(question_id=q.id, active_key__not_isnull=True).using_db(conn).update(active_key=None)
    await close_items(q, ("close", "reopen"), actor, "reopened", conn)
    await audit.record(actor, "reopen", conn, post_id=q.id, user_id=q.author_id, reason=why)
    await outbox.enqueue(q.id, conn)
    return True


async def _tally(q: Post, kind: str, conn: Any) -> list[CloseVote]:
    return await CloseVote.filter(question_id=q.id, kind=kind, active_key__not_isnull=True).using_db(conn).order_by("id")


def _status(q: Post, votes: int, kind: str) -> dict:
    return {"question_id": q.id, "kind": kind, "votes": votes, "needed": int(settings.get("close.votes_needed")),
            "closed": {"reason": q.closed_reason, "duplicate_of": q.duplicate_of_id} if q.closed_reason else None}


async def vote_in(user: User, q: Post, kind: str, reason: Any, duplicate_of: Any, conn: Any) -> dict:
    """Cast a close or reopen vote inside the caller's transaction (the question row is locked)."""
    if kind == "close":
        if q.closed_reason:
            raise Conflict("This question is already closed.")
        reason, original = await _check_reason(q, reason, duplicate_of, conn)
    else:
        if not q.closed_reason:
            raise Conflict("This question is open; there is nothing to reopen.")
        reason, original = None, None
    if user.is_moderator:
        why = f"Moderator {'closed it as ' + REASON_TITLES[reason] if kind == 'close' else 'reopened it'}"
        await (_close(q, user, reason, original, why, conn) if kind == "close" else _reopen(q, user, why, conn))
        return _status(q, 0, kind)
    key = f"{kind}:{q.id}:{user.id}"
    if await CloseVote.filter(active_key=key).using_db(conn).exists():
        raise Conflict(f"You have already voted to {kind} this question.")
    await CloseVote.create(question_id=q.id, voter_id=user.id, kind=kind, reason=reason, duplicate_of_id=original,
                           active_key=key, created_at=clock.now(), using_db=conn)
    await audit.record(user, f"{kind}_vote", conn, post_id=q.id, user_id=q.author_id,
                       reason=REASON_TITLES.get(reason or "", "") if kind == "close" else "")
    votes = await _tally(q, kind, conn)
    if len(votes) >= int(settings.get("close.votes_needed")):
        if kind == "close":
            # The most common reason wins; among equals, the earliest vote's.
            counts = Counter((v.reason, v.duplicate_of_id) for v in votes)
            best = max(counts.values())
            top_reason, top_original = next((v.reason, v.duplicate_of_id) for v in votes
                                            if counts[(v.reason, v.duplicate_of_id)] == best)
            await _close(q, user, top_reason, top_original,
                         f"Closed by {len(votes)} votes as {REASON_TITLES[top_reason]}", conn)
        else:
            await _reopen(q, user, f"Reopened by {len(votes)} votes", conn)
        return _status(q, len(votes), kind)
    await open_item(kind, q, conn, note=f"{len(votes)} {kind} vote{'s' if len(votes) != 1 else ''}")
    return _status(q, len(votes), kind)


async def vote(user: User | None, question_id: Any, kind: str = "close", reason: Any = None,
               duplicate_of: Any = None) -> dict:
    """A close (or reopen) vote; a moderator's vote closes (or reopens) the question alone."""
    user = privileges.require(user, "close")
    try:
        async with db.transaction() as conn:
            q = await _load_question(question_id, user, conn)
            result = await vote_in(user, q, kind, reason, duplicate_of, conn)
    except IntegrityError:
        raise Conflict(f"You have already voted to {kind} this question.") from None
    await questions.bump_generation()
    return result


async def leave_as_is(actor: User, q: Post, kind: str, conn: Any) -> None:
    """A reviewer decides the question should stay as it is: the waiting votes stop counting."""
    await CloseVote.filter(question_id=q.id, kind=kind, active_key__not_isnull=True).using_db(conn).update(active_key=None)
    await audit.record(actor, "leave_open" if kind == "close" else "leave_closed", conn, post_id=q.id, user_id=q.author_id)


async def original_titles(ids: list[int]) -> dict[int, str]:
    return {p.id: p.title for p in await Post.filter(id__in=ids).only("id", "title")}
