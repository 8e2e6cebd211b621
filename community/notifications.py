"""The in-app inbox: what happened that a member should know about."""

from __future__ import annotations

from typing import Any

from community import clock, db
from community.models import Notification, User


async def notify(user_id: int | None, kind: str, text: str, url: str, conn: Any = None, skip: int | None = None) -> None:
    """Add an inbox entry; `skip` is the actor, who is never notified of their own doing."""
    if user_id is None or user_id == skip:
        return
    await Notification.create(user_id=user_id, kind=kind, text=text[:300], url=url[:300],
                              created_at=clock.now(), using_db=conn)


async def unread_count(user: User | None) -> int:
    if user is None:
        return 0
    # Every member page's header asks this: plain SQL costs a third of the ORM's count query.
    rows = await db.fetch("SELECT COUNT(*) AS n FROM notification WHERE user_id = ? AND read_at IS NULL", [user.id])
    return int(rows[0]["n"])


async def inbox(user: User, limit: int = 50) -> list[Notification]:
    return await Notification.filter(user_id=user.id).order_by("-id").limit(limit)


async def mark_read(user: User) -> int:
    return await Notification.filter(user_id=user.id, read_at=None).update(read_at=clock.now())
