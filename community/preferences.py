"""How each member wants each kind of notification mailed: at once, in the daily or weekly digest,
or never. Only choices that differ from the defaults are stored."""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError

from community.errors import Invalid
from community.models import NotificationPreference, User

DELIVERIES = ("now", "daily", "weekly", "never")
DELIVERY_LABELS = {"now": "At once", "daily": "Daily digest", "weekly": "Weekly digest", "never": "Never"}

# kind -> (what the member reads on the settings page, the default delivery). Every in-app kind that
# may be mailed is here; a kind not listed (e.g. "suspension") stays in the inbox only.
KINDS: dict[str, tuple[str, str]] = {
    "answer": ("An answer on your question", "now"),
    "agent_reply": ("Our support team answered your question", "now"),
    "comment": ("A comment on your post", "now"),
    "mention": ("Someone @mentions you", "now"),
    "accepted": ("Your answer is accepted", "now"),
    "escalated": ("Your question is passed to our support team", "now"),
    "watched_answer": ("An answer on a question you watch", "now"),
    "tag_question": ("A new question in a tag you watch", "daily"),
    "nudge": ("A question in your tags needs an answer before it goes to staff", "now"),
    "ticket_assigned": ("A support ticket is assigned to you", "now"),
}


def default(kind: str) -> str:
    return KINDS[kind][1] if kind in KINDS else "never"


async def get(user: User, conn: Any = None) -> dict[str, str]:
    """Every kind with this member's delivery for it."""
    chosen = {p.kind: p.delivery for p in await NotificationPreference.filter(user_id=user.id).using_db(conn)}
    return {kind: chosen.get(kind, default_) for kind, (_, default_) in KINDS.items()}


async def delivery(user_ids: list[int], kind: str, conn: Any = None) -> dict[int, str]:
    """Each member's delivery for one kind, in one query."""
    if kind not in KINDS:
        return dict.fromkeys(user_ids, "never")
    ids = sorted(set(user_ids))
    chosen: dict[int, str] = {}
    if ids:
        rows = await NotificationPreference.filter(user_id__in=ids, kind=kind).using_db(conn).values("user_id", "delivery")
        chosen = {r["user_id"]: r["delivery"] for r in rows}
    return {uid: chosen.get(uid, default(kind)) for uid in ids}


def check(changes: Any) -> dict[str, str]:
    """`{kind: delivery}` from a form or JSON, refused whole if any entry is unknown."""
    if not isinstance(changes, dict):
        raise Invalid("settings", "Send an object of kind: delivery, e.g. {\"answer\": \"now\"}.")
    clean: dict[str, str] = {}
    for kind, value in changes.items():
        if kind not in KINDS:
            raise Invalid(str(kind)[:40], f"There is no notification kind {str(kind)[:40]!r}; the kinds are: {', '.join(KINDS)}.")
        if value not in DELIVERIES:
            raise Invalid(kind, f"Choose one of {', '.join(DELIVERIES)} for {kind!r}.")
        clean[kind] = value
    return clean


async def put(user: User, changes: Any, conn: Any = None) -> dict[str, str]:
    """Set some kinds (others unchanged); a choice equal to the default is stored as no row."""
    for kind, value in check(changes).items():
        if value == default(kind):
            await NotificationPreference.filter(user_id=user.id, kind=kind).using_db(conn).delete()
            continue
        updated = await NotificationPreference.filter(user_id=user.id, kind=kind).using_db(conn).update(delivery=value)
        if not updated:
            try:
                await NotificationPreference.create(user_id=user.id, kind=kind, delivery=value, using_db=conn)
            except IntegrityError:  # a concurrent request created it first: ours is the later choice
                await NotificationPreference.filter(user_id=user.id, kind=kind).using_db(conn).update(delivery=value)
    return await get(user, conn)
