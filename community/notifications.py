"""The in-app inbox: what happened that a member should know about, and (per the member's
preference for its kind) a mail at once or a line in their digest.

A notification to mail at once gets `mail_due_at`; the composer (`community.notification_mail`)
turns due rows into outbox mail, one per member and thread. Mails fold: a member mailed about a
thread less than `mail.fold_minutes` ago gets the next event in one mail when that time is up.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from community import clock, db, mail, preferences, settings
from community.models import Notification, User

settings.declare("mail.fold_minutes", 5, "At most one mail per member and thread this often (later events fold into the next mail)", "mail")


async def _mail_due(user_id: int, question_id: int | None, now: Any, conn: Any) -> Any:
    """Now, or when the fold window since this member's last mail about the thread is up."""
    if question_id is None:
        return now
    rows = await db.fetch("SELECT MAX(mailed_at) AS last FROM notification WHERE user_id = ? AND question_id = ? "
                          "AND mailed_at IS NOT NULL", [user_id, question_id], conn)
    last = rows[0]["last"] if rows else None
    if last is None:
        return now
    if isinstance(last, str):  # SQLite hands back text from an aggregate
        from datetime import datetime
        last = datetime.fromisoformat(last)
    if last.tzinfo is None:
        last = last.replace(tzinfo=now.tzinfo)
    return max(now, last + timedelta(minutes=float(settings.get("mail.fold_minutes"))))


async def notify(user_id: int | None, kind: str, text: str, url: str, conn: Any = None, skip: int | None = None, *,
                 question_id: int | None = None, post_id: int | None = None, comment_id: int | None = None,
                 reason: str = "") -> Notification | None:
    """Add an inbox entry; `skip` is the actor, who is never notified of their own doing. Whether and
    when it is mailed follows the member's preference for `kind` (`community.preferences`)."""
    if user_id is None or user_id == skip:
        return None
    now = clock.now()
    delivery = (await preferences.delivery([user_id], kind, conn))[user_id]
    due = await _mail_due(user_id, question_id, now, conn) if delivery == "now" else None
    row = await Notification.create(
        user_id=user_id, kind=kind, text=text[:300], url=url[:300], created_at=now, question_id=question_id,
        post_id=post_id, comment_id=comment_id, actor_id=skip, reason=reason[:120], mail_due_at=due,
        digest=delivery if delivery in ("daily", "weekly") else "", using_db=conn)
    if due is not None and due <= now:
        mail.wake_event().set()  # this process's sender composes it at once
    return row


async def notify_many(user_ids: list[int], kind: str, text: str, url: str, conn: Any = None, skip: int | None = None,
                      **where: Any) -> int:
    """`notify` each member once (the actor skipped); returns how many were notified."""
    done = 0
    for uid in sorted(set(user_ids)):
        if await notify(uid, kind, text, url, conn, skip, **where) is not None:
            done += 1
    return done


async def notify_tag_watchers(question: Any, tag_ids: list[int], conn: Any) -> None:
    """A new question: members watching one of its tags who want such mail at once get an inbox entry
    and a mail, in one statement whatever their number (digests read new questions themselves)."""
    if not tag_ids:
        return
    marks = ", ".join("?" for _ in tag_ids)
    now = clock.now()
    wants_now = "np.delivery = 'now'" if preferences.default("tag_question") != "now" else "(np.delivery IS NULL OR np.delivery = 'now')"
    await db.execute(
        "INSERT INTO notification (user_id, kind, text, url, created_at, question_id, post_id, reason, mail_due_at, digest) "
        "SELECT tw.user_id, 'tag_question', ?, ?, ?, ?, ?, 'you watch the tag ' || MIN(t.name), ?, '' "
        "FROM tag_watch tw JOIN tag t ON t.id = tw.tag_id "
        "LEFT JOIN notification_preference np ON np.user_id = tw.user_id AND np.kind = 'tag_question' "
        f"WHERE tw.tag_id IN ({marks}) AND tw.user_id <> ? AND {wants_now} GROUP BY tw.user_id",
        [f"New question: {question.title}"[:300], f"/questions/{question.id}", now, question.id, question.id, now,
         *tag_ids, question.author_id], conn)
    mail.wake_event().set()


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
