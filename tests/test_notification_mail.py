"""Notification mail end to end against a real SMTP server (aiosmtpd on 127.0.0.1): the real
services make the events, `notification_mail.compose_due` turns them into outbox mail and
`mail.deliver_due` sends it. Who gets a mail and what it holds, preferences, folding, who never
gets one, the SMTP server's temporary and permanent refusals, a sender killed mid-batch, STARTTLS
and implicit TLS, the escalation sweeper's mail, and the `mailer` / `send-mail` processes."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from email.parser import BytesHeaderParser
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from community import mail, mail_links, notification_mail, preferences, questions, settings, watches
from community.config import ROOT, Config
from community.mail import Batch, Transport
from community.mail_links import ReplyTarget, Site
from community.models import Comment, Notification, OutgoingMail, Post, User
from community.support import sweeper
from moderation import members, posts
from tests.test_mail_outbox import Inbox, free_port, smtp_server

BASE = "http://forum.test"
FROM = "Forum <forum@example.com>"
SITE = Site(BASE, "test-secret", FROM)
ANSWERS = ["Reinstall the carrier profile from Settings, then restart the phone.",
           "Toggle airplane mode for ten seconds and the line comes back.",
           "Ask the shop for a new eSIM QR code; the old one is spent.",
           "Update the carrier settings under General, About, then reboot."]


class Recorder(Inbox):
    """An inbox that also keeps each message's raw bytes and whether it came over TLS, and answers
    DATA with the scripted `replies` first (e.g. 421 three times) before accepting."""

    def __init__(self, refuse: dict[str, str] | None = None, replies: list[str] | None = None) -> None:
        super().__init__(refuse)
        self.raw: list[bytes] = []
        self.tls: list[bool] = []
        self.replies = list(replies or [])
        self.data_commands = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's hook)
        self.data_commands += 1
        if self.replies:
            return self.replies.pop(0)
        self.raw.append(envelope.content)
        self.tls.append(server.transport.get_extra_info("sslcontext") is not None)
        return await super().handle_DATA(server, session, envelope)


def transport(port: int, scheme: str = "smtp", ca_file: str = "") -> Transport:
    return Transport(f"{scheme}://127.0.0.1:{port}", FROM, ca_file=ca_file)


async def send(port: int) -> Batch:
    """What the sender does each round: compose what is due, deliver one batch."""
    return await mail.send_once(transport(port), [lambda: notification_mail.compose_due(SITE)])


async def ask(user: User, title: str = "My eSIM shows no service since the update") -> Post:
    return await questions.ask(user, title, "Since yesterday's update the phone says no service at all.", "esim")


def by_to(inbox: Inbox) -> dict[str, list]:
    found: dict[str, list] = {}
    for m in inbox.messages:
        found.setdefault(m["To"], []).append(m)
    return found


def text_and_html(message) -> tuple[str, str]:
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    return parts[0].get_content().replace("\r\n", "\n"), parts[1].get_content().replace("\r\n", "\n")


# ---- who gets what -------------------------------------------------------------------------------


async def test_an_answer_on_a_watched_question_mails_the_watcher_and_the_asker_once(database, users, fake_clock):
    asker, watcher, helper = await users("asker", 50), await users("watcher", 50), await users("helper", 50)
    q = await ask(asker)
    await watches.set_question(watcher, q.id, True)
    ans = await questions.answer(helper, q.id, ANSWERS[0])
    port = free_port()
    with smtp_server(port, Recorder()) as inbox:
        assert await send(port) == Batch(claimed=2, sent=2)
        assert await send(port) == Batch()  # nothing twice
    mails = by_to(inbox)
    assert sorted(mails) == ["asker@example.com", "watcher@example.com"]  # the answerer: none, their own doing
    assert await Notification.filter(user_id=helper.id).count() == 0
    link = f"{BASE}/questions/{q.id}#answer-{ans.id}"
    rows = {r.to_address: r for r in await OutgoingMail.all()}

    [to_watcher] = mails["watcher@example.com"]
    assert to_watcher["Subject"] == f"helper answered: {q.title}"
    assert to_watcher["From"] == FROM and to_watcher["Message-ID"] == mail.message_id(rows["watcher@example.com"], FROM)
    text, html = text_and_html(to_watcher)
    assert ANSWERS[0] in text and ANSWERS[0] in html
    assert f"\n{link}\n" in text and f'href="{link}"' in html
    assert "You got this because you watch this question." in text
    assert "You got this because you watch this question." in html

    # The one-click unsubscribe (RFC 8058): plain header lines a parser reads as they are, no RFC 2047 words.
    raw = next(r for r in inbox.raw if b"To: watcher@example.com" in r)
    head = BytesHeaderParser().parsebytes(raw)
    assert head["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = head["List-Unsubscribe"]
    assert re.fullmatch(r"<http://forum\.test/mail/unsubscribe/[A-Za-z0-9_.-]+>", unsubscribe), unsubscribe
    assert b"=?" not in raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    assert mail_links.read_unsubscribe(SITE, unsubscribe[1:-1].rsplit("/", 1)[1]) == (watcher.id, ["watched_answer"])
    assert unsubscribe[1:-1] in text

    # Replying comments on the answer, from the watcher's own signed address at MAIL_FROM's domain.
    reply_to = to_watcher["Reply-To"]
    assert re.fullmatch(r"reply\+[a-z0-9-]+@example\.com", reply_to), reply_to
    assert mail_links.read_reply_address(SITE, reply_to) == ReplyTarget(watcher.id, "c", ans.id)

    [to_asker] = mails["asker@example.com"]
    # (long enough that folding at 78 characters would move it onto a continuation line: it is not folded)
    assert to_asker["Subject"] == f"helper answered your question: {q.title}"
    text, _ = text_and_html(to_asker)
    assert ANSWERS[0] in text and link in text and "You got this because you asked this question." in text
    assert mail_links.read_reply_address(SITE, to_asker["Reply-To"]) == ReplyTarget(asker.id, "c", ans.id)
    assert {n.user_id: (n.mailed_at, n.mail_due_at) for n in await Notification.all()} == {
        asker.id: (fake_clock.now(), None), watcher.id: (fake_clock.now(), None)}


async def test_each_members_preference_is_honoured_at_sending_time(database, users, fake_clock):
    asker, helper = await users("asker", 50), await users("helper", 50)
    await preferences.put(asker, {"answer": "never"})
    choices = {"now": "now", "daily": "daily", "weekly": "weekly", "never": "never", "changed": "now"}
    members = {name: await users(name) for name in choices}
    for name, delivery in choices.items():
        await preferences.put(members[name], {"watched_answer": delivery})
    q = await ask(asker)
    for member in members.values():
        await watches.set_question(member, q.id, True)
    await questions.answer(helper, q.id, ANSWERS[0])
    await preferences.put(members["changed"], {"watched_answer": "never"})  # after the event, before the mail
    port = free_port()
    with smtp_server(port, Recorder()) as inbox:
        assert await send(port) == Batch(claimed=1, sent=1)
        fake_clock.advance(days=8)
        assert await send(port) == Batch()  # digests are not this sender's work
    assert [m["To"] for m in inbox.messages] == ["now@example.com"]
    rows = {n.user_id: n for n in await Notification.filter(kind="watched_answer")}
    got = {name: (rows[m.id].digest, rows[m.id].mail_due_at, rows[m.id].mailed_at is not None) for name, m in members.items()}
    assert got == {"now": ("", None, True), "daily": ("daily", None, False), "weekly": ("weekly", None, False),
                   "never": ("", None, False), "changed": ("", None, False)}
    assert await Notification.filter(user_id=asker.id, kind="answer", mail_due_at=None, mailed_at=None).count() == 1


async def test_events_within_the_fold_window_wait_and_go_out_in_one_mail(database, users, fake_clock):
    settings.override("mail.fold_minutes", 5)
    asker, watcher = await users("asker", 50), await users("watcher", 50)
    helpers = [await users(f"helper{n}", 50) for n in range(4)]
    await preferences.put(asker, {"answer": "never"})
    for helper in helpers:  # they watch the question by answering it; their mail is another test's
        await preferences.put(helper, {"watched_answer": "never"})
    q = await ask(asker)
    await watches.set_question(watcher, q.id, True)
    start = fake_clock.now()
    port = free_port()
    with smtp_server(port, Recorder()) as inbox:
        first = await questions.answer(helpers[0], q.id, ANSWERS[0])
        assert await send(port) == Batch(claimed=1, sent=1)  # the first event: at once

        fake_clock.advance(minutes=1)
        second = await questions.answer(helpers[1], q.id, ANSWERS[1])
        assert await send(port) == Batch()
        fake_clock.set(start + timedelta(minutes=5) - timedelta(seconds=1))
        assert await send(port) == Batch()  # still inside the window
        fake_clock.set(start + timedelta(minutes=5))
        assert await send(port) == Batch(claimed=1, sent=1)

        later = []
        for n, helper in enumerate(helpers[1:], start=1):  # three more within the next window
            fake_clock.advance(minutes=1)
            later.append(await questions.answer(helper, q.id, ANSWERS[(n + 1) % len(ANSWERS)] + f" ({n})"))
            assert await send(port) == Batch()
        fake_clock.set(start + timedelta(minutes=10))
        assert await send(port) == Batch(claimed=1, sent=1)
        assert await send(port) == Batch()

    assert [m["To"] for m in inbox.messages] == ["watcher@example.com"] * 3
    one, two, three = inbox.messages
    assert f"#answer-{first.id}" in text_and_html(one)[0] and f"#answer-{second.id}" not in text_and_html(one)[0]
    assert two["Subject"] == f"helper1 answered: {q.title}" and f"#answer-{second.id}" in text_and_html(two)[0]
    assert three["Subject"] == f"3 updates on: {q.title}"
    text, html = text_and_html(three)
    for n, a in enumerate(later, start=1):
        assert f"{BASE}/questions/{q.id}#answer-{a.id}" in text and f"helper{n} answered: " in html
    assert f"#answer-{first.id}" not in text and f"#answer-{second.id}" not in text
    mailed = [n.mailed_at for n in await Notification.filter(user_id=watcher.id).order_by("id")]
    assert mailed == [start, start + timedelta(minutes=5)] + [start + timedelta(minutes=10)] * 3


async def test_a_thread_cut_off_by_the_end_of_a_batch_is_left_whole_for_the_next_one(database, users, fake_clock):
    asker, other = await users("asker", 50), await users("other", 50)
    helpers = [await users(f"helper{n}", 50) for n in range(2)]
    for helper in helpers:
        await preferences.put(helper, {"watched_answer": "never"})
    q1, q2 = await ask(asker), await ask(other, "My eSIM lost its signal after the update")
    for q in (q1, q2):  # each asker gets two answer notifications, due at once
        for helper, text in zip(helpers, ANSWERS):
            await questions.answer(helper, q.id, text)
    # A batch of three holds the asker's thread whole and half of the other's: that half waits.
    assert await notification_mail.compose_due(SITE, limit=3) == 3
    assert [m.to_address for m in await OutgoingMail.all().order_by("id")] == ["asker@example.com"]
    assert await Notification.filter(user_id=other.id, mail_due_at__not_isnull=True).count() == 2
    assert await notification_mail.compose_due(SITE, limit=3) == 2
    mails = await OutgoingMail.all().order_by("id")
    assert [m.to_address for m in mails] == ["asker@example.com", "other@example.com"]
    assert mails[1].subject == f"2 updates on: {q2.title}"


async def test_no_mail_to_unconfirmed_bouncing_or_suspended_members_nor_about_posts_gone_before_sending(
        database, users, fake_clock):
    asker, ok, helper = await users("asker", 50), await users("okay", 50), await users("helper", 50)
    moderator = await users("mod", 50, "moderator")
    unconfirmed, bouncing, suspended = await users("unconfirmed"), await users("bouncing"), await users("suspended")
    await User.filter(id=unconfirmed.id).update(email_confirmed_at=None)
    await User.filter(id=bouncing.id).update(email_bouncing_at=fake_clock.now(), email_bounce_reason="550 gone")

    q1 = await ask(asker)
    for member in (ok, unconfirmed, bouncing, suspended):
        await watches.set_question(member, q1.id, True)
    await questions.answer(helper, q1.id, ANSWERS[0])
    await members.suspend(moderator, suspended.id, 3, "Posting the same link everywhere.")

    q2 = await ask(asker, "My roaming data stopped working in France")
    await watches.set_question(ok, q2.id, True)
    hidden = await questions.answer(helper, q2.id, ANSWERS[1])
    await Post.filter(id=hidden.id).update(hidden=True)  # e.g. flagged away before the composer ran

    q3 = await ask(asker, "Cannot top up my account with a new card")
    await watches.set_question(ok, q3.id, True)
    deleted = await questions.answer(helper, q3.id, ANSWERS[2])
    await posts.delete(moderator, deleted.id, "Spam link")

    q4 = await ask(ok, "Voicemail greeting keeps resetting to default")
    comment = await questions.comment(helper, q4.id, "Which phone model is this on?")
    await Comment.filter(id=comment.id).update(deleted_at=fake_clock.now())

    assert await Notification.filter(mail_due_at__not_isnull=True).count() == 10
    port = free_port()
    with smtp_server(port, Recorder()) as inbox:
        assert await send(port) == Batch(claimed=2, sent=2)
    assert sorted((m["To"], m["Subject"]) for m in inbox.messages) == [
        ("asker@example.com", f"helper answered your question: {q1.title}"), ("okay@example.com", f"helper answered: {q1.title}")]
    assert await Notification.filter(mail_due_at__not_isnull=True).count() == 0  # decided: not mailed, still in the inbox
    assert await Notification.filter(mailed_at__not_isnull=True).count() == 2


# ---- what the SMTP server says -------------------------------------------------------------------


async def _one_answer_mail(users) -> tuple[User, Post]:
    asker, helper = await users("asker", 50), await users("helper", 50)
    q = await ask(asker)
    return asker, await questions.answer(helper, q.id, ANSWERS[0])


async def test_a_server_answering_421_three_times_then_250_gets_the_mail_once(database, users, fake_clock):
    settings.override("mail.retry_minutes", [2])
    await _one_answer_mail(users)
    port = free_port()
    busy = "421 4.3.2 Service not available, closing transmission channel"
    with smtp_server(port, Recorder(replies=[busy] * 3)) as inbox:
        for attempt in range(1, 4):
            assert await send(port) == Batch(claimed=1, retrying=1)
            row = await OutgoingMail.get()
            assert (row.attempts, row.sent_at, row.next_attempt_at) == (attempt, None, fake_clock.now() + timedelta(minutes=2))
            assert "421" in row.last_error
            assert await send(port) == Batch()  # not before its retry time
            fake_clock.advance(minutes=2)
        assert await send(port) == Batch(claimed=1, sent=1)
        fake_clock.advance(days=1)
        assert await send(port) == Batch()
    assert inbox.data_commands == 4 and [m["To"] for m in inbox.messages] == ["asker@example.com"]
    row = await OutgoingMail.get()
    assert (row.attempts, row.sent_at, row.last_error) == (4, fake_clock.now() - timedelta(days=1), "")
    assert inbox.messages[0]["Message-ID"] == mail.message_id(row, FROM)


async def test_mail_after_a_421_in_the_same_batch_is_not_charged_an_attempt(database, users, fake_clock):
    """A 421 says the server is closing the connection: the rows after it were never tried, so they
    stay due at once (aiosmtpd keeps the connection open after it; a real server would not)."""
    asker, ans = await _one_answer_mail(users)
    await watches.set_question(await users("watcher"), ans.question_id, True)
    await questions.answer(await users("helper2", 50), ans.question_id, ANSWERS[1])
    assert await notification_mail.compose_due(SITE) == 4  # the asker's two in one mail, the first helper's, the watcher's
    port = free_port()
    with smtp_server(port, Recorder(replies=["421 4.7.0 Too busy, closing"])) as inbox:
        assert await mail.deliver_due(transport(port)) == Batch(claimed=3, retrying=1)
        first, *rest = await OutgoingMail.all().order_by("id")
        assert (first.to_address, first.attempts, first.next_attempt_at) == ("asker@example.com", 1, fake_clock.now() + timedelta(minutes=1))
        assert [(r.attempts, r.next_attempt_at, r.last_error) for r in rest] == [(0, fake_clock.now(), "")] * 2
        assert await mail.deliver_due(transport(port)) == Batch(claimed=2, sent=2)
    assert sorted(m["To"] for m in inbox.messages) == ["helper@example.com", "watcher@example.com"]


async def test_a_550_marks_the_address_bouncing_and_no_more_mail_is_composed_for_it(database, users, fake_clock):
    asker, watcher, helper = await users("asker", 50), await users("watcher", 50), await users("helper", 50)
    q = await ask(asker)
    await watches.set_question(watcher, q.id, True)
    await questions.answer(helper, q.id, ANSWERS[0])
    port = free_port()
    with smtp_server(port, Recorder(refuse={"watcher@example.com": "550 5.1.1 No such mailbox here"})) as inbox:
        assert await send(port) == Batch(claimed=2, sent=1, failed=1)
        member = await User.get(id=watcher.id)
        assert member.email_bouncing_at == fake_clock.now()
        assert "550" in member.email_bounce_reason and "No such mailbox here" in member.email_bounce_reason
        assert (await User.get(id=asker.id)).email_bouncing_at is None

        fake_clock.advance(hours=1)
        await questions.answer(await users("helper2", 50), q.id, ANSWERS[1])
        assert await send(port) == Batch(claimed=2, sent=2)  # the asker, and the first helper (watching since)
        fake_clock.advance(days=1)
        assert await send(port) == Batch()
    assert [m["To"] for m in inbox.messages] == ["asker@example.com", "asker@example.com", "helper@example.com"]
    assert await OutgoingMail.filter(to_address="watcher@example.com").count() == 1
    latest = await Notification.filter(user_id=watcher.id).order_by("-id").first()
    assert (latest.mail_due_at, latest.mailed_at) == (None, None)


async def test_a_sender_killed_after_the_server_accepted_resends_that_mail_with_its_message_id_and_nothing_else(
        database, users, fake_clock, monkeypatch):
    asker, helper = await users("asker", 50), await users("helper", 50)
    q = await ask(asker)
    for name in ("watcher1", "watcher2"):
        await watches.set_question(await users(name), q.id, True)
    await questions.answer(helper, q.id, ANSWERS[0])
    assert await notification_mail.compose_due(SITE) == 3
    first, second, third = await OutgoingMail.all().order_by("id")
    real_sent = mail._sent

    async def killed_after_acceptance(row: OutgoingMail, batch: Batch) -> None:
        if row.id == second.id:  # the server has just said 250 to it; the process dies now
            asyncio.current_task().cancel()
            await asyncio.sleep(0)
        await real_sent(row, batch)

    port = free_port()
    with smtp_server(port, Recorder()) as inbox:
        monkeypatch.setattr(mail, "_sent", killed_after_acceptance)
        task = asyncio.create_task(mail.deliver_due(transport(port)))
        with pytest.raises(asyncio.CancelledError):
            await task
        monkeypatch.undo()
        assert [m["To"] for m in inbox.messages] == [first.to_address, second.to_address]
        assert [(r.sent_at is not None, r.attempts) for r in await OutgoingMail.all().order_by("id")] == [
            (True, 1), (False, 0), (False, 0)]

        assert await send(port) == Batch()  # leased: no other sender takes them meanwhile
        fake_clock.advance(minutes=14, seconds=59)
        assert await send(port) == Batch()
        fake_clock.advance(seconds=1)
        assert await send(port) == Batch(claimed=2, sent=2)
        fake_clock.advance(days=1)
        assert await send(port) == Batch()
    ids = [m["Message-ID"] for m in inbox.messages]
    assert ids == [mail.message_id(r, FROM) for r in (first, second, second, third)]
    assert [m["To"] for m in inbox.messages] == [first.to_address, second.to_address, second.to_address, third.to_address]
    assert inbox.messages[1].get_body("plain").get_content() == inbox.messages[2].get_body("plain").get_content()
    assert await OutgoingMail.all().count() == 3 and await OutgoingMail.filter(sent_at=None).count() == 0


# ---- TLS -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1, made by the openssl command line (the virtualenv has
    no `cryptography`); without openssl this fails rather than skips."""
    openssl = shutil.which("openssl")
    assert openssl, "the TLS tests need the openssl command to make a self-signed certificate"
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return str(cert), str(key)


