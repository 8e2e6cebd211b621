"""What every handler shares: who is asking, CSRF, reading input, rendering, and error mapping."""

from __future__ import annotations

import errno
import logging
import re
import secrets
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import itsdangerous
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from community import accounts, clock, counts, db, honeypot, inputs, model_rows, outage, settings, slugs, times
from community.config import ROOT
from community.errors import BadRequest, Busy, DomainError, NotAllowed, NotFound, TooLarge
from community.models import User

log = logging.getLogger("community")
MAX_BODY = 64 * 1024
# Requests that may be larger than MAX_BODY, by path: (pattern, limit, refusal, field). A post's
# 30,000 characters can take 12 bytes each once form-encoded (an emoji), so the composer's forms
# take 512 KB and a longer body still comes back in its page with the limit stated; an image
# upload takes its 10 MB (community/uploads.py) and the multipart wrapping.
LARGER_BODIES: list[tuple[re.Pattern[str], int, str, str | None]] = [
    (re.compile(r"^/(?:questions/ask|questions/\d+/answers|posts/\d+/edit)$"),
     512 * 1024, "The text is larger than 512 KB; a post may hold 30,000 characters.", "body"),
    (re.compile(r"^/api/v1/uploads$"), 10 * 1024 * 1024 + 64 * 1024,
     "Images may be at most 10 MB; this one is larger. Try a smaller screenshot.", "file"),
]
templates = Jinja2Templates(directory=str(ROOT / "templates"))
templates.env.globals["now"] = clock.now
templates.env.globals["setting"] = settings.get
templates.env.globals["question_url"] = slugs.question_path  # a thread's canonical path: question_url(q) or (id, title)


def _author_filter(row: Any) -> User | None:
    from community.serialise import _author

    return _author(row)


templates.env.filters["author"] = _author_filter


def _minutes_filter(value: Any) -> str:
    """A span of minutes as a person says it: "45 min", "3 h 20 min", "12 days"."""
    minutes = int(value or 0)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    return f"{minutes // 1440} days"


templates.env.filters["minutes"] = _minutes_filter
# Times in the reader's zone (community/times.py): "3 min ago" (`ago`), the exact time (`exact`), the
# day (`day`); `time_mark` in what is shared between readers (the thread's posts). Counts: `counted`.
templates.env.filters.update(ago=times.ago, exact=times.exact, day=times.day, time_mark=times.mark,
                             plural=counts.plural, counted=counts.counted)
# Templates are read once per process (restart the server after editing one): checking every
# template file's modification time on each render cost a tenth of the thread page's time.
templates.env.auto_reload = False



def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def client_address(request: Request) -> str:
    """The address every per-address limit counts. It is the connecting peer's, or the client's as
    named in X-Forwarded-For when the peer is a proxy listed in FORWARDED_ALLOW_IPS (community.app)."""
    return request.client.host if request.client else ""


async def current_user(request: Request) -> User | None:
    if "user" in request.state._state:
        return request.state.user
    user: User | None = None
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        found = await accounts.token_login(auth[7:].strip())
        if found is not None:
            user, request.state.token_id = found
    elif "session" in request.scope:
        uid, key = request.session.get("uid"), request.session.get("sid")
        if isinstance(uid, int) and isinstance(key, str):  # a cookie from before server-side sessions has no key
            user = await _member(request, uid, key)
        if user is None and uid is not None:
            request.session.clear()  # its session has ended: the browser drops the cookie and reads cached pages again
    request.state.user = user
    return user


# Every member page needs the member, their unread count (the header) and the content generation
# (PageCache): one statement instead of three, since each round trip to the database driver's thread
# costs more CPU than these lookups. Raw SQL, because the ORM's query building costs more than the query.
# The join with the cookie's session is what makes logging out (or a password change) end a
# session: a cookie whose session has ended finds no row and its bearer is anonymous.
_MEMBER_SQL = (
    'SELECT u.*, (SELECT COUNT(*) FROM notification n WHERE n.user_id = u.id AND n.read_at IS NULL) AS unread_count, '
    '(SELECT value FROM content_generation WHERE id = 1) AS content_generation, s.id AS session_id, '
    'CASE WHEN s.last_seen_at IS NULL OR s.last_seen_at < ? THEN 1 ELSE 0 END AS session_stale '
    'FROM "user" u JOIN member_session s ON s.user_id = u.id WHERE s.key = ? AND s.ended_at IS NULL AND u.id = ?'
)


