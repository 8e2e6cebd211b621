"""The moderator audit log: every moderation action with who, what, when and why."""

from __future__ import annotations

from typing import Any

from community import clock, db, privileges
from community.errors import Invalid
from community.models import User
from moderation.models import AuditEntry

ACTIONS = (
    "flag", "auto_hide", "hide", "unhide", "spam", "rude", "delete", "undelete", "lock", "unlock",
    "close_vote", "reopen_vote", "close", "reopen", "leave_open", "leave_closed", "edit", "suggest_edit",
    "approve_edit", "reject_edit", "rollback", "decline_flags", "looks_ok", "suspend", "unsuspend", "queue", "review_vote",
    # The admin console (community/admin/members.py, delivery.py).
    "spam_hold", "spam_release",  # the spam triage (moderation/spam.py)
    "role", "reset_link", "end_sessions", "retry_delivery", "clear_bounce",
    "setting",  # the admin console's settings (community/admin/setting_changes.py)
)
# What the log page shows for each action: a person reads "Closed", never `close_vote`.
ACTION_TITLES = {
    "flag": "Flagged", "auto_hide": "Hidden by flags", "hide": "Hidden", "unhide": "Shown again", "spam": "Removed as spam",
    "rude": "Removed as rude or abusive", "delete": "Deleted", "undelete": "Undeleted", "lock": "Locked", "unlock": "Unlocked",
    "close_vote": "Voted to close", "reopen_vote": "Voted to reopen", "close": "Closed", "reopen": "Reopened",
    "leave_open": "Left open", "leave_closed": "Left closed", "edit": "Edited", "suggest_edit": "Suggested an edit",
    "approve_edit": "Approved an edit", "reject_edit": "Rejected an edit", "rollback": "Rolled back",
    "decline_flags": "Declined the flags", "looks_ok": "Reviewed: looks OK", "suspend": "Suspended", "unsuspend": "Unsuspended",
    "queue": "Sent to review", "review_vote": "Review vote",
    "spam_hold": "Held as suspected spam", "spam_release": "Released: not spam",
    "role": "Changed the role", "reset_link": "Sent a password reset link", "end_sessions": "Ended all sessions",
    "retry_delivery": "Retried a delivery", "clear_bounce": "Cleared a bouncing address",
    "setting": "Changed a setting",
}
PAGE_SIZE = 50


async def record(actor: User | int | None, action: str, conn: Any, post_id: int | None = None,
                 user_id: int | None = None, reason: str = "") -> AuditEntry:
    actor_id = actor.id if isinstance(actor, User) else actor
    return await AuditEntry.create(actor_id=actor_id, action=action, post_id=post_id, user_id=user_id,
                                   reason=(reason or "")[:2000], created_at=clock.now(), using_db=conn)


def _int_filter(value: Any, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise Invalid(name, f"{name.replace('_', ' ').capitalize()} must be a number.") from None
    if not 0 < n < 2**31:
        raise Invalid(name, f"{name.replace('_', ' ').capitalize()} must be a positive number.")
    return n


async def entries(viewer: User | None, action: Any = None, actor: Any = None, post_id: Any = None,
                  user_id: Any = None, before: Any = None, limit: int = PAGE_SIZE) -> tuple[list[AuditEntry], int | None]:
    """Newest first; `before` is the id to page back from. Returns (entries, next `before`)."""
    privileges.require_moderator(viewer)
    qs = AuditEntry.all()
    if action:
        if action not in ACTIONS:
            raise Invalid("action", f"Filter by one of: {', '.join(ACTION_TITLES[a].lower() for a in ACTIONS)}.")
        qs = qs.filter(action=action)
    if actor:
        if not isinstance(actor, str):
            raise Invalid("actor", "Give the moderator's username.")
        who = await User.filter(username=actor.strip()).first() if len(actor.strip()) <= 40 else None
        if who is None:
            raise Invalid("actor", f"There is no member called {actor.strip()[:40]!r}.")
        qs = qs.filter(actor_id=who.id)
    if (pid := _int_filter(post_id, "post_id")) is not None:
        qs = qs.filter(post_id=pid)
    if (uid := _int_filter(user_id, "user_id")) is not None:
        qs = qs.filter(user_id=uid)
    if (b := _int_filter(before, "before")) is not None:
        qs = qs.filter(id__lt=b)
    rows = await qs.order_by("-id").limit(limit + 1).select_related("actor")
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


async def subjects(rows: list[AuditEntry]) -> tuple[dict[int, dict], dict[int, dict]]:
    """The posts (with their question's title) and members a page of entries is about, so the log
    names them instead of showing ids: two queries for the whole page."""
    post_ids = sorted({e.post_id for e in rows if e.post_id})
    user_ids = sorted({e.user_id for e in rows if e.user_id})
    posts: dict[int, dict] = {}
    members: dict[int, dict] = {}
    if post_ids:
        marks = ", ".join("?" * len(post_ids))
        for r in await db.fetch(
                "SELECT p.id, p.kind, COALESCE(q.id, p.id) AS question_id, COALESCE(q.title, p.title) AS title "
                f"FROM post p LEFT JOIN post q ON q.id = p.question_id WHERE p.id IN ({marks})", post_ids):
            posts[int(r["id"])] = {"kind": r["kind"], "question_id": int(r["question_id"]), "title": r["title"] or ""}
    if user_ids:
        marks = ", ".join("?" * len(user_ids))
        for r in await db.fetch(f'SELECT id, username, display_name, deleted_at FROM "user" WHERE id IN ({marks})', user_ids):
            name = "deleted member" if r["deleted_at"] is not None else (r["display_name"] or r["username"])
            members[int(r["id"])] = {"name": name, "deleted": r["deleted_at"] is not None}
    return posts, members