@pytest.mark.parametrize("scheme", ["smtp", "smtps"])
async def test_starttls_and_implicit_tls_deliver_when_the_servers_certificate_is_trusted(
        database, users, fake_clock, certificate, tmp_path, scheme):
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    tls = {"ssl_context": context} if scheme == "smtps" else {"tls_context": context, "require_starttls": True}
    await _one_answer_mail(users)
    assert await notification_mail.compose_due(SITE) == 1
    port = free_port()
    inbox = Recorder()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **tls)
    controller.start()
    try:
        # Not trusted (the system's CAs only): the certificate is refused and the mail waits.
        assert await mail.deliver_due(transport(port, scheme)) == Batch(claimed=1, retrying=1)
        assert "CERTIFICATE_VERIFY_FAILED" in (await OutgoingMail.get()).last_error
        fake_clock.advance(minutes=1)
        configured = Transport.from_config(Config.from_env({
            "SMTP_URL": f"{scheme}://127.0.0.1:{port}", "MAIL_FROM": FROM, "SMTP_CA_FILE": cert, "VAR_DIR": str(tmp_path)}))
        assert configured.ca_file == cert
        assert await mail.deliver_due(configured) == Batch(claimed=1, sent=1)
    finally:
        controller.stop()
    assert [m["To"] for m in inbox.messages] == ["asker@example.com"] and inbox.tls == [True]


