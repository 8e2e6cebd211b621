"""Suspensions: a moderator stops a member writing for a number of days, with a reason they see."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from community import accounts, clock, db, privileges, questions
from community.errors import Invalid, NotAllowed, NotFound
from community.models import User
from community.notifications import notify
from moderation import audit

MAX_DAYS = 365
REASON_MIN, REASON_MAX = 10, 500


async def suspend(moderator: User | None, user_id: Any, days: Any, reason: Any) -> User:
    """Suspend for `days` (1..365); 0 days lifts a suspension early."""
    moderator = privileges.require_moderator(moderator)
    if isinstance(days, bool):
        days = None
    try:
        n = int(days)
    except (TypeError, ValueError):
        raise Invalid("days", f"Give the number of days, 1 to {MAX_DAYS} (0 lifts a suspension).") from None
    if not 0 <= n <= MAX_DAYS:
        raise Invalid("days", f"Give the number of days, 1 to {MAX_DAYS} (0 lifts a suspension).")
    if reason is None:
        reason = ""
    if not isinstance(reason, str):
        raise Invalid("reason", "The reason must be text.")
    reason = " ".join(reason.split())
    if n and len(reason) < REASON_MIN:
        raise Invalid("reason", f"Tell the member why, in at least {REASON_MIN} characters; they will see it.")
    if len(reason) > REASON_MAX:
        raise Invalid("reason", f"Keep the reason to {REASON_MAX} characters (it has {len(reason)}).")
    try:
        uid = int(user_id)
    except (TypeError, ValueError):
        uid = 0
    if not 0 < uid < 2**31:
        raise NotFound("There is no member with that id.")
    member = await accounts.get_user(uid)
    if member.id == moderator.id:
        raise NotAllowed("You cannot suspend yourself.")
    if member.is_moderator and moderator.role != "admin":
        raise NotAllowed("Only an admin can suspend a moderator.")
    until = clock.now() + timedelta(days=n) if n else None
    async with db.transaction() as conn:
        await User.filter(id=member.id).using_db(conn).update(suspended_until=until, suspension_reason=reason if n else "")
        if n:
            # Every browser session ends: the member logs in again and meets the suspension. API
            # tokens stay: writes through them are refused anyway (privileges.require_active) with
            # the reason, which a revoked token's 401 would hide from the member's programs.
            await accounts.end_sessions(member.id, conn)
            await audit.record(moderator, "suspend", conn, user_id=member.id, reason=f"{n} day{'s' if n != 1 else ''}: {reason}")
            await notify(member.id, "suspension", f"Your account is suspended for {n} day{'s' if n != 1 else ''}: {reason}",
                         f"/users/{member.id}", conn)
        else:
            await audit.record(moderator, "unsuspend", conn, user_id=member.id, reason=reason)
            await notify(member.id, "suspension", "Your suspension has been lifted; you can post again.", f"/users/{member.id}", conn)
    await questions.bump_generation()
    member.suspended_until, member.suspension_reason = until, reason if n else ""
    return member
