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
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from community import (access_log, account_pages, api, db, dbpool, headers, honeypot, idempotency, inputs, openapi, pages, questions, readiness, settings, watch_pages,
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
            await db.init(config.database_url, dbpool.PoolSettings.for_server(config.extra or None))
        tasks: list[asyncio.Task] = []

        def room_start(start: Callable[[Starlette], Awaitable[list]]) -> Callable[[], Awaitable[None]]:
            async def step() -> None:
                tasks.extend(asyncio.create_task(c) for c in await start(app) or [])
            return step

        # The start-up work that needs the database: with the database unreachable, the server serves
        # 503 and finishes it in the background once the database answers (community/readiness.py).
        steps: list[Callable[[], Awaitable[object]]] = [readiness.migrate_if_asked, settings.load,
                                                        questions.ensure_generation_row]
        if background:
            steps += [room_start(room.startup) for room in rooms if getattr(room, "startup", None) is not None]
        await readiness.start(app, readiness.StartUp(steps), tasks,
                              defer=manage_db and not config.database_url.startswith("sqlite"))
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
            # One line per request (community/access_log.py): on for `run.py serve`, ACCESS_LOG=0 turns it off.
            *([Middleware(access_log.AccessLog)] if access_log.enabled(config.extra) else []),
            # Next, so it wraps every response the app sends, errors and refusals included.
            Middleware(headers.SecurityHeaders, https=config.base_url.startswith("https://")),
            Middleware(web.KeepServing),  # next, so an unexpected error's 500 gets those headers too
            Middleware(readiness.Gate),  # 503 until a start that met an unreachable database is done
            *_proxy_headers(config),
            Middleware(web.BodyLimit),
            Middleware(web.SessionCookies, secret_key=config.ensure_secret(), session_cookie="session",
                       same_site="lax", https_only=config.base_url.startswith("https://"), max_age=30 * 86400),
            Middleware(inputs.AddressCheck),  # inside the session, so its refusal page knows who is asking
            Middleware(idempotency.IdempotencyKeys),  # inside the session: a key belongs to the member sending it
            Middleware(honeypot.Forget),  # the form's honeypot (community/honeypot.py) counts for its own request only
        ],
        exception_handlers={DomainError: web.on_domain_error, HTTPException: web.on_http_error, Exception: web.on_unexpected},
        lifespan=lifespan,
    )
    app.state.config = config
    return app
