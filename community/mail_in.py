"""Reply by email: an SMTP listener (aiosmtpd) that takes replies sent to a notification mail's signed
`reply+TOKEN@` address and posts them, as the member, through the same services as the web pages.

A reply is posted only when its token is ours and the sender (the From header and the envelope)
is the member's confirmed address; privileges, suspensions, locks and rate limits are the services'
own. A refused reply is answered with a mail saying why, and nothing is posted. Mail that is itself
automatic (a null sender, Auto-Submitted, an out-of-office) is never answered, so two robots cannot
write to each other forever. DATA is answered 250 once the outcome is recorded; a database error
answers 451, so the sending server tries again later.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from mailparser_reply import EmailMessage as ParsedReply
from tortoise.exceptions import IntegrityError

from community import clock, mail, mail_links, questions
from community.errors import DomainError
from community.inputs import REFUSED
from community.mail_links import ReplyTarget, Site
from community.models import IdempotentResponse, OutgoingMail, Post, User

log = logging.getLogger("community.mail_in")

MAX_SIZE = 1_000_000  # bytes of one message; aiosmtpd answers 552 past it
MAX_HTML = 300_000  # characters of an HTML-only reply turned to text
MAX_TEXT = 60_000  # characters of a reply read (a post is at most 30,000)
LINE_KEY = 200  # characters of each line the reply parser sees
SESSION_TIMEOUT = 60.0  # seconds a client may stay silent
PARSE_SECONDS = 20.0  # the parsing of one message, in a worker thread
REFUSALS_PER_HOUR = 5  # "not posted" answers to one address: a forger cannot use us to mail someone
# A delivery of this Message-ID still unfinished after this long died with its process; take it over.
ABANDONED = timedelta(minutes=5)
AUTOMATIC_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
SUBJECT = "Your reply was not posted"


class Temporary(Exception):
    """The forum could not record an outcome now (the database is down or busy): answer 451."""


@dataclass(frozen=True)
class Outcome:
    """What became of one message: "posted", "refused", "ignored" (automatic mail) or "duplicate"."""

    status: str
    detail: str = ""
    post_id: int | None = None
    comment_id: int | None = None


# ---- reading the message ------------------------------------------------------------------------


class _HtmlText(HTMLParser):
    """An HTML part as plain text: blocks and <br> become lines, <blockquote> becomes "> " lines
    (so the quoted original is recognised like a plain-text quote)."""

    BLOCKS = {"p", "div", "br", "li", "tr", "pre", "ul", "ol", "table", "hr", "blockquote",
              "h1", "h2", "h3", "h4", "h5", "h6"}
    SKIP = {"style", "script", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.line: list[str] = []
        self.depth = 0
        self.skipping = 0

    def _break(self) -> None:
        text = " ".join("".join(self.line).split())
        self.lines.append(("> " * self.depth + text) if text else "")
        self.line = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self._break()
            if tag == "blockquote":
                self.depth += 1
            elif tag == "li":
                self.line.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self._break()
            if tag == "blockquote":
                self.depth = max(0, self.depth - 1)

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.line.append(data)

    def text(self) -> str:
        self._break()
        return re.sub(r"\n{3,}", "\n\n", "\n".join(self.lines)).strip()


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html[:MAX_HTML])
    parser.close()
    return parser.text()


def _decoded(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):  # an unknown charset or a broken encoding
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else str(payload)
    return content if isinstance(content, str) else ""


def body_text(msg: EmailMessage) -> str:
    """The message's text: its text/plain part, else its HTML part turned to text."""
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = _decoded(part)  # type: ignore[arg-type]
    return html_to_text(text) if part.get_content_subtype() == "html" else text


def _key(line: str) -> str:
    """A line as the reply parser sees it: spaces squeezed, at most LINE_KEY characters. Its patterns
    backtrack badly on long runs of spaces and long lines ("On " and no "wrote:"), so it never sees them."""
    return " ".join(line.split())[:LINE_KEY].rstrip()


def _restore(body: str, original: list[str]) -> str:
    """The parser's kept lines, taken from the original in order (indentation, spacing and long lines
    as written, so Markdown's indented code and nested lists survive)."""
    wanted, keys, out, i = body.split("\n"), [_key(line) for line in original], [], 0
    for n, want in enumerate(wanted):
        while i < len(keys) and keys[i] != want:
            i += 1
        if i == len(keys):  # a line the parser changed (a disclaimer cut from it): keep its version from here
            return "\n".join(out + wanted[n:])
        out.append(original[i].rstrip())
        i += 1
    return "\n".join(out)


