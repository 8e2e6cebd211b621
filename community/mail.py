"""The mail outbox: the one way mail leaves the forum. Callers `queue` a message inside the
transaction that causes it; a sender delivers due mail over SMTP with retries and back-off.

An unreachable or refusing mail server therefore never fails a request. Senders lease a batch of
rows before sending (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's write lock serialises the
claim), so several workers or hosts never send the same row twice while the lease holds. A sender
killed between the server's acceptance and marking the row sent resends after the lease, with the
same Message-ID, so a receiver can drop the repeat.
"""

from __future__ import annotations

import asyncio
import email.charset
import email.header
import email.policy
import json
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any
from urllib.parse import unquote, urlparse

import aiosmtplib

from community import clock, db, settings
from community.models import OutgoingMail, User
from community.loop_guard import LoopGuard
from community.wakeup import sleep_until_woken

log = logging.getLogger("community.mail")

BATCH = 20
SMTP_TIMEOUT = 30.0
# Longer than a batch can take (each message is bounded by SMTP_TIMEOUT, and a dead server fails
# the whole batch at connect), so a lease only lapses when its sender died.
LEASE = timedelta(minutes=15)
POLL_SECONDS = 30.0
RECHECKS = (0.05, 0.25, 1.0)  # after a wake-up found nothing: the queuing transaction had not committed yet

settings.declare("mail.max_attempts", 6, "Delivery attempts before a mail is given up", "mail")
settings.declare("mail.retry_minutes", [1, 5, 30, 120, 480],
                 "Minutes to wait after each failed delivery attempt (the last value repeats)", "mail")
settings.rule("mail.max_attempts", settings.between(1, 100))


def _check_retry_minutes(value: Any) -> list[float]:
    from community.errors import Invalid

    if not value or not all(isinstance(m, (int, float)) and not isinstance(m, bool) and 0 <= m <= 10_080 for m in value):
        raise Invalid("mail.retry_minutes", "List one or more waits in minutes, each from 0 to 10,080 (a week), e.g. [1, 5, 30].")
    return value


settings.rule("mail.retry_minutes", _check_retry_minutes)


# ---- queuing -------------------------------------------------------------------------------------

# One event per event loop (tests run each in a loop of its own; an Event belongs to one loop).
_wakes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Event] = weakref.WeakKeyDictionary()


def wake_event() -> asyncio.Event:
    """The event this loop's sender waits on between polls."""
    loop = asyncio.get_running_loop()
    event = _wakes.get(loop)
    if event is None:
        event = _wakes[loop] = asyncio.Event()
    return event


async def queue(to: str, subject: str, text: str, kind: str, conn: Any = None, *, html: str = "",
                headers: dict[str, str] | None = None, user_id: int | None = None) -> OutgoingMail:
    """Queue one mail (inside the caller's transaction when `conn` is given) and wake this process's
    sender; senders in other processes find it by polling. With `html` it goes out multipart
    (text and HTML); `headers` are added as given (List-Unsubscribe, Reply-To, ...); `user_id` names
    the member, whose address a permanent refusal marks as bouncing."""
    row = _row(clock.now(), to, subject, text, kind, html, headers, user_id)
    await row.save(using_db=conn)
    wake_event().set()
    return row


async def queue_many(mails: list[dict[str, Any]], conn: Any = None) -> int:
    """`queue` for many mails in one multi-row INSERT (a digest's batch of members): each dict holds
    `queue`'s arguments by name (to, subject, text, kind, and optionally html, headers, user_id)."""
    now = clock.now()
    rows = [_row(now, m["to"], m["subject"], m["text"], m["kind"], m.get("html", ""), m.get("headers"), m.get("user_id"))
            for m in mails]
    await db.insert_many(rows, conn)
    if rows:
        wake_event().set()
    return len(rows)


def _row(now: Any, to: str, subject: str, text: str, kind: str, html: str, headers: dict[str, str] | None,
         user_id: int | None) -> OutgoingMail:
    for name, value in (("to", to), ("subject", subject), *((headers or {}).items())):
        if "\r" in value or "\n" in value:
            raise ValueError(f"a mail's {name} may not contain line breaks: {value!r}")
    return OutgoingMail(to_address=to, subject=subject[:200], body_text=text, kind=kind[:32], body_html=html,
                        headers=json.dumps(headers) if headers else "", user_id=user_id, created_at=now,
                        next_attempt_at=now, attempts=0, last_error="")


