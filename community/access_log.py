"""Structured access log: one key=value line per request on standard output.

    time=2026-12-02T07:40:01.123Z method=GET route=/questions/{id}/{slug} status=200 ms=4.1 id=5f0c9a1e2b7d

`route` is the route's template (never the path itself, which may carry tokens from mail links or
search words); `-` when no route matched. `id` is the request's X-Request-ID when the proxy sent a
sane one, else a new one; it is sent back in the X-Request-ID header. Successful /healthz and /readyz
probes are not logged (a load balancer asks every few seconds); failed ones are.

On by default for `run.py serve` (it sets ACCESS_LOG=1 unless it is set); ACCESS_LOG=0 turns it off.
The app built elsewhere (tests, `uvicorn community.app:create_app`) logs only with ACCESS_LOG=1.
"""

from __future__ import annotations

import logging
import re
import secrets
import sys
import time
from collections.abc import Mapping
from typing import Any

from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("community.access")
QUIET_WHEN_OK = {"/healthz", "/readyz"}
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def enabled(env: Mapping[str, str]) -> bool:
    return (env.get("ACCESS_LOG") or "0").strip().lower() in {"1", "true", "yes", "on"}


def _handler() -> None:
    """Lines go to standard output as they are, whatever uvicorn did to the other loggers."""
    if not any(getattr(h, "_access_log", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._access_log = True  # type: ignore[attr-defined]
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def _templates(routes: list, prefix: str = "", into: dict[int, list[tuple[str, Any]]] | None = None) -> dict:
    """endpoint id -> [(template, route)]: the router leaves the matched endpoint in the scope."""
    into = {} if into is None else into
    for route in routes:
        if isinstance(route, Mount):
            inner = getattr(route, "routes", None) or []
            if inner:
                _templates(inner, prefix + route.path, into)
            into.setdefault(id(route.app), []).append((prefix + route.path + "/{path}", None))
        elif isinstance(route, Route):
            into.setdefault(id(route.endpoint), []).append((prefix + route.path, route))
    return into


class AccessLog:
    """Outermost middleware: times the whole request and writes its line when the response ends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._routes: dict[int, list[tuple[str, Any]]] | None = None
        _handler()

    def _route(self, scope: Scope) -> str:
        endpoint = scope.get("endpoint")
        if endpoint is None:
            return "-"
        if self._routes is None:
            starlette = scope.get("app")
            self._routes = _templates(list(getattr(starlette, "routes", []) or []))
        found = self._routes.get(id(endpoint))
        if not found:
            return getattr(endpoint, "__name__", "-")
        if len(found) == 1:
            return found[0][0]
        names = set(scope.get("path_params") or {})
        fits = [(t, r) for t, r in found if r is None or set(r.param_convertors) == names]
        for template, route in fits:
            if route is not None and route.path_regex.match(scope.get("path", "")):
                return template
        return (fits or found)[0][0]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = ""
        for name, value in scope.get("headers") or []:
            if name == b"x-request-id":
                text = value.decode("latin-1")
                request_id = text if _SANE_ID.fullmatch(text) else ""
                break
        request_id = request_id or secrets.token_hex(6)
        status = 0

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            if not (status == 200 and scope.get("path") in QUIET_WHEN_OK):
                ms = (time.perf_counter() - started) * 1000
                now = time.time()
                stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
                log.info("time=%s method=%s route=%s status=%s ms=%.1f id=%s", stamp, scope.get("method", "-"),
                         self._route(scope), status or "-", ms, request_id)
