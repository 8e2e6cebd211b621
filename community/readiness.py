"""A server that starts while its database is unreachable, and gets ready by itself once it is back.

`run.py serve` skips the migration and the demo load when PostgreSQL cannot be reached (one line
says so) and starts the workers anyway (SQLite's file is the host's own: a failure there still stops
the start). Each worker's lifespan runs its start-up work (settings
load, the generation row, every room's `startup`) through `start`: when the first try meets an
outage (`community.outage.kind` says UNREACHABLE), the worker logs one line, keeps serving, and a
background task tries again with back-off (community/loop_guard.py) until the work is done. Until
then `Gate` answers every request but /healthz, /readyz and /static with the readable 503 page (or
the JSON 503 under /api/), and /readyz answers 503 with `"startup": "waiting for the database"`.
When the database answers, pending migrations (if `serve` had to skip them) run first, in a
`run.py migrate` process of their own (Tortoise's migration runner replaces the process's
connections), then the rest; the worker is ready, and says so in one line.

A room's `startup` that fails for another reason fails the start as before (when the database was
there at start), or is logged with its reason and left not ready (when it came later).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from community import outage
from community.config import ROOT
from community.loop_guard import LoopGuard

log = logging.getLogger("community")

MIGRATE_ENV = "MIGRATE_WHEN_REACHABLE"  # set by `run.py serve` when it could not migrate at start
WAITING = "waiting for the database"
OPEN_PATHS = ("/healthz", "/readyz")


def waiting(app: Any) -> str | None:
    """Why this worker is not ready yet, or None when it is."""
    return getattr(app.state, "not_ready", None)


class StartUp:
    """The start-up work that needs the database, in steps that are not done twice."""

    def __init__(self, steps: list[Callable[[], Awaitable[Any]]]) -> None:
        self.steps = steps
        self.done = 0

    async def run(self) -> None:
        while self.done < len(self.steps):
            await self.steps[self.done]()
            self.done += 1


async def migrate_if_asked() -> None:
    """Apply the migrations `run.py serve` could not (another worker may have: then none is pending)."""
    if os.environ.get(MIGRATE_ENV) != "1":
        return
    from community.doctor import pending_migrations

    try:
        pending = await pending_migrations()
    except Exception as exc:
        if outage.kind(exc) is not None:
            raise
        pending = ["(no migration record yet)"]
    if not pending:
        return
    log.warning("applying %d migration(s) that could not run at start", len(pending))
    proc = await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "run.py"), "migrate", cwd=str(ROOT),
                                                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    if proc.returncode != 0 and await pending_migrations():
        last = err.decode(errors="replace").strip().splitlines()[-1:]
        raise RuntimeError("`run.py migrate` failed" + (f": {last[0]}" if last else ""))


async def start(app: Any, work: StartUp, tasks: list[asyncio.Task], defer: bool) -> None:
    """Run the start-up work now; when the database is unreachable and `defer`, keep serving 503 and
    finish it in the background (appending that task to `tasks`, which the lifespan cancels)."""
    try:
        await work.run()
        return
    except Exception as exc:
        if not defer or outage.kind(exc) != outage.UNREACHABLE:
            raise
        outage.throttle.note(outage.UNREACHABLE, exc, "the server's start",  # one line, shared with the retries'
                             then="serving 503 and trying again until it is back")
    app.state.not_ready = WAITING
    tasks.append(asyncio.create_task(_finish(app, work)))


async def _finish(app: Any, work: StartUp) -> None:
    guard = LoopGuard("the server's start")
    guard.failures = 1  # the first try, in `start`, failed
    guard.since = time.monotonic()
    while True:
        await asyncio.sleep(guard.pause())
        try:
            await work.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if outage.kind(exc) is None:
                app.state.not_ready = f"start-up failed: {type(exc).__name__}: {exc}"
                log.error("the server could not finish starting once the database was back; it stays not ready "
                          "(/readyz says why). Fix this and restart it: %s: %s", type(exc).__name__, exc)
                return
            guard.failed(exc, "")
            continue
        app.state.not_ready = None
        guard.ok()
        log.warning("the server is ready: the database answers and its start-up work is done")
        return


class Gate:
    """503 for every request but the probes and static files while the worker is not ready."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        owner = scope.get("app")
        if (scope["type"] != "http" or owner is None or waiting(owner) is None
                or scope["path"] in OPEN_PATHS or scope["path"].startswith("/static/")):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        response = await outage.answer(request, outage.UNREACHABLE, ConnectionError(waiting(owner)))
        await response(scope, receive, send)
