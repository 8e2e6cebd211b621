"""Review queues: flagged posts, first posts of new members, suggested edits, close and reopen votes.

An item is decided once: the decision claims it with a conditional UPDATE (... WHERE decided_at
IS NULL), so of two reviewers acting at once one wins and the other is told. A decision calls the
ordinary content services (hide, delete, edit, close) inside the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from community import clock, db, events, privileges, questions, settings
from community.errors import Conflict, Invalid, NotAllowed, NotFound
from community.models import Post, User
from moderation import audit, closing, posts, revisions
from moderation.flags import flags_on
from moderation.models import QUEUES, CloseVote, Flag, ReviewItem, SuggestedEdit

QUEUE_TITLES = {
    "flagged": "Flagged posts",
    "first_post": "First posts",
    "suggested_edit": "Suggested edits",
    "close": "Close votes",
    "reopen": "Reopen votes",
}
DECISIONS: dict[str, tuple[str, ...]] = {
    "flagged": ("spam", "rude", "delete", "decline"),
    "first_post": ("looks_ok", "spam", "delete"),
    "suggested_edit": ("approve", "reject"),
    "close": ("close", "leave_open"),
    "reopen": ("reopen", "leave_closed"),
}
DECISION_TITLES = {
    "spam": "Spam", "rude": "Rude or abusive", "delete": "Delete", "decline": "Decline the flags",
    "looks_ok": "Looks OK", "approve": "Approve edit", "reject": "Reject edit", "close": "Vote to close",
    "leave_open": "Leave open", "reopen": "Vote to reopen", "leave_closed": "Leave closed",
}
PAGE_SIZE = 30


@dataclass
class QueueSummary:
    name: str
    title: str
    count: int
    oldest_at: datetime | None

    @property
    def oldest_age_seconds(self) -> int | None:
        return int((clock.now() - self.oldest_at).total_seconds()) if self.oldest_at else None

    @property
    def oldest_age(self) -> str:
        return describe_age(self.oldest_age_seconds)


def describe_age(seconds: int | None) -> str:
    if seconds is None:
        return "none waiting"
    minutes = max(0, seconds) // 60
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h {minutes % 60} min"
    return f"{hours // 24} days"


@dataclass
class ItemView:
    item: ReviewItem
    post: Post
    question_title: str
    decisions: tuple[str, ...]
    flags: list[Flag] = field(default_factory=list)
    suggestion: SuggestedEdit | None = None
    suggestion_diff: list = field(default_factory=list)
    votes: list[CloseVote] = field(default_factory=list)


def _parse_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=clock.now().tzinfo)


async def summary(user: User | None) -> list[QueueSummary]:
    privileges.require(user, "review")
    rows = await db.fetch(
        "SELECT queue, COUNT(*) AS n, MIN(created_at) AS oldest FROM moderation_review_item "
        "WHERE decided_at IS NULL GROUP BY queue", [],
    )
    found = {r["queue"]: r for r in rows}
    return [QueueSummary(q, QUEUE_TITLES[q], int(found[q]["n"]) if q in found else 0,
                         _parse_time(found[q]["oldest"]) if q in found else None) for q in QUEUES]


async def waiting(user: User | None, queue: Any = None, limit: int = PAGE_SIZE) -> list[ItemView]:
    """The oldest undecided items (of one queue, or all), with what a reviewer needs to decide."""
    privileges.require(user, "review")
    qs = ReviewItem.filter(decided_at=None)
    if queue:
        if queue not in QUEUES:
            raise Invalid("queue", f"Choose a queue: {', '.join(QUEUES)}.")
        qs = qs.filter(queue=queue)
    items = await qs.order_by("created_at", "id").limit(limit).select_related("post", "suggested_edit")
    post_ids = [i.post_id for i in items]
    authors = {u.id: u for u in await User.filter(id__in={i.post.author_id for i in items if i.post.author_id})}
    qids = {i.post.question_id for i in items if not i.post.is_question}
    titles = {p.id: p.title for p in await Post.filter(id__in=qids).only("id", "title")}
    flag_map = await flags_on(post_ids)
    votes: dict[int, list[CloseVote]] = {pid: [] for pid in post_ids}
    for v in await CloseVote.filter(question_id__in=post_ids, active_key__not_isnull=True).select_related("voter").order_by("id"):
        votes[v.question_id].append(v)
    views: list[ItemView] = []
    for i in items:
        p = i.post
        if p.author_id in authors:
            p._author = authors[p.author_id]
        view = ItemView(i, p, p.title if p.is_question else titles.get(p.question_id, ""), DECISIONS[i.queue],
                        flags=[f for f in flag_map.get(p.id, []) if f.status == "pending"],
                        votes=[v for v in votes.get(p.id, []) if v.kind == i.queue])
        if i.suggested_edit_id:
            s = i.suggested_edit
            view.suggestion = s
            view.suggestion_diff = revisions.body_diff(p.body, s.body) if s.body is not None else []
        views.append(view)
    return views


async def _claim(user: User, item: ReviewItem, decision: str, conn: Any) -> None:
    won = await ReviewItem.filter(id=item.id, decided_at=None).using_db(conn).update(
        decided_at=clock.now(), decided_by_id=user.id, decision=decision, open_key=None)
    if not won:
        done = await ReviewItem.filter(id=item.id).using_db(conn).select_related("decided_by").first()
        who = done.decided_by.username if done and done.decided_by else "Another reviewer"
        what = DECISION_TITLES.get(done.decision or "", done.decision or "decided") if done else "decided"
        raise Conflict(f"{who} already decided this item ({what}); nothing was changed. Take the next one.")


async def decide(user: User | None, item_id: Any, decision: Any, reason: Any = "") -> dict:
    """Decide a review item; returns what happened."""
    user = privileges.require(user, "review")
    try:
        iid = int(item_id)
    except (TypeError, ValueError):
        raise NotFound("There is no review item with that id.") from None
    item = await ReviewItem.filter(id=iid).first() if 0 < iid < 2**31 else None
    if item is None:
        raise NotFound("There is no review item with that id.")
    allowed = DECISIONS[item.queue]
    if decision not in allowed:
        raise Invalid("decision", f"For a {QUEUE_TITLES[item.queue].lower()} item, decide one of: {', '.join(allowed)}.")
    note = posts._reason(reason)
    if decision in ("close", "reopen"):
        return await _vote(user, item, decision, note)
    async with db.transaction() as conn:
        post = await posts.load_post(item.post_id, conn, for_update=True)
        if post.author_id == user.id and not user.is_moderator:
            raise NotAllowed("You cannot review your own post; another reviewer will.")
        await _claim(user, item, decision, conn)
        await _carry_out(user, item, post, decision, note, conn)
    await questions.bump_generation()
    return {"item_id": item.id, "queue": item.queue, "decision": decision, "decided": True, "post_id": post.id}


async def _carry_out(user: User, item: ReviewItem, post: Post, decision: str, note: str, conn: Any) -> None:
    if decision == "spam":
        await posts._confirm_spam(post, user, note or "Confirmed spam in review", conn)
    elif decision in ("rude", "delete"):
        await posts._delete(post, user, note or ("Rude or abusive" if decision == "rude" else "Deleted in review"),
                            conn, action=decision)
        await posts.settle_flags(post, "helpful", conn)
    elif decision == "decline":
        declined = await posts.settle_flags(post, "declined", conn)
        await audit.record(user, "decline_flags", conn, post_id=post.id, user_id=post.author_id,
                           reason=note or f"Declined {declined} flag{'s' if declined != 1 else ''}")
        if post.deleted_at is None:
            await posts._unhide(post, user, "Its flags were declined", conn)
    elif decision == "looks_ok":
        await audit.record(user, "looks_ok", conn, post_id=post.id, user_id=post.author_id, reason=note)
    elif decision == "approve":
        suggestion = await SuggestedEdit.filter(id=item.suggested_edit_id).using_db(conn).first()
        await revisions.approve(user, suggestion, conn)
    elif decision == "reject":
        await audit.record(user, "reject_edit", conn, post_id=post.id, user_id=post.author_id, reason=note)
    elif decision in ("leave_open", "leave_closed"):
        await closing.leave_as_is(user, post, "close" if decision == "leave_open" else "reopen", conn)


async def _vote(user: User, item: ReviewItem, decision: str, note: str) -> dict:
    """A close or reopen decision is the reviewer's own vote; the item is decided when the votes carry."""
    privileges.require(user, "close")
    if item.decided_at is not None:
        raise Conflict("This item was already decided; take the next one.")
    votes = await CloseVote.filter(question_id=item.post_id, kind=decision, active_key__not_isnull=True).order_by("id")
    reason, original = (votes[0].reason, votes[0].duplicate_of_id) if votes and decision == "close" else ("off_topic", None)
    result = await closing.vote(user, item.post_id, decision, reason, original)
    decided = await ReviewItem.filter(id=item.id).exclude(decided_at=None).exists()
    return {"item_id": item.id, "queue": item.queue, "decision": decision, "decided": decided,
            "post_id": item.post_id, "votes": result["votes"], "needed": result["needed"]}


async def on_first_post(post: Post, conn: Any) -> None:
    """A new member's first post waits in the first-posts queue."""
    author = await User.filter(id=post.author_id).using_db(conn).first() if post.author_id else None
    if author is None or author.is_moderator or author.is_staff:
        return
    if author.reputation >= int(settings.get("limit.new_member_rep")):
        return
    if await Post.filter(author_id=author.id).using_db(conn).count() == 1:
        await posts.open_item("first_post", post, conn, note=f"First post by {author.username}")


async def _question_asked(question: Post, conn: Any, **_: Any) -> None:
    await on_first_post(question, conn)


async def _answer_posted(question: Post, answer: Post, conn: Any, **_: Any) -> None:
    await on_first_post(answer, conn)


events.subscribe("question_asked", _question_asked)
events.subscribe("answer_posted", _answer_posted)
