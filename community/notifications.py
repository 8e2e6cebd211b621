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


async def _last_mailed(user_ids: list[int], question_id: int, conn: Any) -> dict[int, Any]:
    """When each member was last mailed about this thread (members never mailed are left out)."""
    marks = ", ".join("?" for _ in user_ids)
    rows = await db.fetch(f"SELECT user_id, MAX(mailed_at) AS last FROM notification WHERE question_id = ? "
                          f"AND user_id IN ({marks}) AND mailed_at IS NOT NULL GROUP BY user_id",
                          [question_id, *user_ids], conn)
    return {int(r["user_id"]): r["last"] for r in rows if r["last"] is not None}


def _fold(now: Any, last: Any) -> Any:
    if last is None:
        return now
    last = db.as_datetime(last)
    if last.tzinfo is None:
        last = last.replace(tzinfo=now.tzinfo)
    return max(now, last + timedelta(minutes=float(settings.get("mail.fold_minutes"))))


async def notify(user_id: int | None, kind: str, text: str, url: str, conn: Any = None, skip: int | None = None, *,
                 question_id: int | None = None, post_id: int | None = None, comment_id: int | None = None,
                 reason: str = "") -> bool:
    """Add an inbox entry; `skip` is the actor, who is never notified of their own doing. Whether and
    when it is mailed follows the member's preference for `kind` (`community.preferences`)."""
    return await notify_many([user_id] if user_id is not None else [], kind, text, url, conn, skip, question_id=question_id,
                             post_id=post_id, comment_id=comment_id, reason=reason) > 0


async def notify_many(user_ids: list[int], kind: str, text: str, url: str, conn: Any = None, skip: int | None = None, *,
                      question_id: int | None = None, post_id: int | None = None, comment_id: int | None = None,
                      reason: str = "") -> int:
    """`notify` each member once (the actor skipped), in three statements however many they are
    (a question's watchers); returns how many were notified. Mailed at once: due now, or when the
    thread's fold window since the member's last mail about it is up."""
    ids = sorted({uid for uid in user_ids if uid is not None and uid != skip})
    if not ids:
        return 0
    now = clock.now()
    deliveries = await preferences.delivery(ids, kind, conn)
    at_once = [uid for uid in ids if deliveries[uid] == "now"]
    last = await _last_mailed(at_once, question_id, conn) if at_once and question_id is not None else {}
    rows = [Notification(user_id=uid, kind=kind, text=text[:300], url=url[:300], created_at=now, question_id=question_id,
                         post_id=post_id, comment_id=comment_id, actor_id=skip, reason=reason[:120],
                         mail_due_at=_fold(now, last.get(uid)) if deliveries[uid] == "now" else None,
                         digest=deliveries[uid] if deliveries[uid] in ("daily", "weekly") else "")
            for uid in ids]
    await db.insert_many(rows, conn)
    if at_once:
        mail.wake_event().set()
    return len(rows)


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
