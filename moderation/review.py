"""Review queues: flagged posts, first posts of new members, suggested edits, close and reopen votes.

An item is decided once: the decision claims it with a conditional UPDATE (... WHERE decided_at
IS NULL), so of two reviewers acting at once one wins and the other is told. A decision calls the
ordinary content services (hide, delete, edit, close) inside the same transaction.

Removing a post (spam, rude, delete) is binding at once only from a moderator. From any other
reviewer it is a vote: the post goes when `review.removal_votes` reviewers agree, or at the first
vote once the post's spam and abuse flags weigh as much as the auto-hide threshold (the community
has already hidden it). A post by a moderator or staff member is never removed that way: the
agreed item waits for a moderator. Reviewers other than moderators are not offered (and may not
decide) an item on a post they wrote or flagged, or one they already voted on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from community import clock, db, events, privileges, questions, settings
from community.errors import Conflict, Invalid, NotAllowed, NotFound
from community.models import Post, User
from moderation import audit, closing, posts, revisions, spam
from moderation.flags import flags_on, hiding_weight
from moderation.models import QUEUES, CloseVote, Flag, ReviewItem, ReviewVote, SuggestedEdit

QUEUE_TITLES = {
    "flagged": "Flagged posts",
    "first_post": "First posts",
    "suggested_edit": "Suggested edits",
    "close": "Close votes",
    "reopen": "Reopen votes",
    "spam": "Suspected spam",  # held by the spam triage (moderation/spam.py); moderators only
}
DECISIONS: dict[str, tuple[str, ...]] = {
    "flagged": ("spam", "rude", "delete", "decline"),
    "first_post": ("looks_ok", "spam", "delete"),
    "suggested_edit": ("approve", "reject"),
    "close": ("close", "leave_open"),
    "reopen": ("reopen", "leave_closed"),
    "spam": ("spam", "release"),
}
DECISION_TITLES = {
    "spam": "Spam", "rude": "Rude or abusive", "delete": "Delete", "decline": "Decline the flags",
    "looks_ok": "Looks OK", "approve": "Approve edit", "reject": "Reject edit", "close": "Vote to close",
    "leave_open": "Leave open", "reopen": "Vote to reopen", "leave_closed": "Leave closed",
    "release": "Not spam: release",
}
REMOVALS = ("spam", "rude", "delete")  # decisions that remove the post: a vote, unless a moderator decides
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
    removal_votes: list[ReviewVote] = field(default_factory=list)  # reviewers' votes to remove, so far


def _parse_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=clock.now().tzinfo)


def _offered(user: User) -> tuple[str, list]:
    """The SQL condition (on item `i` and its post `p`) for the waiting items this user may decide."""
    if user.is_moderator:
        return "", []
    return (" AND i.queue <> 'spam' AND NOT i.needs_moderator AND (p.author_id IS NULL OR p.author_id <> ?)"
            " AND (i.queue NOT IN ('flagged', 'first_post')"
            " OR NOT EXISTS (SELECT 1 FROM moderation_flag f WHERE f.post_id = i.post_id AND f.flagger_id = ?))"
            " AND NOT EXISTS (SELECT 1 FROM moderation_review_vote v WHERE v.item_id = i.id AND v.reviewer_id = ?)",
            [user.id, user.id, user.id])


async def summary(user: User | None) -> list[QueueSummary]:
    """Per queue, how many items wait for this reviewer and since when."""
    user = privileges.require(user, "review")
    offered, params = _offered(user)
    rows = await db.fetch(
        "SELECT i.queue, COUNT(*) AS n, MIN(i.created_at) AS oldest FROM moderation_review_item i "
        f"JOIN post p ON p.id = i.post_id WHERE i.decided_at IS NULL{offered} GROUP BY i.queue", params,
    )
    found = {r["queue"]: r for r in rows}
    return [QueueSummary(q, QUEUE_TITLES[q], int(found[q]["n"]) if q in found else 0,
                         _parse_time(found[q]["oldest"]) if q in found else None)
            for q in QUEUES if q != "spam" or user.is_moderator]


async def waiting(user: User | None, queue: Any = None, limit: int = PAGE_SIZE) -> list[ItemView]:
    """The oldest undecided items this reviewer may decide (of one queue, or all), with what they need to decide."""
    user = privileges.require(user, "review")
    offered, params = _offered(user)
    if queue:
        if queue not in QUEUES:
            raise Invalid("queue", f"Choose a queue: {', '.join(QUEUE_TITLES[q].lower() for q in QUEUES)}.")
        offered, params = offered + " AND i.queue = ?", [*params, queue]
    rows = await db.fetch(
        f"SELECT i.id FROM moderation_review_item i JOIN post p ON p.id = i.post_id WHERE i.decided_at IS NULL{offered} "
        "ORDER BY i.created_at, i.id LIMIT ?", [*params, int(limit)],
    )
    ids = [int(r["id"]) for r in rows]
    found = {i.id: i for i in await ReviewItem.filter(id__in=ids).select_related("post", "suggested_edit")}
    items = [found[i] for i in ids if i in found]
    post_ids = [i.post_id for i in items]
    authors = {u.id: u for u in await User.filter(id__in={i.post.author_id for i in items if i.post.author_id})}
    qids = {i.post.question_id for i in items if not i.post.is_question}
    titles = {p.id: p.title for p in await Post.filter(id__in=qids).only("id", "title")}
    flag_map = await flags_on(post_ids)
    votes: dict[int, list[CloseVote]] = {pid: [] for pid in post_ids}
    for v in await CloseVote.filter(question_id__in=post_ids, active_key__not_isnull=True).select_related("voter").order_by("id"):
        votes[v.question_id].append(v)
    removal_votes: dict[int, list[ReviewVote]] = {}
    for rv in await ReviewVote.filter(item_id__in=[i.id for i in items]).order_by("id"):
        removal_votes.setdefault(rv.item_id, []).append(rv)
    views: list[ItemView] = []
    for i in items:
        p = i.post
        if p.author_id in authors:
            p._author = authors[p.author_id]
        view = ItemView(i, p, p.title if p.is_question else titles.get(p.question_id, ""), DECISIONS[i.queue],
                        flags=[f for f in flag_map.get(p.id, []) if f.status == "pending"],
                        votes=[v for v in votes.get(p.id, []) if v.kind == i.queue],
                        removal_votes=removal_votes.get(i.id, []))
        if i.suggested_edit_id:
            s = i.suggested_edit
            view.suggestion = s
            view.suggestion_diff = revisions.body_diff(p.body, s.body) if s.body is not None else []
        views.append(view)
    return views


async def _already_decided(item_id: int, conn: Any) -> Conflict:
    done = await ReviewItem.filter(id=item_id).using_db(conn).select_related("decided_by").first()
    who = done.decided_by.username if done and done.decided_by else "Another reviewer"
    what = DECISION_TITLES.get(done.decision or "", done.decision or "decided") if done else "decided"
    return Conflict(f"{who} already decided this item ({what}); nothing was changed. Take the next one.")


async def _claim(user: User, item: ReviewItem, decision: str, conn: Any) -> None:
    won = await ReviewItem.filter(id=item.id, decided_at=None).using_db(conn).update(
        decided_at=clock.now(), decided_by_id=user.id, decision=decision, open_key=None)
    if not won:
        raise await _already_decided(item.id, conn)


async def _check_reviewer(user: User, item: ReviewItem, post: Post, conn: Any) -> None:
    """What `_offered` keeps from the list, refused when posted directly. Moderators decide anything."""
    if item.decided_at is not None:
        raise await _already_decided(item.id, conn)
    if user.is_moderator:
        return
    if item.queue == "spam":
        raise NotAllowed("Only moderators decide on suspected spam.")
    if post.author_id == user.id:
        raise NotAllowed("You cannot review your own post; another reviewer will.")
    if item.needs_moderator:
        raise NotAllowed("Reviewers agreed to remove this post, and its author is a moderator or staff member, "
                         "so a moderator decides it; take the next item.")
    if item.queue in ("flagged", "first_post") and await Flag.filter(post_id=post.id, flagger_id=user.id).using_db(conn).exists():
        raise NotAllowed("You flagged this post, so another reviewer decides on it; take the next item.")
    voted = await ReviewVote.filter(item_id=item.id, reviewer_id=user.id).using_db(conn).first()
    if voted is not None:
        raise Conflict(f"You already voted on this item ({DECISION_TITLES[voted.decision]}); "
                       "it waits for another reviewer. Take the next one.")


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
        raise Invalid("decision", f"For a {QUEUE_TITLES[item.queue].lower()} item, decide one of: {', '.join(DECISION_TITLES[d].lower() for d in allowed)}.")
    note = posts._reason(reason)
    if decision in ("close", "reopen"):
        return await _vote(user, item, decision, note)
    async with db.transaction() as conn:
        # Every decision locks the post first, so decisions and votes on one item take turns.
        post = await posts.load_post(item.post_id, conn, for_update=True)
        item = await ReviewItem.filter(id=item.id).using_db(conn).first() or item  # as it stands now
        await _check_reviewer(user, item, post, conn)
        if decision in REMOVALS and not user.is_moderator:
            result = await _vote_to_remove(user, item, post, decision, note, conn)
        else:
            await _claim(user, item, decision, conn)
            await _carry_out(user, item, post, decision, note, conn)
            await spam.learn(user, item.queue, post, decision, conn)  # every decision on spam teaches the model
            result = {"item_id": item.id, "queue": item.queue, "decision": decision, "decided": True, "post_id": post.id}
    if result["decided"]:
        await questions.bump_generation()
    return result


def _agreed(decisions: list[str], needed: int) -> str:
    """What the reviewers agreed on: spam or rude only when that many said so; otherwise a plain
    delete (they agree the post goes, not why, so its author gets no spam penalty)."""
    return next((d for d in REMOVALS if decisions.count(d) >= needed), "delete")


async def _vote_to_remove(user: User, item: ReviewItem, post: Post, decision: str, note: str, conn: Any) -> dict:
    """A reviewer's spam, rude or delete decision: recorded, and carried out once enough agree."""
    earlier = [v.decision for v in await ReviewVote.filter(item_id=item.id).using_db(conn).order_by("id")]
    try:
        await ReviewVote.create(item_id=item.id, reviewer_id=user.id, decision=decision, created_at=clock.now(), using_db=conn)
    except IntegrityError:
        raise Conflict("You already voted on this item; it waits for another reviewer. Take the next one.") from None
    decisions = [*earlier, decision]
    needed = max(1, int(settings.get("review.removal_votes")))
    threshold = int(settings.get("flag.hide_threshold"))
    weight = await hiding_weight(post.id, conn)
    result = {"item_id": item.id, "queue": item.queue, "decision": decision, "decided": False, "post_id": post.id,
              "votes": len(decisions), "needed": needed, "waiting_for": "reviewer"}
    title = DECISION_TITLES[decision]
    if weight < threshold and len(decisions) < needed:
        await audit.record(user, "review_vote", conn, post_id=post.id, user_id=post.author_id,
                           reason=f"{title}: vote {len(decisions)} of {needed}" + (f"; {note}" if note else ""))
        return result
    author = await User.filter(id=post.author_id).using_db(conn).first() if post.author_id else None
    if author is not None and (author.is_moderator or author.is_staff):
        await ReviewItem.filter(id=item.id).using_db(conn).update(needs_moderator=True)
        await audit.record(user, "review_vote", conn, post_id=post.id, user_id=post.author_id,
                           reason=f"{title}: reviewers agree, but the author is a moderator or staff member, so a moderator decides"
                           + (f"; {note}" if note else ""))
        return {**result, "waiting_for": "moderator"}
    carried = decision if weight >= threshold else _agreed(decisions, needed)
    why = (f"spam and abuse flags weigh {weight} (threshold {threshold})" if weight >= threshold
           else f"{len(decisions)} reviewers agreed")
    default = {"spam": "Confirmed spam in review", "rude": "Rude or abusive", "delete": "Deleted in review"}[carried]
    await _claim(user, item, carried, conn)
    await _carry_out(user, item, post, carried, f"{note or default} ({why})", conn)
    await spam.learn(user, item.queue, post, carried, conn)
    return {**result, "decision": carried, "decided": True, "waiting_for": None}


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
    elif decision == "release":
        await spam.release(user, post, note, conn)
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
    if author is None or author.is_moderator or author.is_staff or post.hidden:
        return  # hidden: held as suspected spam, which its own queue reviews
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