# ---- the escalation sweeper ------------------------------------------------------------------------


async def test_the_sweepers_escalated_notification_is_mailed_to_the_asker(database, users, fake_clock):
    settings.override("sla.first_answer_minutes", 30)
    asker = await users("asker", 50)
    q = await ask(asker)
    fake_clock.advance(minutes=29)
    assert (await sweeper.sweep()).created == []
    fake_clock.advance(minutes=1)
    assert len((await sweeper.sweep()).created) == 1
    port = free_port()
    with smtp_server(port, Recorder()) as inbox:
        assert await send(port) == Batch(claimed=1, sent=1)
        assert await send(port) == Batch()
    [m] = inbox.messages
    assert m["To"] == "asker@example.com" and m["Subject"] == f"Your question was passed to our support team: {q.title}"
    text, html = text_and_html(m)
    assert f"\n{BASE}/questions/{q.id}\n" in text and f'href="{BASE}/questions/{q.id}"' in html
    assert "You got this because you asked this question." in text
    assert m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail_links.read_unsubscribe(SITE, m["List-Unsubscribe"][1:-1].rsplit("/", 1)[1]) == (asker.id, ["escalated"])
    # The asker's reply comments on their own question; it does not answer it.
    assert mail_links.read_reply_address(SITE, m["Reply-To"]) == ReplyTarget(asker.id, "c", q.id)
    assert (await Notification.get(kind="escalated")).mailed_at == fake_clock.now()


