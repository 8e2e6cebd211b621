"""The helpdesk hand-off: a receiver that fails the first three deliveries still gets every
ticket event exactly once, in order, signed with an HMAC of the body."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from community import questions
from community.support import sweeper, tickets, webhooks
from community.support.models import WebhookDelivery

SECRET = "s3cret-for-tests"


class Receiver:
    """A local helpdesk on 127.0.0.1 that answers 500 to its first `failures` requests."""

    def __init__(self, failures: int) -> None:
        self.failures, self.requests, self.accepted = failures, 0, []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.requests += 1
                if receiver.requests <= receiver.failures:
                    self.send_response(500)
                    self.end_headers()
                    return
                receiver.accepted.append((self.headers["x-support-delivery"], self.headers["x-support-signature"], body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    with Receiver(failures=3) as r:
        webhooks.configure(r.url, SECRET)
        yield r
    webhooks.configure("", "")


async def test_every_event_arrives_exactly_once_after_three_failures(database, users, fake_clock, receiver):
    asker = await users("asker", 50)
    agent = await users("agent", 1, "staff")
    q = await questions.ask(asker, "Cannot send picture messages at all", "MMS fails with an error every time.", "mms")
    fake_clock.advance(minutes=61)
    (tid,) = (await sweeper.sweep()).created
    await tickets.claim(agent, tid)
    await tickets.reply(agent, tid, "Please check that mobile data is on; MMS needs it.")
    await tickets.resolve(agent, tid, "answered_by_staff")
    assert await WebhookDelivery.filter(delivered_at=None).count() == 4

    waits = []
    for _ in range(20):
        if await webhooks.deliver_due() == 0:
            row = await WebhookDelivery.filter(delivered_at=None).order_by("id").first()
            if row is None:
                break
            waits.append((row.next_attempt_at - fake_clock.now()).total_seconds())
            fake_clock.set(row.next_attempt_at)
    assert receiver.requests == 3 + 4
    assert waits == [5.0, 10.0, 20.0]  # back-off doubles
    events = [json.loads(body)["event"] for _, _, body in receiver.accepted]
    assert events == ["escalated", "claimed", "replied", "resolved"]
    assert len({delivery for delivery, _, _ in receiver.accepted}) == 4
    for _, signature, body in receiver.accepted:
        assert signature == "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert json.loads(body)["ticket"]["question_id"] == q.id
    # Nothing is ever sent again once acknowledged.
    fake_clock.advance(hours=5)
    for _ in range(3):
        assert await webhooks.deliver_due() == 0
    assert receiver.requests == 7


async def test_a_leased_row_is_not_sent_by_a_second_sender(database, users, fake_clock, receiver):
    receiver.failures = 0
    asker = await users("asker", 50)
    await questions.ask(asker, "Roaming charges look wrong this month", "I was charged for roaming while at home.", "billing")
    fake_clock.advance(minutes=16)
    await sweeper.sweep()
    row = await WebhookDelivery.first()
    assert await webhooks._take(row, fake_clock.now()) is True
    assert await webhooks.deliver_due() == 0 and receiver.requests == 0
    fake_clock.advance(seconds=61)  # the first sender died; its lease runs out
    assert await webhooks.deliver_due() == 1 and receiver.requests == 1


async def test_nothing_is_queued_when_the_hand_off_is_off(database, users, fake_clock):
    webhooks.configure("", "")
    asker = await users("asker", 50)
    await questions.ask(asker, "Roaming charges look wrong this month", "I was charged for roaming while at home.", "billing")
    fake_clock.advance(minutes=16)
    assert len((await sweeper.sweep()).created) == 1
    assert await WebhookDelivery.all().count() == 0
