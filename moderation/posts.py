"""The content services moderation decisions call: hide, delete, undelete, lock, confirm spam.

Each `_name(post, actor, reason, conn)` runs inside the caller's transaction (a review decision,
a flag); the public functions check the privilege and open their own transaction.
"""

from __future__ import annotations

from typing import Any

from community import clock, db, events, privileges, questions, reputation, settings
from community.errors import Conflict, Invalid, NotFound
from community.models import Post, User
from moderation import audit
from moderation.models import Flag, ReviewItem
from search import outbox


def question_id_of(post: Post) -> int:
    return post.id if post.is_question else post.question_id


async def load_post(post_id: Any, conn: Any = None, for_update: bool = False) -> Post:
    """Any post, visible or not: moderation acts on hidden and deleted posts too."""
    try:
        pid = int(post_id)
    except (TypeError, ValueError):
        raise NotFound("There is no post with that id.") from None
    qs = Post.filter(id=pid).using_db(conn) if -2**31 < pid < 2**31 else None
    if qs is not None and for_update:
        qs = qs.select_for_update()
    post = await qs.first() if qs is not None else None
    if post is None:
        raise NotFound("There is no post with that id.")
    return post


async def visibility_changed(post: Post, conn: Any) -> None:
    """What follows a post appearing or disappearing: answer counts and the search index."""
    qid = question_id_of(post)
    if not post.is_question:
        await questions.refresh_state(qid, conn)
    await outbox.enqueue(qid, conn)
    await events.emit("post_visibility_changed", post=post, conn=conn)


async def _tag_counts(question: Post, change: int, conn: Any) -> None:
    await db.execute(
        "UPDATE tag SET question_count = CASE WHEN question_count + ? < 0 THEN 0 ELSE question_count + ? END "
        "WHERE id IN (SELECT tag_id FROM post_tag WHERE post_id = ?)",
        [change, change, question.id], conn,
    )


async def settle_flags(post: Post, status: str, conn: Any) -> int:
    """Mark the post's pending flags helpful or declined (which moves each flagger's future weight)."""
    return await Flag.filter(post_id=post.id, status="pending").using_db(conn).update(status=status, decided_at=clock.now())


async def open_item(queue: str, post: Post, conn: Any, note: str = "", suggested_edit_id: int | None = None) -> ReviewItem | None:
    """Put a post in a queue unless it already waits there; returns the waiting item."""
    key = f"{queue}:{post.id}" if suggested_edit_id is None else f"{queue}:{post.id}:{suggested_edit_id}"
    item = await ReviewItem.filter(open_key=key).using_db(conn).first()
    if item is None:
        item = await ReviewItem.create(queue=queue, post_id=post.id, suggested_edit_id=suggested_edit_id,
                                       note=note[:300], open_key=key, created_at=clock.now(), using_db=conn)
    return item


async def close_items(post: Post, queues: tuple[str, ...], actor: User | None, decision: str, conn: Any) -> None:
    """Decide the waiting items that a direct moderator action has made moot."""
    await ReviewItem.filter(post_id=post.id, queue__in=queues, decided_at=None).using_db(conn).update(
        decided_at=clock.now(), decided_by_id=actor.id if actor else None, decision=decision, open_key=None)


async def _hide(post: Post, actor: User | None, reason: str, conn: Any, action: str = "hide") -> bool:
    changed = await Post.filter(id=post.id, hidden=False).using_db(conn).update(hidden=True)
    if changed:
        post.hidden = True
        await visibility_changed(post, conn)
        await audit.record(actor, action, conn, post_id=post.id, user_id=post.author_id, reason=reason)
    return bool(changed)


async def _unhide(post: Post, actor: User | None, reason: str, conn: Any) -> bool:
    changed = await Post.filter(id=post.id, hidden=True).using_db(conn).update(hidden=False)
    if changed:
        post.hidden = False
        await visibility_changed(post, conn)
        await audit.record(actor, "unhide", conn, post_id=post.id, user_id=post.author_id, reason=reason)
    return bool(changed)


