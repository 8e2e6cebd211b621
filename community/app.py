"""The application: every room's routes, middleware, error mapping and background workers."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from community import (account_pages, api, db, headers, idempotency, inputs, openapi, pages, questions, settings, watch_pages,
                       web)
from community.config import ROOT, Config
from community.errors import DomainError

log = logging.getLogger("community")

# Rooms that plug into the app. Each module may define `routes` (a list of Starlette routes),
# `async def startup(app)` (returns background tasks to run) and registers hooks on import.
ROOMS = [
    "search.web",
    "community.support.web",
    "moderation.web",
    "community.insights.web",
    "community.mail",  # not a room: the outbox's sender starts through the same plug point
    "community.digest",  # not a room: the daily and weekly digests' schedule (when SMTP_URL is set)
    "community.mail_pages",  # not a room: the pages mails link to (confirm an address, unsubscribe)
    "community.mail_in",  # not a room: the reply-by-email listener (when MAIL_IN_PORT is set)
    "community.badge_pages",  # not a room: badges and ranks beside names in threads, and their API
    "community.brand",  # not a room: the community's name, logo and colour (/admin/brand, /brand.css)
    "community.guidance",  # not a room: what new members are told before they act, and the welcome panel
    "community.admin.console",  # the admin console's front page (/admin)
    "community.admin.settings_console",  # every setting, validated, audited, applied to every worker
    "community.admin.members_console",  # members: search, role, suspend, reset link, end sessions
    "community.admin.delivery_console",  # the webhook and mail outboxes, bouncing addresses
    "community.oidc",  # sign-in with OpenID Connect providers (OIDC_PROVIDERS)
    "moderation.spam_pages",  # the "Suspected spam" queue and the triage's weekly figures
    "community.health",  # /healthz and /readyz for load balancers
]


def _rooms() -> list:
    found = []
    for name in ROOMS:
        try:
            found.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # that room is not built yet
            raise
    return found


async def bare(request: Request) -> Response:
    """A bare template route, the yardstick for page benchmarks."""
    return web.templates.TemplateResponse(request, "bare.html", {"filler": "x" * 1800})


async def healthz(request: Request) -> Response:
    await db.fetch("SELECT 1 AS ok")
    return PlainTextResponse("ok")


def _proxy_headers(config: Config) -> list[Middleware]:
    """Take the client's address from X-Forwarded-For only when the peer is a proxy named in
    FORWARDED_ALLOW_IPS (`run.py serve` turns uvicorn's own handling, which trusts loopback, off)."""
    if not config.forwarded_allow_ips:
        return []
    return [Middleware(ProxyHeadersMiddleware, trusted_hosts=config.forwarded_allow_ips)]


def create_app(config: Config | None = None, manage_db: bool = True, background: bool = True) -> Starlette:
    """`manage_db=False` when the caller (a test) has already initialised Tortoise."""
    config = config or Config.from_env()
    rooms = _rooms()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_db:
            await db.init(config.database_url)
        await settings.load()
        await questions.ensure_generation_row()
        tasks: list[asyncio.Task] = []
        if background:
            for room in rooms:
                start: Callable[[Starlette], Awaitable[list]] | None = getattr(room, "startup", None)
                if start is not None:
                    tasks += [asyncio.create_task(c) for c in await start(app) or []]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if manage_db:
                await db.close()

    routes = [
        Route("/healthz", healthz),
        Route("/bare", bare),
        Route("/api/v1/openapi.json", openapi.openapi_json),
        Mount("/static", StaticFiles(directory=str(ROOT / "community" / "static")), name="static"),
        *api.routes,
    ]
    for room in rooms:
        routes += getattr(room, "routes", [])
    routes += account_pages.routes
    routes += watch_pages.routes
    routes += pages.routes
    app = Starlette(
        routes=routes,
        middleware=[
            # First, so it wraps every response the app sends, errors and refusals included.
            Middleware(headers.SecurityHeaders, https=config.base_url.startswith("https://")),
            Middleware(web.KeepServing),  # next, so an unexpected error's 500 gets those headers too
            *_proxy_headers(config),
            Middleware(web.BodyLimit),
            Middleware(web.SessionCookies, secret_key=config.ensure_secret(), session_cookie="session",
                       same_site="lax", https_only=config.base_url.startswith("https://"), max_age=30 * 86400),
            Middleware(inputs.AddressCheck),  # inside the session, so its refusal page knows who is asking
            Middleware(idempotency.IdempotencyKeys),  # inside the session: a key belongs to the member sending it
        ],
        exception_handlers={DomainError: web.on_domain_error, HTTPException: web.on_http_error, Exception: web.on_unexpected},
        lifespan=lifespan,
    )
    app.state.config = config
    return app
