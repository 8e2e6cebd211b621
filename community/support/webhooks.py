"""Helpdesk hand-off: ticket events go into an outbox in the same transaction as the change,
and a sender POSTs them to SUPPORT_WEBHOOK_URL, signed, in order, retrying with back-off.

The receiver sees each event once after it acknowledges (2xx): the row is marked delivered at
once, a lease keeps two processes from sending the same row, and `X-Support-Delivery` (the row
id) lets a receiver drop the rare repeat that a crash between its ack and our write could cause.
Signature: `X-Support-Signature: sha256=<hex HMAC-SHA256 of the raw body with the secret>`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from datetime import datetime, timedelta
from typing import Any

import httpx

from community import clock
from community.loop_guard import LoopGuard
from community.support.models import WebhookDelivery

log = logging.getLogger("community.support.webhooks")

LEASE = timedelta(seconds=60)
FIRST_RETRY_SECONDS = 5.0
MAX_RETRY_SECONDS = 3600.0


class Target:
    """Where events go; empty url: the hand-off is off and nothing is queued."""

    url: str = ""
    secret: str = ""


def configure(url: str, secret: str) -> None:
    Target.url, Target.secret = url.strip(), secret


def enabled() -> bool:
    return bool(Target.url)


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff(attempts: int) -> float:
    """Seconds to wait after the `attempts`-th failure: 5, 10, 20, ... capped at an hour."""
    return min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** max(0, attempts - 1))


def payload(event: str, ticket: dict[str, Any], at: datetime) -> str:
    return json.dumps({"event": event, "at": at.isoformat(), "ticket": ticket}, sort_keys=True)


async def enqueue(event: str, ticket: dict[str, Any], conn: Any) -> None:
    """Queue one event inside the caller's transaction (nothing when the hand-off is off)."""
    if not enabled():
        return
    now = clock.now()
    await WebhookDelivery.create(event=event, ticket_id=ticket["id"], payload=payload(event, ticket, now),
                                 created_at=now, next_attempt_at=now, using_db=conn)


def rows(event: str, tickets: list[dict[str, Any]], now: datetime) -> list[WebhookDelivery]:
    """Unsaved outbox rows for a batch (the sweeper bulk-inserts them)."""
    if not enabled():
        return []
    return [WebhookDelivery(event=event, ticket_id=t["id"], payload=payload(event, t, now), created_at=now,
                            next_attempt_at=now) for t in tickets]


async def _take(row: WebhookDelivery, now: datetime) -> bool:
    """Lease the row for this sender; False if another sender holds it or it is already sent."""
    from tortoise.expressions import Q

    taken = await WebhookDelivery.filter(id=row.id, delivered_at=None).filter(
        Q(locked_until=None) | Q(locked_until__lt=now)).update(locked_until=now + LEASE)
    return taken == 1


async def deliver_due(client: httpx.AsyncClient | None = None, limit: int = 100) -> int:
    """Send what is due, oldest first; stop at the first failure so the receiver sees events in
    order. Returns how many were acknowledged."""
    if not enabled():
        return 0
    own = client is None
    client = client or httpx.AsyncClient(timeout=10)
    sent = 0
    try:
        pending = await WebhookDelivery.filter(delivered_at=None).order_by("id").limit(limit)
        for row in pending:
            now = clock.now()
            if row.next_attempt_at > now or not await _take(row, now):
                break
            body = row.payload.encode()
            headers = {"content-type": "application/json", "x-support-event": row.event,
                       "x-support-delivery": str(row.id), "x-support-signature": sign(body, Target.secret)}
            error = ""
            try:
                response = await client.post(Target.url, content=body, headers=headers)
                if not 200 <= response.status_code < 300:
                    error = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
            if not error:
                await WebhookDelivery.filter(id=row.id).update(delivered_at=clock.now(), locked_until=None,
                                                               attempts=row.attempts + 1, last_error="")
                sent += 1
                continue
            attempts = row.attempts + 1
            await WebhookDelivery.filter(id=row.id).update(
                attempts=attempts, last_error=error, locked_until=None,
                next_attempt_at=clock.now() + timedelta(seconds=backoff(attempts)))
            log.warning("support webhook delivery %s failed (%s); retry %d later", row.id, error, attempts)
            break
    finally:
        if own:
            await client.aclose()
    return sent


async def delivery_loop(poll_seconds: float = 2.0) -> None:
    """The in-server sender: runs until cancelled, never lets one failure stop it."""
    guard = LoopGuard("the support webhook sender")  # an outage: one line, back-off, one line when it is back
    async with httpx.AsyncClient(timeout=10) as client:
        while True:
            pause = poll_seconds
            try:
                while await deliver_due(client) > 0:
                    pass
                guard.ok()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a database hiccup must not end the loop
                pause = guard.failed(exc, "support webhook sender failed; trying again", poll_seconds)
            await asyncio.sleep(pause)
