"""What has not gone out: the helpdesk webhook outbox (community/support/webhooks.py), the mail outbox
(community/mail.py) and the addresses mail bounces from. An admin sees what failed and why, and makes
it due again so the existing senders deliver it; every retry and cleared bounce is in the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Q

from community import clock, db, mail, privileges
from community.errors import Invalid, NotFound
from community.models import OutgoingMail, User
from community.support import webhooks
from community.support.models import WebhookDelivery
from moderation import audit

LISTED = 50  # failed rows shown per outbox (the counts say how many there are in all)
OUTBOXES = ("webhook", "mail")


@dataclass
class Overview:
    webhook_on: bool
    webhook_pending: int
    webhook_failing: int
    webhook_rows: list[WebhookDelivery]
    mail_pending: int
    mail_retrying: int
    mail_failed: int
    mail_rows: list[OutgoingMail]
    bouncing: list[User]


def _webhook_failing() -> Any:
    """Undelivered events whose last try failed: they wait for their next try (the sender never gives up)."""
    return WebhookDelivery.filter(delivered_at=None).exclude(last_error="")


def _mail_failing() -> Any:
    """Unsent mail that failed at least once: waiting to retry, or given up (failed_at)."""
    return OutgoingMail.filter(sent_at=None).filter(Q(failed_at__isnull=False) | ~Q(last_error=""))


async def overview(viewer: User | None) -> Overview:
    privileges.require_admin(viewer, "see the delivery outboxes")
    return Overview(
        webhook_on=webhooks.enabled(),
        webhook_pending=await WebhookDelivery.filter(delivered_at=None).count(),
        webhook_failing=await _webhook_failing().count(),
        webhook_rows=await _webhook_failing().order_by("id").limit(LISTED),
        mail_pending=await OutgoingMail.filter(sent_at=None, failed_at=None).count(),
        mail_retrying=await OutgoingMail.filter(sent_at=None, failed_at=None).exclude(last_error="").count(),
        mail_failed=await OutgoingMail.filter(sent_at=None, failed_at__isnull=False).count(),
        mail_rows=await _mail_failing().order_by("-id").limit(LISTED),
        bouncing=await User.filter(email_bouncing_at__isnull=False, deleted_at=None).order_by("-email_bouncing_at", "-id").limit(200),
    )


def _outbox(value: Any) -> str:
    if value not in OUTBOXES:
        raise Invalid("outbox", "Say which outbox: webhook or mail.")
    return value


def _row_id(value: Any) -> int | None:
    """None for "all failed"; else the row's id."""
    if value in (None, "", "all"):
        return None
    if isinstance(value, bool):
        raise Invalid("id", "Give the id of the delivery to retry, or leave it out to retry every failed one.")
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise Invalid("id", "Give the id of the delivery to retry, or leave it out to retry every failed one.") from None
    if not 0 < n < 2**31:
        raise NotFound("There is no such delivery.")
    return n


@db.retried
async def retry(viewer: User | None, outbox: Any, row_id: Any = None) -> int:
    """Make one failed delivery (or every failed one) due now; returns how many were made due.

    Webhook events go out in order, so retrying one makes the waiting events before it due too (the
    sender would stop at the first one not due). Mail that was given up gets one more attempt."""
    actor = privileges.require_admin(viewer, "retry deliveries")
    outbox, rid = _outbox(outbox), _row_id(row_id)
    now = clock.now()
    async with db.transaction() as conn:
        if outbox == "webhook":
            qs = WebhookDelivery.filter(delivered_at=None)
            if rid is not None:
                if not await qs.filter(id=rid).using_db(conn).exists():
                    raise NotFound("That webhook event is not waiting any more (it may have been delivered).")
                qs = qs.filter(id__lte=rid)
            else:
                last = await _webhook_failing().using_db(conn).order_by("-id").first()
                qs = qs.filter(id__lte=last.id) if last is not None else qs.filter(id=0)
            count = await qs.filter(next_attempt_at__gt=now).using_db(conn).update(next_attempt_at=now)
        else:
            qs = _mail_failing()
            if rid is not None:
                if not await qs.filter(id=rid).using_db(conn).exists():
                    raise NotFound("That mail is not waiting any more (it may have been sent).")
                qs = qs.filter(id=rid)
            count = await qs.using_db(conn).update(failed_at=None, next_attempt_at=now)
        what = f"{outbox} {'#' + str(rid) if rid is not None else 'all failed'}: {count} made due"
        await audit.record(actor, "retry_delivery", conn, reason=what)
    if outbox == "mail" and count:
        mail.wake_event().set()  # this process's sender goes at once; others find it at their next poll
    return count


@db.retried
async def clear_bounce(viewer: User | None, user_id: Any) -> User:
    """Forget that a member's address bounced, so mail to it flows again."""
    actor = privileges.require_admin(viewer, "clear a bouncing address")
    if isinstance(user_id, bool):
        user_id = None
    try:
        uid = int(user_id)
    except (TypeError, ValueError):
        raise NotFound("There is no member with that id.") from None
    if not 0 < uid < 2**31:
        raise NotFound("There is no member with that id.")
    async with db.transaction() as conn:
        member = await User.filter(id=uid).using_db(conn).first()
        if member is None:
            raise NotFound("There is no member with that id.")
        if member.email_bouncing_at is None:
            return member
        before = member.email_bounce_reason
        await User.filter(id=uid).using_db(conn).update(email_bouncing_at=None, email_bounce_reason="")
        await audit.record(actor, "clear_bounce", conn, user_id=uid, reason=f"{member.email}: {before}"[:2000])
    member.email_bouncing_at, member.email_bounce_reason = None, ""
    return member
