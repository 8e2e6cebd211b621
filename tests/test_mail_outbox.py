"""The mail outbox: POST /forgot answers the same whether or not the mail server is reachable,
the sender retries with back-off against a real SMTP server (aiosmtpd on 127.0.0.1), gives up
after the last attempt, refuses to retry a permanent 5xx, and never sends a mail twice when
several senders (tasks, or `run.py send-mail` processes) drain the outbox at once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy

import httpx
import pytest
from aiosmtpd.controller import Controller

from community import db, mail, settings
from community.config import ROOT
from community.mail import Batch, Transport
from community.models import OutgoingMail

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Inbox:
    """A real SMTP server's mailbox; `refuse` maps an address to the reply its RCPT gets."""

    def __init__(self, refuse: dict[str, str] | None = None) -> None:
        self.messages: list = []
        self.refuse = refuse or {}
        self.arrived = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: N802 (aiosmtpd's hook)
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        self.arrived.set()
        return "250 OK"


def free_port() -> int:
    """A port nothing listens on (until a test starts its server there)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def smtp_server(port: int, inbox: Inbox | None = None) -> Iterator[Inbox]:
    inbox = inbox or Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


async def ask_for_reset(client: httpx.AsyncClient, identifier: str) -> httpx.Response:
    page = await client.get("/forgot")
    return await client.post("/forgot", data={"identifier": identifier, "csrf_token": CSRF.search(page.text).group(1)})


async def drain(transport: Transport, limit: int = mail.BATCH) -> Batch:
    total = Batch()
    while (batch := await mail.deliver_due(transport, limit)).claimed:
        for name in ("claimed", "sent", "retrying", "failed"):
            setattr(total, name, getattr(total, name) + getattr(batch, name))
    return total


async def test_forgot_answers_the_same_while_smtp_is_down_and_the_mail_arrives_on_retry(client, users, config, fake_clock):
    port = free_port()
    config.smtp_url, config.base_url = f"smtp://127.0.0.1:{port}", "http://forum.test"
    await users("lena")

    known, unknown = await ask_for_reset(client, "lena"), await ask_for_reset(client, "nobody")
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text and "a reset link is on its way" in known.text
    queued = await OutgoingMail.all()
    assert [(r.to_address, r.subject, r.kind, r.attempts, r.next_attempt_at, r.sent_at) for r in queued] == [
        ("lena@example.com", "Reset your password", "password_reset", 0, fake_clock.now(), None)]

    transport = Transport.from_config(config)
    assert await mail.deliver_due(transport) == Batch(claimed=1, retrying=1)
    row = await OutgoingMail.get(id=queued[0].id)
    assert row.attempts == 1 and row.sent_at is None and row.failed_at is None
    assert row.next_attempt_at == fake_clock.now() + timedelta(minutes=1)
    assert f"port {port}" in row.last_error

    with smtp_server(port) as inbox:
        fake_clock.advance(seconds=59)
        assert await mail.deliver_due(transport) == Batch()  # not due yet
        fake_clock.advance(seconds=1)
        assert await mail.deliver_due(transport) == Batch(claimed=1, sent=1)
        assert await mail.deliver_due(transport) == Batch()  # sent once only
    assert len(inbox.messages) == 1
    received = inbox.messages[0]
    assert received["To"] == "lena@example.com" and received["Subject"] == "Reset your password"
    assert received["From"] == config.mail_from and received["Message-ID"] == mail.message_id(row, config.mail_from)
    row = await OutgoingMail.get(id=row.id)
    assert (row.attempts, row.sent_at, row.last_error) == (2, fake_clock.now(), "")

    path = re.search(r"http://forum\.test(/reset/\S+)", received.get_content()).group(1)
    page = await client.get(path)
    assert page.status_code == 200 and "Choose a new password for lena" in page.text


async def test_mail_is_given_up_after_the_last_attempt(database, fake_clock):
    assert [mail.retry_delay(n) for n in range(1, 8)] == [timedelta(minutes=m) for m in (1, 5, 30, 120, 480, 480, 480)]
    settings.override("mail.max_attempts", 3)
    settings.override("mail.retry_minutes", [2, 7])
    transport = Transport(f"smtp://127.0.0.1:{free_port()}")
    row = await mail.queue("ana@example.com", "Hello", "Hello Ana.", "test")
    started = fake_clock.now()

    assert await mail.deliver_due(transport) == Batch(claimed=1, retrying=1)
    assert (await OutgoingMail.get(id=row.id)).next_attempt_at == started + timedelta(minutes=2)
    fake_clock.advance(minutes=2)
    assert await mail.deliver_due(transport) == Batch(claimed=1, retrying=1)
    assert (await OutgoingMail.get(id=row.id)).next_attempt_at == started + timedelta(minutes=2 + 7)
    fake_clock.advance(minutes=7)
    assert await mail.deliver_due(transport) == Batch(claimed=1, failed=1)
    row = await OutgoingMail.get(id=row.id)
    assert (row.attempts, row.failed_at, row.sent_at) == (3, fake_clock.now(), None) and row.last_error

    fake_clock.advance(days=2)
    assert await mail.deliver_due(transport) == Batch()


async def test_a_permanent_refusal_is_given_up_at_once_and_a_temporary_one_retried(database, fake_clock):
    port = free_port()
    transport = Transport(f"smtp://127.0.0.1:{port}", "Forum <forum@example.com>")
    refuse = {"gone@example.com": "550 5.1.1 No such mailbox", "busy@example.com": "451 4.3.0 Try again later"}
    for to in ("gone@example.com", "busy@example.com", "ok@example.com"):
        await mail.queue(to, f"For {to}", "Hello.", "test")
    with smtp_server(port, Inbox(refuse)) as inbox:
        assert await mail.deliver_due(transport) == Batch(claimed=3, sent=1, retrying=1, failed=1)
    assert [m["To"] for m in inbox.messages] == ["ok@example.com"]
    assert inbox.messages[0]["From"] == "Forum <forum@example.com>"
    assert inbox.messages[0]["Message-ID"].endswith("@example.com>")
    rows = {r.to_address: r for r in await OutgoingMail.all()}
    assert rows["gone@example.com"].failed_at == fake_clock.now() and "550" in rows["gone@example.com"].last_error
    busy = rows["busy@example.com"]
    assert busy.failed_at is None and "451" in busy.last_error
    assert busy.next_attempt_at == fake_clock.now() + timedelta(minutes=1)
    assert rows["ok@example.com"].sent_at == fake_clock.now()


async def test_concurrent_senders_deliver_each_mail_once(database, fake_clock):
    port = free_port()
    transport = Transport(f"smtp://127.0.0.1:{port}")
    addresses = [f"member{n}@example.com" for n in range(30)]
    async with db.transaction() as conn:
        for to in addresses:
            await mail.queue(to, "Hello", "Hello.", "test", conn=conn)
    with smtp_server(port) as inbox:
        batches = await asyncio.gather(*(drain(transport, limit=3) for _ in range(4)))
    assert sum(b.sent for b in batches) == 30 and sum(b.claimed for b in batches) == 30
    assert sorted(m["To"] for m in inbox.messages) == sorted(addresses)
    assert {(r.attempts, r.sent_at) for r in await OutgoingMail.all()} == {(1, fake_clock.now())}


async def test_two_send_mail_processes_deliver_each_mail_once(database, fake_clock, tmp_path):
    port = free_port()
    addresses = [f"member{n}@example.com" for n in range(45)]
    for to in addresses:
        await mail.queue(to, "Hello", "Hello.", "test")
    env = {**os.environ, "DATABASE_URL": database, "SECRET_KEY": "test-secret", "VAR_DIR": str(tmp_path / "cli-var"),
           "DEMO_DATA": "0", "SMTP_URL": f"smtp://127.0.0.1:{port}", "MAIL_FROM": "forum@example.com"}
    with smtp_server(port) as inbox:
        procs = [await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "run.py"), "send-mail", env=env, cwd=ROOT,
                                                      stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
                 for _ in range(2)]
        outputs = [await p.communicate() for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err.decode()
    sent = [int(re.search(r"Sent (\d+) mail", out.decode()).group(1)) for out, _ in outputs]
    assert sum(sent) == 45
    assert sorted(m["To"] for m in inbox.messages) == sorted(addresses)
    assert all(m["From"] == "forum@example.com" for m in inbox.messages)
    assert await OutgoingMail.filter(sent_at=None).count() == 0


async def test_send_mail_command_needs_smtp_url(database, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SMTP_URL"}
    env.update(DATABASE_URL=database, SECRET_KEY="test-secret", VAR_DIR=str(tmp_path / "cli-var"), SMTP_URL="")
    proc = await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "run.py"), "send-mail", env=env, cwd=ROOT,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    assert proc.returncode == 1 and "Set SMTP_URL" in err.decode()


async def test_the_servers_sender_is_woken_by_a_queued_mail(config, database, fake_clock, monkeypatch):
    """With SMTP_URL set the app runs a sender; once it has gone to sleep for its next poll (an hour
    here), a reset asked for on the page still arrives without anyone calling the sender."""
    from community.app import create_app
    from tests.conftest import make_user

    monkeypatch.setattr(mail, "POLL_SECONDS", 3600.0)
    asleep = asyncio.Event()
    wait = mail.sleep_until_woken

    async def noting_sleep(wake: asyncio.Event, seconds: float) -> bool:
        if seconds == 3600.0 and not wake.is_set():
            asleep.set()
        return await wait(wake, seconds)

    monkeypatch.setattr(mail, "sleep_until_woken", noting_sleep)
    port = free_port()
    config.smtp_url, config.base_url = f"smtp://127.0.0.1:{port}", "http://forum.test"
    await make_user("lena")
    app = create_app(config, manage_db=False, background=True)
    with smtp_server(port) as inbox:
        async with app.router.lifespan_context(app):
            await asyncio.wait_for(asleep.wait(), 30)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
                assert (await ask_for_reset(client, "lena")).status_code == 200
                assert await asyncio.to_thread(inbox.arrived.wait, 30)
                # Sent, or still leased by the server's sender: either way no one sends it again.
                assert await mail.deliver_due(Transport.from_config(config)) == Batch()
    assert [m["To"] for m in inbox.messages] == ["lena@example.com"]


async def test_no_sender_runs_without_smtp_url(app):
    assert app.state.config.smtp_url == ""
    assert await mail.startup(app) == []
    with pytest.raises(ValueError):
        await mail.queue("a@example.com\r\nBcc: b@example.com", "Hi", "text", "test")
