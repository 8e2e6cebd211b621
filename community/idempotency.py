"""Safer API writes: a client that sends an `Idempotency-Key` header with a write gets, on a retry
with the same key within 24 hours, the first response again instead of a second write.

A client whose connection died cannot tell whether its write committed; with a key it simply
sends the same request again. Keys belong to the member who sent them (or, anonymously, to the
client's address), so one member's key never replays another's response.

How a keyed write runs (POST, PUT, PATCH, DELETE under /api/):
- the first request stores a placeholder row (status null) for (principal, key), a statement of
  its own, committed before the write starts; the unique (principal, key) pair lets exactly one
  of several concurrent requests in;
- when it finishes, its status, body and content type are kept: 2xx, and 4xx other than the
  answers that depend on the moment (401, 403, 408, 429). Anything else (a 5xx, a 503 "busy", an
  error) frees the key, so the retry runs again;
- a retry finds the row: the same method, path and body (compared by its SHA-256) get the stored
  response with `Idempotent-Replayed: true`; while the first is still running, 409 "retry
  shortly"; another method, path or body, 422 (the way the IETF draft and Stripe answer it).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from tortoise.exceptions import IntegrityError

from community import clock
from community.errors import TooLarge
from community.models import IdempotentResponse

log = logging.getLogger("community")

HEADER = "Idempotency-Key"
KEEP = timedelta(hours=24)
# A placeholder this old belongs to a request that died with its process (no request runs this
# long); its key may be used again.
ABANDONED = timedelta(minutes=5)
PRUNE_EVERY = timedelta(hours=1)
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
NOT_KEPT = {401, 403, 408, 429}  # refusals that may turn out differently a moment later


def _kept(status: int) -> bool:
    return 200 <= status < 300 or (400 <= status < 500 and status not in NOT_KEPT)


def check_key(raw: bytes) -> str | None:
    """The key, or None when it is not 1 to 255 printable ASCII characters."""
    if not 1 <= len(raw) <= 255 or any(b < 0x20 or b > 0x7E for b in raw):
        return None
    key = raw.decode("ascii").strip()
    return key or None


class IdempotencyKeys:
    """The middleware; it sits inside the session middleware so it can tell who is asking."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.pruned_at: datetime | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITES or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        raw = [value for name, value in scope.get("headers") or [] if name == b"idempotency-key"]
        if not raw:
            await self.app(scope, receive, send)
            return
        key = check_key(raw[0]) if len(raw) == 1 else None
        if key is None:
            await _answer(scope, receive, send, 422, "invalid",
                          f"The {HEADER} header must be one value of 1 to 255 printable ASCII characters.")
            return
        try:
            body = await _read_body(receive)  # bounded by BodyLimit, which wraps this
        except TooLarge as exc:
            await _answer(scope, _replaying(b"", receive)(), send, 413, exc.code, exc.message)
            return
        replay = _replaying(body, receive)
        principal = await _principal(scope, replay())
        method, path, digest = scope["method"], scope["path"][:300], hashlib.sha256(body).hexdigest()
        row = await self._claim(principal, key, method, path, digest)
        if row is not None:
            await self._refuse_or_replay(row, method, path, digest, scope, replay(), send)
            return
        await self._run(principal, key, scope, replay(), send)

    async def _claim(self, principal: str, key: str, method: str, path: str, digest: str) -> IdempotentResponse | None:
        """Store the placeholder; None when this request holds the key now, else the row that holds it."""
        now = clock.now()
        await self._prune(now)
        for _ in range(3):
            try:
                await IdempotentResponse.create(principal=principal, key=key, method=method, path=path,
                                                request_digest=digest, status=None, created_at=now)
                return None
            except IntegrityError:
                row = await IdempotentResponse.filter(principal=principal, key=key).first()
            if row is None:
                continue  # freed meanwhile: try again
            age = now - _aware(row.created_at)
            if age < KEEP and (row.status is not None or age < ABANDONED):
                return row
            # Expired, or abandoned by a request that died: the key is free again.
            await IdempotentResponse.filter(id=row.id).delete()
        return await IdempotentResponse.filter(principal=principal, key=key).first()

    async def _refuse_or_replay(self, row: IdempotentResponse | None, method: str, path: str, digest: str,
                                scope: Scope, receive: Receive, send: Send) -> None:
        if row is None or row.status is None:
            await _answer(scope, receive, send, 409, "in_progress",
                          f"A request with this {HEADER} is still being processed; retry in a few seconds.",
                          [(b"retry-after", b"2")])
        elif (row.method, row.path) != (method, path):
            await _answer(scope, receive, send, 422, "invalid",
                          f"This {HEADER} was already used for {row.method} {row.path}; use a new key for another request.")
        elif row.request_digest != digest:
            await _answer(scope, receive, send, 422, "invalid",
                          f"This {HEADER} was already used with a different request body; use a new key for another request.")
        else:
            headers = [(b"idempotent-replayed", b"true")]
            if row.content_type:
                headers.append((b"content-type", row.content_type.encode("latin-1")))
            body = row.body.encode("utf-8")
            await _drain(receive)
            await send({"type": "http.response.start", "status": row.status,
                        "headers": headers + [(b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

    async def _run(self, principal: str, key: str, scope: Scope, receive: Receive, send: Send) -> None:
        status = 0
        content_type = b""
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            nonlocal status, content_type
            if message["type"] == "http.response.start":
                status = int(message["status"])
                content_type = next((v for n, v in message.get("headers") or [] if n.lower() == b"content-type"), b"")
            elif message["type"] == "http.response.body" and _kept(status):
                chunks.append(message.get("body", b""))
            await send(message)

        done = False
        try:
            await self.app(scope, receive, keep)
            done = True
        finally:
            await self._finish(principal, key, status if done else 0, content_type, b"".join(chunks))

    async def _finish(self, principal: str, key: str, status: int, content_type: bytes, body: bytes) -> None:
        row = IdempotentResponse.filter(principal=principal, key=key, status=None)
        try:
            text = body.decode("utf-8") if _kept(status) else None
        except UnicodeDecodeError:
            text = None  # only JSON and text are kept
        try:
            if text is None:
                await row.delete()
            else:
                await row.update(status=status, body=text, content_type=content_type.decode("latin-1")[:100])
        except Exception:  # the response went out already; a key left behind expires as abandoned
            log.exception("could not record the response to an %s", HEADER)

    async def _prune(self, now: datetime) -> None:
        if self.pruned_at is not None and now - self.pruned_at < PRUNE_EVERY and now >= self.pruned_at:
            return
        self.pruned_at = now
        await IdempotentResponse.filter(created_at__lt=now - KEEP).delete()


async def _principal(scope: Scope, receive: Receive) -> str:
    """`user:ID` for a signed-in member (bearer token or session), else `anon:ADDRESS`."""
    from community.web import client_address, current_user

    request = Request(scope, receive)
    user = await current_user(request)  # remembered on the request for the handler
    if user is not None:
        return f"user:{user.id}"
    return f"anon:{client_address(request)[:70]}"


async def _answer(scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str,
                  extra: list[tuple[bytes, bytes]] | None = None) -> None:
    from community.web import error_json

    response = error_json(status, code, message, HEADER)
    response.raw_headers.extend(extra or [])
    await _drain(receive)
    await response(scope, receive, send)


async def _read_body(receive: Receive) -> bytes:
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def _replaying(body: bytes, receive_more: Receive) -> Callable[[], Receive]:
    """Fresh `receive` callables that hand the already-read body over once, then pass on what the
    server sends next (the disconnect)."""

    def make() -> Receive:
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive_more()

        return receive

    return make


async def _drain(receive: Receive) -> None:
    """Read the request body the handler will not read, so the server can reuse the connection."""
    more = True
    while more:
        message = await receive()
        more = message.get("type") == "http.request" and message.get("more_body", False)


def _aware(value: Any) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