# ---- the processes -------------------------------------------------------------------------------


def _env(database: str, port: int, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database, "SECRET_KEY": "test-secret", "VAR_DIR": str(tmp_path / "cli-var"),
            "DEMO_DATA": "0", "SMTP_URL": f"smtp://127.0.0.1:{port}", "MAIL_FROM": FROM, "BASE_URL": BASE}


async def _due_answer(users, fake_clock) -> Post:
    """An answer whose mail is due by the wall clock too (the processes run on real time)."""
    fake_clock.set(datetime.now(timezone.utc) - timedelta(hours=1))
    _, ans = await _one_answer_mail(users)
    return ans


async def test_send_mail_composes_due_notifications_before_it_delivers(database, users, fake_clock, tmp_path):
    ans = await _due_answer(users, fake_clock)
    port = free_port()
    with smtp_server(port, Recorder()) as inbox:
        proc = await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "run.py"), "send-mail", cwd=ROOT,
                                                    env=_env(database, port, tmp_path),
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert "Sent 1 mail(s)" in out.decode()
    [m] = inbox.messages
    assert m["To"] == "asker@example.com" and f"{BASE}/questions/{ans.question_id}#answer-{ans.id}" in text_and_html(m)[0]
    assert (await Notification.get(kind="answer")).mailed_at is not None


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_the_mailer_process_sends_until_stopped_and_exits_cleanly(database, users, fake_clock, tmp_path, stop):
    ans = await _due_answer(users, fake_clock)
    port = free_port()
    with smtp_server(port, Recorder()) as inbox:
        proc = await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "run.py"), "mailer", "--poll", "0.2",
                                                    cwd=ROOT, env=_env(database, port, tmp_path),
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            assert await asyncio.to_thread(inbox.arrived.wait, 60), "the mailer sent nothing"
            async with asyncio.timeout(60):  # the row is marked sent right after the server's 250
                while await OutgoingMail.filter(sent_at=None).exists():
                    await asyncio.sleep(0.05)
            # A second event while it runs: the mailer finds it by polling (another process queued it).
            fake_clock.set(datetime.now(timezone.utc) - timedelta(minutes=30))
            await watches.set_question(await users("watcher"), ans.question_id, True)
            await questions.answer(await users("helper2", 50), ans.question_id, ANSWERS[1])
            inbox.arrived.clear()
            async with asyncio.timeout(60):
                while len(inbox.messages) < 3 or await OutgoingMail.filter(sent_at=None).exists():
                    await asyncio.sleep(0.05)
        finally:
            if proc.returncode is None:
                proc.send_signal(stop)
            out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert "Stopped; mail not yet sent waits in the outbox." in out.decode(), out.decode() + err.decode()
    assert "Traceback" not in err.decode(), err.decode()
    # The first helper watches since answering; the asker's second mail waits for the fold window.
    assert sorted(m["To"] for m in inbox.messages) == ["asker@example.com", "helper@example.com", "watcher@example.com"]
    asker = await User.get(username="asker")
    assert [(n.user_id, n.kind) for n in await Notification.filter(mailed_at=None)] == [(asker.id, "answer")]


async def test_the_mailer_needs_smtp_url(database, tmp_path):
    env = {**_env(database, free_port(), tmp_path), "SMTP_URL": ""}
    proc = await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "run.py"), "mailer", env=env, cwd=ROOT,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    assert proc.returncode == 1 and "Set SMTP_URL" in err.decode()


async def test_run_mailer_0_leaves_sending_to_the_mailer_process(app, config):
    config.smtp_url = "smtp://127.0.0.1:2525"
    assert len(await _started(app)) == 1
    config.run_mailer = False
    assert await _started(app) == []
    assert Config.from_env({"RUN_MAILER": "0", "SMTP_URL": config.smtp_url}).run_mailer is False


async def _started(app) -> list:
    loops = await mail.startup(app)
    for coroutine in loops:
        coroutine.close()  # not run: only which loops the server would start
    return loops