# ---- delivery ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transport:
    """Where mail goes: `smtp://[user:pass@]host[:port]` (STARTTLS when the server offers it) or
    `smtps://...` (TLS from the first byte). The server's certificate is always checked, against the
    system's CAs and `ca_file` (SMTP_CA_FILE: a PEM file, e.g. a private CA's or a self-signed cert)."""

    smtp_url: str
    mail_from: str = "community@localhost"
    timeout: float = SMTP_TIMEOUT
    ca_file: str = ""

    @classmethod
    def from_config(cls, config: Any) -> Transport:
        return cls(config.smtp_url, config.mail_from, ca_file=config.smtp_ca_file)

    def client(self) -> aiosmtplib.SMTP:
        url = urlparse(self.smtp_url)
        implicit_tls = url.scheme == "smtps"
        return aiosmtplib.SMTP(
            hostname=url.hostname or "localhost", port=url.port or (465 if implicit_tls else 25),
            username=unquote(url.username) if url.username else None,
            password=unquote(url.password or "") if url.username else None,
            use_tls=implicit_tls, start_tls=False if implicit_tls else None, timeout=self.timeout,
            cert_bundle=self.ca_file or None,
        )

    @property
    def sender(self) -> str:
        return parseaddr(self.mail_from)[1] or self.mail_from


@dataclass
class Batch:
    """What one `deliver_due` call did."""

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt."""
    steps = settings.get("mail.retry_minutes") or [60]
    return timedelta(minutes=float(steps[min(attempts, len(steps)) - 1]))


def message_id(row: OutgoingMail, mail_from: str) -> str:
    """Stable per outbox row, so a resend after a crash is recognisably the same mail."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
    return f"<outbox.{row.id}.{int(row.created_at.timestamp())}@{domain}>"


# The bytes sent are ours, not aiosmtplib's: its send_message flattens with email.policy.SMTP, which
# folds header lines at 78 characters, so a long List-Unsubscribe URL (no space to fold at) came out
# RFC 2047-encoded, which mail clients cannot read, and a subject of 70-78 characters moved onto a
# continuation line. Lines may be up to 998 characters. Built with the compat32 MIME classes, which
# take headers as given: a quarter of the time of EmailMessage's parsed headers (bench/mail_bench.py).
# Bodies are quoted-printable UTF-8 (7-bit), so a server without 8BITMIME takes them too.
POLICY = email.policy.compat32.clone(max_line_length=998, linesep="\r\n")
_UTF8_QP = email.charset.Charset("utf-8")
_UTF8_QP.header_encoding = _UTF8_QP.body_encoding = email.charset.QP


def _header(value: str) -> str:
    return value if value.isascii() else email.header.Header(value, "utf-8").encode()


def _address(value: str) -> str:
    name, address = parseaddr(value)
    return formataddr((name, address), charset="utf-8") if address else _header(value)


def compose(row: OutgoingMail, mail_from: str) -> Message:
    def text(body: str, subtype: str) -> MIMEText:
        return MIMEText(body, subtype, _UTF8_QP, policy=POLICY)

    if row.body_html:
        msg: Message = MIMEMultipart("alternative", policy=POLICY)
        msg.attach(text(row.body_text, "plain"))
        msg.attach(text(row.body_html, "html"))
    else:
        msg = text(row.body_text, "plain")
    msg["From"], msg["To"], msg["Subject"] = _address(mail_from), _address(row.to_address), _header(row.subject)
    msg["Date"] = format_datetime(clock.now())
    msg["Message-ID"] = message_id(row, mail_from)
    for name, value in (json.loads(row.headers) if row.headers else {}).items():
        msg[name] = _header(value)
    return msg


def _due() -> Any:
    return OutgoingMail.filter(sent_at=None, failed_at=None, next_attempt_at__lte=clock.now())


async def _claim(limit: int) -> list[OutgoingMail]:
    """Lease up to `limit` due rows, oldest first, for this sender alone."""
    if not await _due().using_db(db.background()).exists():  # the usual idle poll: no write lock taken
        return []
    async with db.background_transaction() as conn:
        rows = await _due().using_db(conn).order_by("id").limit(limit).select_for_update(skip_locked=True)
        if rows:
            await OutgoingMail.filter(id__in=[r.id for r in rows]).using_db(conn).update(
                next_attempt_at=clock.now() + LEASE)
    return list(rows)


async def _sent(row: OutgoingMail, batch: Batch) -> None:
    await OutgoingMail.filter(id=row.id).using_db(db.background()).update(
        sent_at=clock.now(), attempts=row.attempts + 1, last_error="")
    batch.sent += 1


