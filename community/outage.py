"""When the database cannot be reached (or a statement ran past its timeout): a 503 that says so
plainly, one log line at most every LOG_EVERY seconds instead of a traceback per request, and nothing
to do when it comes back (asyncpg's pool opens new connections for the next request by itself).

`web.KeepServing` and `web.on_unexpected` call `kind(exc)`; anything it recognises is answered by
`answer(request, kind)`: the readable page, or `{"error": {"code": "unavailable", ...}}` under /api/,
both with Retry-After.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

log = logging.getLogger("community")

LOG_EVERY = 30.0  # seconds between two log lines about the same trouble
RETRY_AFTER = 10  # seconds, the Retry-After of the 503

UNREACHABLE = "unreachable"
TOO_SLOW = "too_slow"

MESSAGES = {
    UNREACHABLE: ("The community can't reach its database right now, so this could not be shown and nothing "
                  "you sent was saved. If you were posting, go back: your browser still has your text, and it "
                  "is safe to post it again in a moment."),
    TOO_SLOW: ("The database took too long to answer, so this was stopped and nothing you sent was saved. "
               "If you were posting, go back: your browser still has your text. Please try again in a moment."),
}

# PostgreSQL error codes: connection exceptions (class 08), the server shutting down or starting up,
# too many connections. 57014 is query_canceled: the statement timeout.
_UNREACHABLE_STATES = {"57P01", "57P02", "57P03", "53300"}
_NETWORK_ERRNOS = {errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EHOSTUNREACH,
                   errno.ENETUNREACH, errno.ETIMEDOUT, errno.EPIPE}
_DRIVERS = ("/asyncpg/", "/tortoise/", "/aiosqlite/")


def _causes(exc: BaseException):
    from community import db

    return db.causes(exc)


def _from_driver(e: BaseException) -> bool:
    """Raised while the database driver was at work (not, say, a call to a sign-in provider)."""
    tb = e.__traceback__
    while tb is not None:
        if any(name in tb.tb_frame.f_code.co_filename for name in _DRIVERS):
            return True
        tb = tb.tb_next
    return False


def _is_network(e: BaseException) -> bool:
    if isinstance(e, (ConnectionError, TimeoutError)):
        return _from_driver(e)
    if isinstance(e, OSError):
        # asyncio joins the failures of every address it tried ("Multiple exceptions: ... Connect call failed")
        return (e.errno in _NETWORK_ERRNOS or "connect call failed" in str(e).lower()) and _from_driver(e)
    return False


def kind(exc: BaseException) -> str | None:
    """UNREACHABLE, TOO_SLOW, or None when the error is something else."""
    try:
        from asyncpg import exceptions as pg
    except ImportError:  # pragma: no cover - asyncpg is in requirements.txt
        pg = None
    from tortoise.exceptions import DBConnectionError

    for e in _causes(exc):
        state = getattr(e, "sqlstate", None)
        if isinstance(state, str):
            if state == "57014":
                return TOO_SLOW
            if state.startswith("08") or state in _UNREACHABLE_STATES:
                return UNREACHABLE
        if isinstance(e, DBConnectionError) or _is_network(e):
            return UNREACHABLE
        if pg is not None and isinstance(e, pg.InterfaceError) and any(
                word in str(e) for word in ("connection is closed", "pool is closing", "pool is closed",
                                            "connection was closed")):
            return UNREACHABLE
        if pg is not None and isinstance(e, pg.InternalClientError) and "another operation" in str(e):
            # "cannot switch to state N; another operation is in progress": how asyncpg reports a query
            # on a connection that PostgreSQL terminated mid-operation (a shutdown: sqlalchemy#13241)
            return UNREACHABLE
        if isinstance(e, sqlite3.OperationalError) and "unable to open database file" in str(e):
            return UNREACHABLE
    return None


class _Throttle:
    """One line per trouble kind at most every LOG_EVERY seconds, counting what it kept quiet."""

    def __init__(self) -> None:
        self.last: dict[str, float] = {}
        self.quiet: dict[str, int] = {}

    def note(self, what: str, exc: BaseException, where: str, then: str = "") -> None:
        """`then`: what happens now (a request: "answering 503 until it is back"; a background loop
        (community/loop_guard.py): "retrying with back-off")."""
        now = time.monotonic()
        last = self.last.get(what)
        if last is not None and now - last < LOG_EVERY:
            self.quiet[what] = self.quiet.get(what, 0) + 1
            return
        quiet, self.quiet[what], self.last[what] = self.quiet.get(what, 0), 0, now
        root = _root(exc)
        also = f"; {quiet} more since the last line" if quiet else ""
        if what == UNREACHABLE:
            log.error("database unreachable (%s: %s) at %s; %s%s",
                      type(root).__name__, root, where, then or "answering 503 until it is back", also)
        else:
            log.warning("a statement ran past DB_STATEMENT_TIMEOUT_MS at %s (%s); %s%s", where, root,
                        then or "answered 503", also)


def _root(exc: BaseException) -> BaseException:
    """The deepest driver error behind Tortoise's wrappers, for the log line."""
    found = exc
    for e in _causes(exc):
        if getattr(e, "sqlstate", None) or _is_network(e):
            return e
        found = e
    return found


throttle = _Throttle()


def page(message: str) -> str:
    """The 503 page without the database: base.html wants the member (a database read)."""
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<title>Try again in a moment</title><link rel=\"stylesheet\" href=\"/static/site.css\"></head>"
            "<body><main id=\"main\" class=\"outage\"><h1>Try again in a moment</h1>"
            f"<p class=\"error-message\" role=\"alert\">{message}</p>"
            "<p><a href=\"/\">Back to the questions</a></p></main></body></html>")


async def answer(request: Request, what: str, exc: BaseException) -> Response:
    """The 503 for this trouble, logged through the throttle."""
    from community import web

    throttle.note(what, exc, f"{request.method} {request.url.path}")
    message = MESSAGES[what]
    if web.is_api(request):
        response: Response = web.error_json(503, "unavailable", message)
    else:
        try:  # the site's look, as an anonymous reader sees it (no member to read from the database)
            response = web.templates.TemplateResponse(
                request, "error.html", {"user": None, "csrf_token": "", "unread": 0, "q": "", "status": 503,
                                        "message": message}, status_code=503)
        except Exception:
            response = HTMLResponse(page(message), 503)
    response.headers["Retry-After"] = str(RETRY_AFTER)
    response.headers["Cache-Control"] = "no-store"
    return response


def describe(exc: BaseException) -> str:
    """A short reason for /readyz and `run.py doctor`."""
    root = _root(exc)
    return f"{type(root).__name__}: {root}".strip().rstrip(":")


def is_outage(exc: Any) -> bool:
    return isinstance(exc, BaseException) and kind(exc) is not None