async def _member(request: Request, uid: int, key: str) -> User | None:
    from community.questions import local_bumps

    bumps = local_bumps()
    now = clock.now()
    seen_every = timedelta(minutes=settings.get("auth.seen_every_minutes"))
    rows = await db.fetch(_MEMBER_SQL, [now - seen_every, key, uid])
    if not rows:
        return None
    row = rows[0]
    if row["session_stale"]:  # last seen to within a few minutes: one small write per session every few minutes
        await db.execute("UPDATE member_session SET last_seen_at = ? WHERE id = ?", [now, row["session_id"]])
    request.state.unread = int(row["unread_count"])
    generation = row["content_generation"]
    request.state.generation = (int(generation) if generation is not None else 0, bumps)
    return model_rows.build(User, row)  # as the ORM builds a fetched row; the extra columns are ignored


async def log_in(request: Request, user: User) -> None:
    """Start a server-side session for `user` and name it in the cookie (ending the cookie's previous one)."""
    previous = request.session.get("sid")
    if isinstance(previous, str):
        await accounts.end_session(previous)
    request.session.clear()
    request.session["uid"] = user.id
    request.session["sid"] = await accounts.start_session(user, request.headers.get("user-agent", ""))
    request.session["csrf"] = secrets.token_urlsafe(24)


async def log_out(request: Request) -> None:
    """End the cookie's session on the server, so a copy of the cookie no longer logs anyone in."""
    key = request.session.get("sid")
    if isinstance(key, str):
        await accounts.end_session(key)
    request.session.clear()


def session_key(request: Request) -> str | None:
    """The key of the browser session this request came with, if any."""
    key = request.session.get("sid") if "session" in request.scope else None
    return key if isinstance(key, str) else None


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(24)
    return token


def check_csrf(request: Request, form: Any) -> None:
    sent = form.get("csrf_token") if form is not None else None
    if not sent or not secrets.compare_digest(str(sent), request.session.get("csrf", "")):
        raise NotAllowed("This form has expired (or came from another site). Reload the page and try again.")


def check_api_csrf(request: Request) -> None:
    """Cookie-authenticated API writes (our own JavaScript) must echo the CSRF token in a header."""
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return
    if request.session.get("uid") is None:
        return
    sent = request.headers.get("x-csrf-token", "")
    if not sent or not secrets.compare_digest(sent, request.session.get("csrf", "")):
        raise NotAllowed("Missing or wrong X-CSRF-Token header for a cookie-authenticated request.")


async def read_form(request: Request) -> dict[str, Any]:
    try:
        form = await request.form()
    except TooLarge:
        raise  # a streamed body past the limit is a 413, not an unreadable form
    except Exception:
        raise BadRequest("The form could not be read; please try again.") from None
    data = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    check_csrf(request, data)
    inputs.check_form(data)
    honeypot.note(data)  # the spam triage's signal (community/honeypot.py)
    return data


async def read_json(request: Request) -> dict[str, Any]:
    check_api_csrf(request)
    honeypot.note({})  # no form, no honeypot: an earlier form read in this task never counts
    raw = await request.body()
    if not raw:
        return {}
    return inputs.loads(raw)


async def context(request: Request, extra: dict[str, Any]) -> dict[str, Any]:
    from community.notifications import unread_count

    user = await current_user(request)
    times.use_reader(user)  # the page's times are in the member's zone
    unread = request.state._state.get("unread")  # read with the member's row, when current_user read it
    ctx = {
        "user": user,
        # Anonymous pages carry no token (so they can be cached and shared); forms that
        # anonymous people submit (log in, sign up) ask for one with form_page=True.
        "csrf_token": csrf_token(request) if user is not None or extra.get("form_page") else "",
        "unread": (unread if unread is not None else await unread_count(user)) if user else 0,
        "q": request.query_params.get("q", ""),
    }
    ctx.update(extra)
    return ctx


async def render(request: Request, name: str, extra: dict[str, Any] | None = None, status: int = 200) -> Response:
    response = templates.TemplateResponse(request, name, await context(request, extra or {}), status_code=status)
    if times.MARK_BYTES in response.body:  # a page that shows the thread's posts (`time_mark`): the reader's times
        return HTMLResponse(times.fill(bytes(response.body)), status)
    return response


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def error_json(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "field": field}}, status_code=status)


def with_retry_after(response: Response, exc: Exception) -> Response:
    """A rate-limited answer (TooMany) says in Retry-After how many seconds to wait; pages that
    re-render a form with the message pass their response through here too."""
    seconds = getattr(exc, "retry_after", None)
    if seconds:
        response.headers["Retry-After"] = str(int(seconds))
    return response