async def _delete(post: Post, actor: User | None, reason: str, conn: Any, action: str = "delete") -> bool:
    changed = await Post.filter(id=post.id, deleted_at=None).using_db(conn).update(deleted_at=clock.now())
    if not changed:
        return False
    post.deleted_at = clock.now()
    if post.is_question:
        await _tag_counts(post, -1, conn)
    await visibility_changed(post, conn)
    await close_items(post, ("flagged", "first_post", "suggested_edit", "close", "reopen", "spam"), actor, "deleted", conn)
    await audit.record(actor, action, conn, post_id=post.id, user_id=post.author_id, reason=reason)
    return True


async def _confirm_spam(post: Post, actor: User | None, reason: str, conn: Any) -> None:
    """Delete the post, charge its author the spam penalty once, and queue their other posts.
    The penalty comes only with the deletion: a post already deleted costs nothing more."""
    deleted = await _delete(post, actor, reason or "Confirmed spam", conn, action="spam")
    await settle_flags(post, "helpful", conn)
    if post.author_id is None or not deleted:
        return
    ref = f"spam:{post.id}"
    await reputation.lock_users([post.author_id], conn)
    # Charged once per post: a penalty given back by undelete leaves a net of zero, so it can be charged again.
    charged = await db.fetch("SELECT COALESCE(SUM(amount), 0) AS net FROM reputation_event WHERE user_id = ? AND ref = ?",
                             [post.author_id, ref], conn)
    if not int(charged[0]["net"]):
        await reputation.grant(post.author_id, int(settings.get("rep.spam_penalty")), "spam", ref, post.id, conn)
        await reputation.refresh_total(post.author_id, conn)
    others = await Post.filter(author_id=post.author_id, deleted_at=None).exclude(id=post.id).using_db(conn).order_by("id").limit(200)
    for other in others:
        if await open_item("flagged", other, conn, note="Posted by a member whose spam was confirmed"):
            await audit.record(actor, "queue", conn, post_id=other.id, user_id=post.author_id,
                               reason=f"Author's post {post.id} was confirmed spam")


def _need_moderate(user: User | None) -> User:
    return privileges.require(user, "moderate")


async def delete(user: User | None, post_id: Any, reason: Any = "") -> Post:
    user = _need_moderate(user)
    async with db.transaction() as conn:
        post = await load_post(post_id, conn, for_update=True)
        if not await _delete(post, user, _reason(reason), conn):
            raise Conflict("This post is already deleted.")
        await settle_flags(post, "helpful", conn)
    await questions.bump_generation()
    return post


async def undelete(user: User | None, post_id: Any, reason: Any = "") -> Post:
    """Bring a deleted post back; a spam penalty charged for it is given back too."""
    user = _need_moderate(user)
    async with db.transaction() as conn:
        post = await load_post(post_id, conn, for_update=True)
        if post.deleted_at is None:
            raise Conflict("This post is not deleted.")
        await Post.filter(id=post.id).using_db(conn).update(deleted_at=None, hidden=False)
        post.deleted_at, post.hidden = None, False
        if post.is_question:
            await _tag_counts(post, 1, conn)
        if post.author_id is not None:
            await reputation.lock_users([post.author_id], conn)
            if await reputation.undo(post.author_id, f"spam:{post.id}", conn, post.id):
                await reputation.refresh_total(post.author_id, conn)
        await visibility_changed(post, conn)
        await audit.record(user, "undelete", conn, post_id=post.id, user_id=post.author_id, reason=_reason(reason))
    await questions.bump_generation()
    return post


async def set_locked(user: User | None, post_id: Any, locked: Any = True, reason: Any = "") -> Post:
    """Lock (no votes, answers, comments or edits) or unlock a post."""
    user = _need_moderate(user)
    if not isinstance(locked, bool):
        raise Invalid("locked", "Send locked: true to lock or false to unlock.")
    async with db.transaction() as conn:
        post = await load_post(post_id, conn, for_update=True)
        if post.deleted_at is not None and not user.is_moderator:
            raise NotFound("There is no post with that id.")
        if post.locked == locked:
            raise Conflict("This post is already locked." if locked else "This post is not locked.")
        await Post.filter(id=post.id).using_db(conn).update(locked=locked)
        post.locked = locked
        await audit.record(user, "lock" if locked else "unlock", conn, post_id=post.id, user_id=post.author_id,
                           reason=_reason(reason))
    await questions.bump_generation()
    return post


def _reason(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid("reason", "The reason must be text.")
    return value.strip()[:500]