def reply_text(text: str) -> str:
    """What the member wrote: the newest reply without the quoted original ("On ... wrote:" and
    "> " lines) and without the signature."""
    original = REFUSED.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))[:MAX_TEXT].split("\n")
    squeezed = re.sub(r"\n{3,}", "\n\n", "\n".join(_key(line) for line in original))
    # keep_hyphen_lists: a Markdown list ("- one") is not a signature; "-- " still starts one.
    replies = ParsedReply(text=squeezed, languages=["en"], keep_hyphen_lists=True).read().replies
    body = _restore(replies[0].body, original) if replies else ""
    kept = [line for line in body.split("\n") if not line.lstrip().startswith(">")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


def is_automatic(msg: EmailMessage, mail_from: str) -> bool:
    """A bounce, an out-of-office or any robot's mail (RFC 3834): never posted nor answered."""
    if not mail_from.strip("<> "):
        return True
    if str(msg.get("Auto-Submitted", "no")).split(";")[0].strip().lower() != "no":
        return True
    if str(msg.get("Precedence", "")).strip().lower() in AUTOMATIC_PRECEDENCE:
        return True
    return msg.get("X-Autoreply") is not None or msg.get("X-Autorespond") is not None


def _header_sender(msg: EmailMessage) -> str | None:
    """The one address in From, or None when there is none or more than one."""
    found = [addr for _, addr in getaddresses([str(v) for v in msg.get_all("From", [])]) if addr]
    return found[0] if len(found) == 1 else None


@dataclass(frozen=True)
class Received:
    """What the decisions need from a message, read in a worker thread (headers included: a broken
    header can raise while it is read)."""

    text: str
    header_sender: str | None
    automatic: bool
    message_id: str
    subject: str


class Unreadable(Exception):
    """A message no parser could read (or not in time): refused for good with a 554."""


def _parse(content: bytes, mail_from: str) -> Received:
    msg = BytesParser(policy=default_policy).parsebytes(content)
    automatic = is_automatic(msg, mail_from)  # type: ignore[arg-type]
    return Received(
        text="" if automatic else reply_text(body_text(msg)),  # type: ignore[arg-type]
        header_sender=_header_sender(msg),  # type: ignore[arg-type]
        automatic=automatic,
        message_id=" ".join(str(msg.get("Message-ID", "")).split())[:900],
        subject=" ".join(str(msg.get("Subject", "")).split())[:150],
    )


async def read(content: bytes, mail_from: str) -> Received:
    try:
        return await asyncio.wait_for(asyncio.to_thread(_parse, content, mail_from), PARSE_SECONDS)
    except asyncio.TimeoutError:
        raise Unreadable("it took too long to read") from None
    except Exception as exc:  # the email package on input it never expected
        log.warning("unreadable message from %r: %s: %s", mail_from, type(exc).__name__, exc)
        raise Unreadable(f"{type(exc).__name__}") from exc


# ---- deciding -----------------------------------------------------------------------------------


class Refused(Exception):
    def __init__(self, reason: str, advice: str = "", question_id: int | None = None) -> None:
        super().__init__(reason)
        self.reason, self.advice, self.question_id = reason, advice, question_id


async def _question_of(target: ReplyTarget) -> int | None:
    post = await Post.filter(id=target.post_id).only("id", "kind", "question_id").first() if target.post_id < 2**31 else None
    if post is None:
        return None
    return post.id if post.kind == "question" else post.question_id


def _check_sender(user: User, header_sender: str | None, envelope_sender: str) -> None:
    address = user.email.strip().casefold()
    senders = {(header_sender or "").strip().casefold(), parseaddr(envelope_sender)[1].strip().casefold()}
    if not address or senders != {address}:
        raise Refused("it did not come from the address of the member the notification was sent to.",
                      "Reply from the mail account that received the notification, or post on the website.")
    if user.email_confirmed_at is None:
        raise Refused("your address is not confirmed on the forum yet.",
                      "Confirm it with the link in the confirmation mail (or send a new one from your account "
                      "page), then reply again.")


async def _post(user: User, target: ReplyTarget, text: str, sender: str) -> Outcome:
    # The per-address limit counts the sender's mailbox: the relaying mail server's network address
    # is shared by everyone who uses that provider.
    address = f"mail:{sender.casefold()}"[:100]
    try:
        if target.action == "a":
            answer = await questions.answer(user, target.post_id, text, address=address)
            return Outcome("posted", "answer", post_id=answer.id)
        comment = await questions.comment(user, target.post_id, text, address=address)
        return Outcome("posted", "comment", post_id=target.post_id, comment_id=comment.id)
    except DomainError as err:
        if err.status >= 500:  # Busy: the write kept clashing; the sending server tries again later
            raise Temporary(err.message) from err
        raise Refused(err.message, "Nothing was posted. Change what the message says and reply again, or "
                                   "post on the website.") from None


async def _first_delivery(user_id: int, message_id: str) -> bool:
    """Claim this message for handling. False: it was handled already (a sending server whose
    connection dropped after our 250 sends it again). Kept in the idempotency table, where a
    Message-ID is the mail's idempotency key; pruned with it after a day."""
    if not message_id:
        return True
    principal, key, now = f"mail-in:{user_id}", hashlib.sha256(message_id.encode()).hexdigest(), clock.now()
    try:
        await IdempotentResponse.create(principal=principal, key=key, method="MAIL", path="/mail-in",
                                        created_at=now)
        return True
    except IntegrityError:
        row = await IdempotentResponse.get_or_none(principal=principal, key=key)
        if row is None or row.status is not None:
            return row is None
        if now - row.created_at < ABANDONED:
            raise Temporary("this message is being handled by another delivery") from None
        await IdempotentResponse.filter(id=row.id).update(created_at=now)  # its first handler died
        return True


async def _finish_delivery(user_id: int, message_id: str, done: bool) -> None:
    if not message_id:
        return
    where = IdempotentResponse.filter(principal=f"mail-in:{user_id}", key=hashlib.sha256(message_id.encode()).hexdigest())
    await (where.update(status=250) if done else where.delete())


# ---- answering a refusal ------------------------------------------------------------------------


async def _answer_refusal(site: Site, mail_from: str, refused: Refused, got: Received, user: User | None) -> None:
    """Tell the sender why (the member's own text comes back only to the member, so a forger cannot
    have us mail their text to someone)."""
    to = parseaddr(mail_from)[1]
    if not to or "@" not in to or len(to) > 254:
        return
    now = clock.now()
    recent = await OutgoingMail.filter(to_address=to, kind="reply_refused", created_at__gt=now - timedelta(hours=1)).count()
    if recent >= REFUSALS_PER_HOUR:
        log.warning("reply from %s not posted (%s); not answered: %d answers this hour", to, refused.reason, recent)
        return
    from community.notification_mail import render  # the mail templates' environment

    body = render("reply_refused.txt", name=(user.display_name or user.username) if user else "", subject=got.subject,
                  reason=refused.reason, advice=refused.advice, text=got.text[:5000] if user else "",
                  thread=site.url(f"/questions/{refused.question_id}") if refused.question_id else site.url("/"))
    headers = {"Auto-Submitted": "auto-replied"}  # RFC 3834: their robots do not answer ours
    if got.message_id:
        headers["In-Reply-To"] = headers["References"] = got.message_id
    await mail.queue(to, SUBJECT, body, "reply_refused", headers=headers)


# ---- one message --------------------------------------------------------------------------------


async def receive(site: Site, mail_from: str, recipient: str, content: bytes) -> Outcome:
    """Handle one message for one reply address; raises Temporary when the outcome cannot be
    recorded now, Unreadable when it never can."""
    got = await read(content, mail_from)
    if got.automatic:
        log.info("automatic mail from %r to %s ignored", mail_from, recipient)
        return Outcome("ignored", "automatic mail")
    user: User | None = None
    claimed = False
    try:
        try:
            user, target = await _member(site, recipient, got, mail_from)
            if not await _first_delivery(user.id, got.message_id):
                return Outcome("duplicate", got.message_id)
            claimed = True
            try:
                if not got.text:
                    raise Refused("we found no text of yours above the quoted mail.",
                                  "Write your reply at the top of the mail, above the quoted text, and send it again.")
                outcome = await _post(user, target, got.text, mail_from)
            except Refused as refused:
                refused.question_id = await _question_of(target)
                raise
        except Refused as refused:
            log.info("reply from %s to %s not posted: %s", mail_from, recipient, refused.reason)
            await _answer_refusal(site, mail_from, refused, got, user)
            outcome = Outcome("refused", refused.reason)
        if claimed and user is not None:
            try:
                await _finish_delivery(user.id, got.message_id, True)
            except Exception:
                # The reply is posted (or its refusal queued): freeing the claim and answering 451 would
                # post it again when the sending server retries. Its claim lapses after ABANDONED.
                log.warning("could not mark %s handled; it was handled", got.message_id, exc_info=True)
        return outcome
    except Exception as exc:  # the database is down or refusing: nothing is recorded, so let them retry
        if claimed and user is not None:
            try:
                await _finish_delivery(user.id, got.message_id, False)
            except Exception:
                log.warning("could not free the Message-ID claim of %s", got.message_id)
        if isinstance(exc, Temporary):
            raise
        raise Temporary(f"{type(exc).__name__}: {exc}") from exc


async def _member(site: Site, recipient: str, got: Received, mail_from: str) -> tuple[User, ReplyTarget]:
    """The member and target a reply address names, when the token is ours and the sender is them."""
    target = mail_links.read_reply_address(site, recipient)
    if target is None:
        raise Refused("the address you replied to is not one the forum gave out, or it was changed on the way.",
                      "Reply to the notification mail itself without editing the address, or post on the website.")
    user = await User.get_or_none(id=target.user_id) if target.user_id < 2**31 else None
    if user is None:
        raise Refused("the member this reply address was made for no longer exists.",
                      "Post on the website with your own account.")
    try:
        _check_sender(user, got.header_sender, mail_from)
    except Refused as refused:
        refused.question_id = await _question_of(target)
        raise
    return user, target


# ---- the SMTP side ------------------------------------------------------------------------------


class ReplyHandler:
    """aiosmtpd's handler: takes mail for reply addresses on the forum's domain only."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.domain = site.domain.lower()

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        local, _, domain = address.lower().rpartition("@")
        if domain != self.domain or not local.startswith("reply+"):
            return "550 5.1.1 No such mailbox: this server takes only replies to the forum's notification mails"
        if envelope.rcpt_tos:  # one reply per message keeps the work per message bounded
            return "452 4.5.3 One reply address per message, please send the rest separately"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if not envelope.rcpt_tos:
            return "503 5.5.1 No valid recipient"
        content = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        try:
            outcome = await receive(self.site, envelope.mail_from or "", envelope.rcpt_tos[0], content)
            log.info("reply to %s from %s: %s %s", envelope.rcpt_tos[0], envelope.mail_from, outcome.status, outcome.detail)
        except Unreadable as exc:
            return f"554 5.6.0 This message could not be read ({exc}); nothing was posted"
        except Temporary as exc:
            log.warning("reply to %s from %s not handled now (%s); the sender will retry", envelope.rcpt_tos[0],
                        envelope.mail_from, exc)
            return "451 4.3.0 The forum cannot take this reply just now; please try again later"
        except Exception:  # never a 500 with a traceback to the client; they may retry
            log.exception("reply to %s from %s failed", envelope.rcpt_tos[0], envelope.mail_from)
            return "451 4.3.0 The forum cannot take this reply just now; please try again later"
        return "250 OK"


def smtp_factory(site: Site) -> Callable[[], SMTP]:
    handler = ReplyHandler(site)

    def make() -> SMTP:
        # hostname given: aiosmtpd would otherwise look up this host's FQDN (DNS) per connection
        return SMTP(handler, hostname=site.domain, data_size_limit=MAX_SIZE, enable_SMTPUTF8=True,
                    timeout=SESSION_TIMEOUT)

    return make


async def listen(config: Any, host: str | None = None, port: int | None = None) -> asyncio.AbstractServer:
    """Start the listener in this event loop (where the database connections live). reuse_port: each
    worker of a multi-worker server listens on the same port and the kernel spreads connections."""
    return await asyncio.get_running_loop().create_server(
        smtp_factory(Site.from_config(config)), host or config.mail_in_host, port if port is not None else config.mail_in_port,
        reuse_port=hasattr(socket, "SO_REUSEPORT"))


async def hold(server: asyncio.AbstractServer) -> None:
    """Keep a listener open until cancelled."""
    try:
        await asyncio.Event().wait()
    finally:
        server.close()


async def startup(app: Any) -> list:
    """The app's plug point: listen for replies by email inside the server when MAIL_IN_PORT is set."""
    config = app.state.config
    if not config.mail_in_port:
        return []
    try:
        server = await listen(config)
    except OSError as exc:  # e.g. another program already listens there
        log.error("not listening for replies by email on %s:%s: %s", config.mail_in_host, config.mail_in_port, exc)
        return []
    return [hold(server)]
