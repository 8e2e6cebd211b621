"""Reputation: an append-only ledger and the cached total that always equals max(1, 1 + sum).

Every change is an event with a `ref` naming its cause. Undoing a cause appends the negation
of that ref's net amount, so undoing everything returns everyone to 1 without deleting a row.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from community import clock, db, settings
from community.models import ReputationEvent, User

CAPPED_REASON = "upvoted"


async def lock_users(user_ids: list[int], conn: Any) -> None:
    """Lock the users' rows (in id order, to avoid deadlocks) for the rest of the transaction.

    Lock a post's row before its people, and everyone a change touches in one call (the whole order:
    `community.questions.lock_post`). FOR NO KEY UPDATE: rows that refer to a member (their answer,
    vote, notification, ledger event) can still be inserted by others meanwhile.
    """
    for uid in sorted(set(user_ids)):
        await User.filter(id=uid).using_db(conn).select_for_update(no_key=True).only("id").first()


async def gained_today(user_id: int, day: date, conn: Any) -> int:
    """Net upvote gains of the day: an upvote taken back the same day (its undo, a negative amount
    after an upvote under the same ref) gives its room under the daily cap back."""
    rows = await db.fetch(
        "SELECT COALESCE(SUM(e.amount), 0) AS total FROM reputation_event e "
        "WHERE e.user_id = ? AND e.day = ? AND (e.reason = ? OR (e.reason = 'undo' AND e.amount < 0 AND EXISTS ("
        "SELECT 1 FROM reputation_event g WHERE g.user_id = e.user_id AND g.ref = e.ref AND g.day = e.day "
        "AND g.reason = ? AND g.id < e.id)))",
        [user_id, day, CAPPED_REASON, CAPPED_REASON],
        conn,
    )
    return max(0, int(rows[0]["total"]))


async def grant(user_id: int, amount: int, reason: str, ref: str, post_id: int | None, conn: Any) -> int:
    """Append an event; vote gains are trimmed to the daily cap. Returns the amount granted."""
    now = clock.now()
    day = now.date()
    if reason == CAPPED_REASON and amount > 0:
        room = settings.get("rep.daily_vote_cap") - await gained_today(user_id, day, conn)
        amount = max(0, min(amount, room))
    await ReputationEvent.create(
        user_id=user_id, amount=amount, reason=reason, ref=ref, post_id=post_id,
        created_at=now, day=day, using_db=conn,
    )
    return amount


async def undo(user_id: int, ref: str, conn: Any, post_id: int | None = None) -> int:
    """Append the negation of everything `ref` has given `user_id` so far."""
    rows = await db.fetch(
        "SELECT COALESCE(SUM(amount), 0) AS net FROM reputation_event WHERE user_id = ? AND ref = ?",
        [user_id, ref],
        conn,
    )
    net = int(rows[0]["net"])
    if net:
        now = clock.now()
        await ReputationEvent.create(
            user_id=user_id, amount=-net, reason="undo", ref=ref, post_id=post_id,
            created_at=now, day=now.date(), using_db=conn,
        )
    return -net


async def refresh_total(user_id: int, conn: Any) -> int:
    rows = await db.fetch(
        "SELECT COALESCE(SUM(amount), 0) AS total FROM reputation_event WHERE user_id = ?",
        [user_id],
        conn,
    )
    total = max(1, 1 + int(rows[0]["total"]))
    await User.filter(id=user_id).using_db(conn).update(reputation=total)
    return total


async def recompute_all(conn: Any = None) -> int:
    """Rebuild every cached total from the ledger (`run.py recompute-reputation`)."""
    await db.execute(
        "UPDATE \"user\" SET reputation = (SELECT CASE WHEN 1 + COALESCE(SUM(e.amount), 0) < 1 THEN 1 "
        "ELSE 1 + COALESCE(SUM(e.amount), 0) END FROM reputation_event e WHERE e.user_id = \"user\".id)",
        [],
        conn,
    )
    rows = await db.fetch('SELECT COUNT(*) AS n FROM "user"', [], conn)
    return int(rows[0]["n"])


async def history_by_day(user_id: int, limit: int = 60) -> list[dict]:
    rows = await db.fetch(
        "SELECT day, SUM(amount) AS total, COUNT(*) AS events FROM reputation_event "
        "WHERE user_id = ? GROUP BY day ORDER BY day DESC LIMIT ?",
        [user_id, limit],
    )
    return [{"day": str(r["day"]), "total": int(r["total"]), "events": int(r["events"])} for r in rows]


async def ledger(user_id: int, limit: int = 200) -> list[ReputationEvent]:
    return await ReputationEvent.filter(user_id=user_id).order_by("-id").limit(limit)
