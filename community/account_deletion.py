"""Deleting an account, by its member (who confirms with their password) or by an admin.

The posts and comments stay, shown as written by "deleted member" with no profile link; the row
stays too (it holds the ledger and the posts' author id) but loses everything personal: the username
becomes "deleted-<id>" (so the old name is free for a new sign-up), the email, password, about,
location, time zone and picture go, every session ends and every token is revoked, watches,
notification settings, the inbox and the member's mail go. The votes they cast are taken back, with
the reputation they gave or cost undone through the ledger, as if each voter had retracted them.
"""

from __future__ import annotations

from typing import Any

from tortoise.expressions import F

from community import accounts, avatars, clock, db, privileges, reputation
from community.errors import Conflict, Invalid, NotAllowed, NotFound
from community.models import (LoginFailure, Notification, NotificationPreference, OutgoingMail, Post, QuestionWatch,
                              TagWatch, User, UserIdentity, Vote)
from community.profile import DELETED_NAME
from community.questions import bump_generation, lock_post
from search import outbox

CONFIRM_WORD = "delete"


def deleted_username(user_id: int) -> str:
    return f"deleted-{user_id}"


async def _refuse_last_admin(member: User) -> None:
    if member.role == "admin" and not await User.filter(role="admin", deleted_at=None).exclude(id=member.id).exists():
        raise Conflict("This is the forum's only admin account. Make another member an admin before deleting it.")


async def delete_own(user: User | None, password: Any, confirm: Any, config: Any) -> User:
    """The member deletes their own account: they type "delete" and their password (a member who
    signs in only through an OpenID Connect provider has none)."""
    user = privileges.require_user(user)
    if not isinstance(confirm, str) or confirm.strip().lower() != CONFIRM_WORD:
        raise Invalid("confirm", f"Type “{CONFIRM_WORD}” to confirm that the account should go.")
    if user.password_hash is not None or not await UserIdentity.filter(user_id=user.id).exists():
        await accounts.check_current_password(user, password, "delete_password")
    # else a member who only signs in through a provider: their signed-in session and the word suffice
    await _refuse_last_admin(user)
    return await _delete(user.id, config)


async def delete_by_admin(admin: User | None, member_id: Any, confirm: Any, config: Any) -> User:
    """An admin deletes a member's account (typing "delete" to confirm)."""
    admin = privileges.require_user(admin)
    if admin.role != "admin":
        raise NotAllowed("Only administrators can delete another member's account.")
    try:
        member = await accounts.get_user(int(member_id))
    except (TypeError, ValueError):
        raise NotFound("There is no member with that id.") from None
    if member.deleted_at is not None:
        raise Conflict("This account is already deleted.")
    if member.id == admin.id:
        raise NotAllowed("Delete your own account from your account page, with your password.")
    if not isinstance(confirm, str) or confirm.strip().lower() != CONFIRM_WORD:
        raise Invalid("confirm", f"Type “{CONFIRM_WORD}” to confirm that this account should go.")
    await _refuse_last_admin(member)
    return await _delete(member.id, config)


async def _delete(member_id: int, config: Any) -> User:
    avatar = await _delete_rows(member_id)
    await bump_generation()
    if avatar:
        await avatars.forget(avatar, config)  # after the commit: a rolled-back deletion keeps its picture
    return await User.get(id=member_id)


@db.retried
async def _delete_rows(member_id: int) -> str:
    """One transaction: votes taken back, personal data scrubbed, sessions and tokens ended. Returns
    the avatar file name the member had ("" if none), to be forgotten after the commit."""
    async with db.transaction() as conn:
        member = await User.filter(id=member_id).using_db(conn).first()
        if member is None or member.deleted_at is not None:
            raise Conflict("This account is already deleted.")
        touched = await _take_back_votes(member, conn)
        questions = set(await Post.filter(author_id=member.id, kind="question").using_db(conn).values_list("id", flat=True))
        questions |= set(await Post.filter(author_id=member.id, kind="answer").using_db(conn).values_list("question_id", flat=True))
        await reputation.lock_users([member.id], conn)
        await User.filter(id=member.id).using_db(conn).update(
            username=deleted_username(member.id), display_name=DELETED_NAME, email="", pending_email="",
            email_confirmed_at=None, email_bouncing_at=None, email_bounce_reason="", password_hash=None,
            about="", location="", avatar="", time_zone="", role="member", last_seen_at=None,
            deleted_at=clock.now())
        await accounts.end_sessions(member.id, conn)
        await accounts.revoke_tokens(member.id, conn)
        for model in (NotificationPreference, QuestionWatch, TagWatch, Notification, UserIdentity):
            await model.filter(user_id=member.id).using_db(conn).delete()
        await OutgoingMail.filter(user_id=member.id).using_db(conn).delete()
        await LoginFailure.filter(key__in=[f"change:{member.id}"]).using_db(conn).delete()
        await LoginFailure.filter(key__startswith=f"pair:{member.username.lower()}@").using_db(conn).delete()
        for qid in sorted(questions | touched):  # search documents name the author: index them again
            await outbox.enqueue(qid, conn)
    return member.avatar


async def _take_back_votes(member: User, conn: Any) -> set[int]:
    """Retract every vote the member cast, post by post in the usual lock order (the post, then its
    people); returns the questions whose scores changed."""
    touched: set[int] = set()
    for vote in await Vote.filter(voter_id=member.id).using_db(conn).order_by("post_id"):
        post = await lock_post(vote.post_id, conn)
        people = [member.id] + ([post.author_id] if post.author_id else [])
        await reputation.lock_users(people, conn)
        ref = f"vote:{post.id}:{member.id}"
        for uid in set(people):
            await reputation.undo(uid, ref, conn, post.id)
        await Vote.filter(id=vote.id).using_db(conn).delete()
        await Post.filter(id=post.id).using_db(conn).update(score=F("score") - vote.value)
        for uid in set(people):
            await reputation.refresh_total(uid, conn)
        touched.add(post.question_id or post.id)
    return touched