async def _failed(row: OutgoingMail, error: str, permanent: bool, batch: Batch) -> None:
    attempts = row.attempts + 1
    now = clock.now()
    if permanent or attempts >= settings.get("mail.max_attempts"):
        await OutgoingMail.filter(id=row.id).using_db(db.background()).update(
            attempts=attempts, last_error=error[:1000], failed_at=now)
        if permanent and row.user_id is not None:  # the server refused the address for good: stop mailing it
            await User.filter(id=row.user_id, email=row.to_address).using_db(db.background()).update(
                email_bouncing_at=now, email_bounce_reason=error[:500])
        log.error("gave up on mail %s (%s) to %s after %d attempt(s): %s", row.id, row.kind, row.to_address, attempts, error)
        batch.failed += 1
        return
    await OutgoingMail.filter(id=row.id).using_db(db.background()).update(
        attempts=attempts, last_error=error[:1000], next_attempt_at=now + retry_delay(attempts))
    log.warning("mail %s (%s) not delivered (%s); attempt %d, retrying later", row.id, row.kind, error, attempts)
    batch.retrying += 1


async def _release(rows: list[OutgoingMail]) -> None:
    """Rows a batch did not get to because the connection ended: not their fault, so due again at
    once with no attempt counted."""
    if rows:
        await OutgoingMail.filter(id__in=[r.id for r in rows]).using_db(db.background()).update(next_attempt_at=clock.now())


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip()


def _is_permanent(exc: Exception) -> bool:
    """A 5xx answer about this message (not about the connection) will not change on retry."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return all(r.code >= 500 for r in exc.recipients)
    return isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code >= 500


async def deliver_due(transport: Transport, limit: int = BATCH) -> Batch:
    """Send one batch of due mail over one SMTP connection."""
    rows = await _claim(limit)
    batch = Batch(claimed=len(rows))
    if not rows:
        return batch
    smtp = transport.client()
    try:
        await smtp.connect()
    except (aiosmtplib.SMTPException, OSError) as exc:  # unreachable, TLS or log-in refused: try them all later
        for row in rows:
            await _failed(row, _describe(exc), False, batch)
        return batch
    try:
        for n, row in enumerate(rows):
            try:
                msg = compose(row, transport.mail_from)
            except (ValueError, TypeError) as exc:  # a row no server could take
                await _failed(row, _describe(exc), True, batch)
                continue
            try:
                await smtp.sendmail(transport.sender, [row.to_address], msg.as_bytes())
            except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused) as exc:
                await _failed(row, _describe(exc), _is_permanent(exc), batch)
                if not smtp.is_connected or getattr(exc, "code", None) == 421:  # the server is closing the connection
                    await _release(rows[n + 1:])
                    break
            except (aiosmtplib.SMTPException, OSError) as exc:  # the connection is gone
                await _failed(row, _describe(exc), False, batch)
                await _release(rows[n + 1:])
                break
            else:
                await _sent(row, batch)
    finally:
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError):
            smtp.close()
    return batch


# Steps run before each delivery batch, each `async fn() -> int` (rows it handled): the notification
# composer turns due notifications into outbox mail here (community.notification_mail).
Composer = Callable[[], Awaitable[int]]


async def send_once(transport: Transport, composers: list[Composer] = ()) -> Batch:
    """Compose what is due, then deliver one batch."""
    for compose_due in composers:
        await compose_due()
    return await deliver_due(transport)


async def sender_loop(transport: Transport, poll_seconds: float | None = None, composers: list[Composer] = ()) -> None:
    """The in-server sender: runs until cancelled, never lets one failure stop it."""
    wake, poll_seconds = wake_event(), poll_seconds or POLL_SECONDS
    rechecks: tuple[float, ...] = ()
    guard = LoopGuard("the mail sender")  # an outage: one line, back-off, one line when it is back
    while True:
        try:
            batch = await send_once(transport, composers)
            guard.ok()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a database hiccup must not end the loop
            pause = guard.failed(exc, "mail sender failed; trying again", poll_seconds)
            if guard.in_outage:  # the unsent mail waits in the outbox table; look again after the back-off
                rechecks = ()
                await asyncio.sleep(pause)
                continue
            batch = Batch()
        if batch.claimed >= BATCH:
            continue
        if batch.claimed == 0 and rechecks:
            if not await sleep_until_woken(wake, rechecks[0]):
                rechecks = rechecks[1:]
            continue
        rechecks = RECHECKS if await sleep_until_woken(wake, poll_seconds) else ()


async def startup(app: Any) -> list:
    """The app's plug point: a sender in this process when SMTP_URL is set (and RUN_MAILER is not 0:
    then `run.py mailer` sends)."""
    config = app.state.config
    if not config.smtp_url or not config.run_mailer:
        return []
    from community import notification_mail  # it queues through this module

    return [sender_loop(Transport.from_config(config), composers=[notification_mail.composer(config)])]