async def on_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    if is_api(request):
        return with_retry_after(error_json(exc.status, exc.code, exc.message, exc.field), exc)
    if exc.status == 401:
        return redirect(f"/login?next={request.url.path}")
    extra = {"status": exc.status, "message": exc.message, "kept": getattr(exc, "kept", None)}
    return with_retry_after(await render(request, "error.html", extra, exc.status), exc)


_HTTP_MESSAGES = {
    404: "There is nothing at this address. Check the link, or search for what you need.",
    405: "This address does not take that kind of request.",
}


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = _HTTP_MESSAGES.get(exc.status_code, str(exc.detail))
    if is_api(request):
        return error_json(exc.status_code, "not_found" if exc.status_code == 404 else "http_error", message)
    return await render(request, "error.html", {"status": exc.status_code, "message": message}, exc.status_code)


def disk_full(exc: BaseException) -> bool:
    """Whether the error (or one it was raised from) says the disk or the database is full."""
    for e in db.causes(exc):
        if isinstance(e, OSError) and e.errno == errno.ENOSPC:
            return True
        if isinstance(e, sqlite3.Error) and (getattr(e, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
                                             or "database or disk is full" in str(e)):
            return True
        if getattr(e, "sqlstate", None) == "53100":  # PostgreSQL's disk_full (asyncpg's DiskFullError)
            return True
    return False


DISK_FULL_MESSAGE = "The server has run out of storage space, so this could not be saved. Please try again in a few minutes."


async def on_unexpected(request: Request, exc: Exception) -> Response:
    if db.must_retry(exc):  # a deadlock in a write that does not run again by itself (db.retried)
        return await on_domain_error(request, Busy())
    trouble = outage.kind(exc)  # the database unreachable or a statement past its timeout: 503, one log line
    if trouble is not None:
        return await outage.answer(request, trouble, exc)
    message = "Something went wrong on our side. Please try again in a moment."
    status = 500
    if disk_full(exc):
        message, status = DISK_FULL_MESSAGE, 503
    if is_api(request):
        response: Response = error_json(status, "internal" if status == 500 else "unavailable", message)
    elif status == 503:
        try:
            response = await render(request, "error.html", {"status": status, "message": message}, status)
        except Exception:  # the page needs the database; the plain one below does not
            response = HTMLResponse(f"<!doctype html><title>Try again</title><h1>Try again soon</h1><p>{message}</p>", status)
    else:
        response = HTMLResponse(f"<!doctype html><title>Error</title><h1>Sorry</h1><p>{message}</p>", status_code=500)
    if status == 503:
        response.headers["retry-after"] = "120"
    return response


class BodyLimit:
    """Refuse request bodies over 64 KB (or a LARGER_BODIES path's limit) with 413 before any handler reads them."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app, self.limit = app, limit

    def _limit(self, path: str) -> tuple[int, str, str | None]:
        for pattern, limit, message, field in LARGER_BODIES:
            if pattern.match(path):
                return limit, message, field
        return self.limit, "The request is larger than 64 KB; please shorten the text.", None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, message, field = self._limit(scope["path"])
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > limit
            except ValueError:
                too_big = False
            if too_big:
                await self._refuse(scope, receive, send, message, field)
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message_ = await receive()
            if message_["type"] == "http.request":
                seen += len(message_.get("body", b""))
                if seen > limit:
                    raise TooLarge(message, field)
            return message_

        await self.app(scope, limited, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, message: str, field: str | None) -> None:
        if scope["path"].startswith("/api/"):
            response: Response = error_json(413, "too_large", message, field)
        else:
            response = HTMLResponse(f"<!doctype html><title>Too large</title><h1>Too large</h1><p>{message}</p>", 413)
        await response(scope, receive, send)


class KeepServing:
    """Answer an unexpected error (500, or 503 when the disk is full) from inside the app, logged
    with its traceback, so the connection stays open for the client's next request.

    Starlette's ServerErrorMiddleware sends the same response but then raises the error again, and
    a server closes any keep-alive connection whose application raised. Only an error after the
    response has started still goes up: half a response can only be ended by closing the connection.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except ClientDisconnect:
            return  # the client left while its request was read: nobody to answer, nothing went wrong here
        except Exception as exc:
            if started:
                raise
            if outage.kind(exc) is None:  # an outage is logged by community.outage, once, not per request
                log.error("%s %s failed", scope.get("method"), scope.get("path"), exc_info=exc)
            response = await on_unexpected(Request(scope, receive), exc)
            await response(scope, receive, send)


class SessionCookies(SessionMiddleware):
    """Starlette's signed-cookie sessions, remembering the cookies whose signature was already checked.

    itsdangerous derives the key and checks the HMAC in Python on every request (about 0.03 ms of a
    member's page), while a member sends the same cookie until their session changes. A remembered
    cookie still expires max_age after it was signed, exactly as before.
    """

    def __init__(self, app: ASGIApp, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.signer = _CheckedCookies(self.signer)


class _CheckedCookies:
    """The session's TimestampSigner, with what each verified cookie unsigns to and when it was signed."""

    SIZE = 10_000

    def __init__(self, signer: itsdangerous.TimestampSigner) -> None:
        self.signer = signer
        self.checked: dict[bytes, tuple[bytes, int]] = {}

    def sign(self, value: bytes) -> bytes:
        return self.signer.sign(value)

    def unsign(self, value: bytes, max_age: int | None = None) -> bytes:
        hit = self.checked.get(value)
        if hit is None:
            payload, signed = self.signer.unsign(value, max_age=max_age, return_timestamp=True)
            if len(self.checked) >= self.SIZE:
                self.checked.clear()  # a bound, not an LRU: a forgotten cookie is only checked again
            hit = self.checked[value] = (payload, int(signed.timestamp()))
        elif max_age is not None and not 0 <= self.signer.get_timestamp() - hit[1] <= max_age:
            del self.checked[value]
            return self.signer.unsign(value, max_age=max_age)  # raises SignatureExpired, as before
        return hit[0]


class PageCache:
    """Rendered pages for anonymous readers, and thread content shared by every reader, valid while
    the content generation (one row that every write bumps after its commit) is unchanged (pages for
    at most FRESH_SECONDS, as their times are relative) or, for a thread, while no write since changed
    that thread or a member shown on it (community/page_changes.py: a write to one question no longer
    throws away every other thread's page).

    Reading the generation is the whole cost of a hit, so it is made cheap. On SQLite it is read on
    every request through a private read-only sqlite3 connection: a few microseconds, no thread hop,
    and exact across workers (a write in one worker is seen by the next request in any other). On
    other databases a hit re-reads it at most every RECHECK_SECONDS, and at once after a write in this
    process; members' pages always read it (they must see their own writes, whichever worker serves
    the redirect), so only anonymous readers can see a page up to RECHECK_SECONDS old after a write
    made through another worker: they made no write themselves, and a search visitor cannot tell.
    What changed comes with the generation, in the same statement (page_changes.READ_SQL).
    """

    RECHECK_SECONDS = 0.1
    # A kept page is made again after this long even when nothing changed: its times read "3 min ago".
    FRESH_SECONDS = 60.0

    def __init__(self, size: int = 2000, shared_size: int = 256) -> None:
        from community.page_changes import Changes

        self.size, self.shared_size = size, shared_size
        # path -> (generation, body, media type, fresh until, scope: (thread, its authors) or None)
        self.entries: OrderedDict[str, tuple[int, bytes, str, float, Any]] = OrderedDict()
        self.shared_entries: OrderedDict[Any, tuple[int, Any, float, Any]] = OrderedDict()
        self.changes = Changes()
        self._database = ""  # the entries belong to this database (tests switch databases per test)
        self._reader: sqlite3.Connection | None = None
        self._known = (-1, 0.0, -1)  # (generation, monotonic time read, local bumps then)

    def clear(self) -> None:
        """Forget every page and the database they came from (tests reuse one PostgreSQL database)."""
        self.entries.clear()
        self.shared_entries.clear()
        self.changes.reset(-1)
        if self._reader is not None:
            self._reader.close()
        self._database, self._reader, self._known = "", None, (-1, 0.0, -1)

    def _use(self, database_url: str) -> None:
        if database_url == self._database:
            return
        self.clear()
        self._database = database_url
        if database_url.startswith("sqlite://") and ":memory:" not in database_url:
            path = Path(database_url[len("sqlite://"):]).resolve()
            try:
                self._reader = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=0, isolation_level=None)
            except sqlite3.Error:
                self._reader = None

    def _learn(self, rows: list[Any]) -> int:
        """The generation and what changed, from page_changes.READ_SQL's rows; returns the generation."""
        if not rows:
            return 0
        first = rows[0]
        gen = int(first["value"] if isinstance(first, dict) else first[0])
        changed = [(r["generation"], r["question_id"], r["user_id"]) if isinstance(r, dict) else tuple(r[1:4]) for r in rows]
        self.changes.learn(gen, changed)
        return gen

    async def generation(self, request: Request, exact: bool = True) -> int:
        from community import page_changes
        from community.questions import local_bumps

        self._use(request.app.state.config.database_url)
        state = request.state._state
        read = state.get("generation")  # read with the member (current_user), or earlier in this request
        if read is not None and read[1] == local_bumps():
            gen = read[0]
            if gen > self.changes.seen:  # what changed up to it: once per new generation in this process
                rows = await db.fetch(page_changes.SINCE_SQL, [self.changes.since(), gen])
                self.changes.learn(gen, [(r["generation"], r["question_id"], r["user_id"]) for r in rows])
            return self._settle(state, gen)
        if self._reader is not None:
            try:
                # fetchall, so the statement finishes and holds no read snapshot open in between.
                rows = self._reader.execute(page_changes.READ_SQL, [self.changes.since()]).fetchall()
                return self._settle(state, self._learn(rows))
            except sqlite3.Error:
                pass  # busy or not there yet: the ordinary query below answers instead
        gen, read_at, bumps = self._known
        now = time.monotonic()
        if not exact and gen >= 0 and now - read_at < self.RECHECK_SECONDS and bumps == local_bumps():
            return self._settle(state, gen)
        bumps = local_bumps()
        gen = self._learn(await db.fetch(page_changes.READ_SQL, [self.changes.since()]))
        self._known = (gen, now, bumps)
        return self._settle(state, gen)

    def _settle(self, state: dict[str, Any], gen: int) -> int:
        """The generation this request works at (the newest this process has read: never older than
        what it knows changed), remembered so the request reads it once."""
        from community.questions import local_bumps

        if 0 <= gen < self.changes.seen:
            gen = self.changes.seen
        state["generation"] = (gen, local_bumps())
        return gen

    def _valid(self, made: int, gen: int, scope: Any) -> bool:
        return made == gen or self.changes.unchanged(made, scope)

    async def serve(self, request: Request, make: Callable[[], Awaitable[Response]]) -> Response:
        if request.session.get("uid") is not None or request.headers.get("authorization") or not request.app.state.config.page_cache:
            return await make()
        key = request.scope["path"] + "?" + request.scope["query_string"].decode("latin-1")
        gen = await self.generation(request, exact=False)
        hit = self.entries.get(key)
        if hit is not None and time.monotonic() < hit[3] and self._valid(hit[0], gen, hit[4]):
            self.entries.move_to_end(key)
            return Response(hit[1], media_type=hit[2], headers={"x-cache": "hit"})
        response = await make()
        if response.status_code == 200 and hasattr(response, "body"):
            # A thread page is kept for its thread (the scope `shared` noted); any other page per generation.
            self.entries[key] = (gen, bytes(response.body), response.media_type or "text/html",
                                 time.monotonic() + self.FRESH_SECONDS, request.state._state.get("page_scope"))
            if len(self.entries) > self.size:
                self.entries.popitem(last=False)
        return response

    async def shared(self, request: Request, key: Any, load: Callable[[], Awaitable[Any]],
                     scope: Callable[[Any], Any] | None = None) -> Any:
        """What `load` returns, loaded once per generation and shared by every reader's page.

        `scope(value)`: what the value shows, as (question id, its authors' ids): then it is kept
        until a write changes that thread or one of those members (and no longer than FRESH_SECONDS),
        and a page made from it is kept the same way. The value is shared between requests: callers
        must treat it as read-only.
        """
        if not request.app.state.config.page_cache:
            return await load()
        gen = await self.generation(request)
        hit = self.shared_entries.get(key)
        if hit is not None and time.monotonic() < hit[2] and self._valid(hit[0], gen, hit[3]):
            self.shared_entries.move_to_end(key)
            value, kept_scope = hit[1], hit[3]
        else:
            value = await load()
            kept_scope = scope(value) if scope is not None else None
            self.shared_entries[key] = (gen, value, time.monotonic() + self.FRESH_SECONDS, kept_scope)
            if len(self.shared_entries) > self.shared_size:
                self.shared_entries.popitem(last=False)
        request.state.page_scope = kept_scope
        return value


page_cache = PageCache()


def page_number(value: Any) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        return 1
    return min(max(n, 1), 1000)


def not_found(message: str = "There is nothing at this address.") -> NotFound:
    return NotFound(message)


