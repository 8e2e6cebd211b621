"""The admin console's Delivery section (community/admin/delivery.py, delivery_console.py): failed webhook
events and mail are listed with their last error; "retry now" makes them due and the real senders then
deliver them to a real receiver (an HTTP helpdesk, an aiosmtpd server on 127.0.0.1); a bouncing address is
cleared so mail flows to it again. Admins only; every retry and clear is in the audit log."""

from __future__ import annotations

import re
from datetime import timedelta

from community import clock, db, mail, notification_mail, settings
from community.mail import Batch, Transport
from community.models import OutgoingMail, User
from community.support import webhooks
from community.support.models import WebhookDelivery
from moderation.models import AuditEntry
from tests.conftest import login, token_for
from tests.test_mail_outbox import Inbox, free_port, smtp_server
from tests.test_support_webhook import SECRET, Receiver


async def _event(ticket_id: int) -> WebhookDelivery:
    async with db.transaction() as conn:
        await webhooks.enqueue("escalated", {"id": ticket_id, "question_id": 1}, conn)
    return await WebhookDelivery.filter(ticket_id=ticket_id).order_by("-id").first()


async def test_a_failed_webhook_event_is_listed_and_retry_now_delivers_it(database, client, users, fake_clock):
    await users("boss", 1, "admin")
    with Receiver(failures=1) as receiver:
        webhooks.configure(receiver.url, SECRET)
        try:
            first, second = await _event(41), await _event(42)
            assert await webhooks.deliver_due() == 0  # the helpdesk answers 500; the second waits behind the first
            row = await WebhookDelivery.get(id=first.id)
            assert (row.attempts, row.last_error, row.next_attempt_at) == (1, "HTTP 500", fake_clock.now() + timedelta(seconds=5))

            h = await token_for(client, "boss")
            body = (await client.get("/api/v1/admin/delivery", headers=h)).json()["webhook"]
            assert (body["enabled"], body["pending"], body["failing"]) == (True, 2, 1)
            assert [(i["id"], i["event"], i["ticket_id"], i["attempts"], i["last_error"]) for i in body["items"]] == [
                (first.id, "escalated", 41, 1, "HTTP 500")]
            csrf = await login(client, "boss")
            page = await client.get("/admin/delivery")
            assert page.status_code == 200
            assert "HTTP 500" in page.text and f"#{first.id} escalated, ticket 41" in page.text
            assert f'aria-label="Retry now: webhook event {first.id}"' in page.text
            assert page.text.count('name="outbox" value="webhook"') == 2  # the row's button and "retry every"
            assert "<strong>2</strong> waiting to go out" in page.text

            r = await client.post("/admin/delivery/retry", data={"outbox": "webhook", "id": str(first.id), "csrf_token": csrf})
            assert r.status_code == 303 and r.headers["location"] == "/admin/delivery?retried=1"
            assert (await WebhookDelivery.get(id=first.id)).next_attempt_at == fake_clock.now()  # due now, no waiting
            assert "1 delivery is due now" in (await client.get(r.headers["location"])).text
            assert await webhooks.deliver_due() == 2  # the real sender, to the real receiver
        finally:
            webhooks.configure("", "")
    assert [int(d) for d, _, _ in receiver.accepted] == [first.id, second.id]
    assert await WebhookDelivery.filter(delivered_at=None).count() == 0
    (entry,) = await AuditEntry.filter(action="retry_delivery")
    assert entry.reason == f"webhook #{first.id}: 1 made due"
    page = await client.get("/admin/delivery")
    assert "No webhook event is failing." in page.text


async def test_failed_mail_is_listed_and_retry_now_sends_it(database, client, users, config, fake_clock):
    await users("boss", 1, "admin")
    settings.override("mail.max_attempts", 2)
    port = free_port()
    transport = Transport(f"smtp://127.0.0.1:{port}", config.mail_from)
    given_up = await mail.queue("lena@example.com", "Your answer was accepted", "Well done.", "notification")
    assert await mail.deliver_due(transport) == Batch(claimed=1, retrying=1)  # nothing listens on the port
    fake_clock.advance(minutes=1)
    retrying = await mail.queue("omar@example.com", "Daily digest", "Three new questions.", "digest")
    assert await mail.deliver_due(transport) == Batch(claimed=2, retrying=1, failed=1)
    assert (await OutgoingMail.get(id=given_up.id)).failed_at == fake_clock.now()

    h = await token_for(client, "boss")
    body = (await client.get("/api/v1/admin/delivery", headers=h)).json()["mail"]
    assert (body["pending"], body["retrying"], body["failed"]) == (1, 1, 1)
    items = {i["id"]: i for i in body["items"]}
    assert items[given_up.id]["attempts"] == 2 and items[given_up.id]["failed_at"] == fake_clock.now().isoformat()
    assert items[retrying.id]["next_attempt_at"] == (fake_clock.now() + timedelta(minutes=1)).isoformat()
    assert all(f"port {port}" in i["last_error"] for i in items.values())
    csrf = await login(client, "boss")
    page = await client.get("/admin/delivery")
    assert "“Your answer was accepted” to lena@example.com" in page.text and f"port {port}" in page.text
    assert re.search(r"<strong>1</strong> given up", page.text)
    assert f'aria-label="Retry now: mail {given_up.id} to lena@example.com"' in page.text and "Given up " in page.text

    mail.wake_event().clear()  # (queuing set it)
    r = await client.post("/admin/delivery/retry", data={"outbox": "mail", "id": str(given_up.id), "csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/admin/delivery?retried=1"
    row = await OutgoingMail.get(id=given_up.id)
    assert (row.failed_at, row.next_attempt_at) == (None, fake_clock.now())
    assert mail.wake_event().is_set()  # this process's sender is woken
    with smtp_server(port) as inbox:
        assert await mail.deliver_due(transport) == Batch(claimed=1, sent=1)  # only the retried one is due
        r = await client.post("/api/v1/admin/delivery/retry", json={"outbox": "mail"}, headers=h)  # every failed one
        assert r.status_code == 200 and r.json() == {"due": 1}
        assert await mail.deliver_due(transport) == Batch(claimed=1, sent=1)
    assert sorted(m["To"] for m in inbox.messages) == ["lena@example.com", "omar@example.com"]
    assert await OutgoingMail.filter(sent_at=None).count() == 0
    assert [e.reason for e in await AuditEntry.filter(action="retry_delivery").order_by("id")] == [
        f"mail #{given_up.id}: 1 made due", "mail all failed: 1 made due"]

    r = await client.post("/admin/delivery/retry", data={"outbox": "mail", "id": str(given_up.id), "csrf_token": csrf})
    assert r.status_code == 404 and "not waiting any more" in r.text  # sent already
    r = await client.post("/admin/delivery/retry", data={"outbox": "fax", "csrf_token": csrf})
    assert r.status_code == 422 and "Say which outbox" in r.text
    r = await client.post("/api/v1/admin/delivery/retry", json={"outbox": "mail", "id": "seven"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "id"


async def test_clearing_a_bounce_lets_mail_flow_again(database, client, users, config, fake_clock):
    await users("boss", 1, "admin")
    member = await users("lena")
    await User.filter(id=member.id).update(email="lena@gone.example")
    port = free_port()
    transport = Transport(f"smtp://127.0.0.1:{port}", config.mail_from)
    await mail.queue("lena@gone.example", "Your answer was accepted", "Well done.", "notification", user_id=member.id)
    with smtp_server(port, Inbox(refuse={"lena@gone.example": "550 5.1.1 No such mailbox here"})):
        assert await mail.deliver_due(transport) == Batch(claimed=1, failed=1)
    member = await User.get(id=member.id)
    assert member.email_bouncing_at == fake_clock.now() and "No such mailbox" in member.email_bounce_reason
    assert not notification_mail.mailable(member, clock.now())

    h = await token_for(client, "boss")
    csrf = await login(client, "boss")
    page = await client.get("/admin/delivery")
    assert "lena@gone.example" in page.text and "5.1.1 No such mailbox here" in page.text
    assert "Address bouncing" in (await client.get(f"/admin/members/{member.id}")).text
    r = await client.post(f"/admin/delivery/bounces/{member.id}/clear", data={"csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/admin/delivery?cleared=1"
    member = await User.get(id=member.id)
    assert (member.email_bouncing_at, member.email_bounce_reason) == (None, "")
    assert notification_mail.mailable(member, clock.now())
    page = await client.get("/admin/delivery?cleared=1")
    assert "No address is bouncing." in page.text and "mail to it goes out again" in page.text
    (entry,) = await AuditEntry.filter(action="clear_bounce")
    assert entry.user_id == member.id and "5.1.1 No such mailbox" in entry.reason
    assert (await client.delete(f"/api/v1/admin/bounces/{member.id}", headers=h)).status_code == 200  # already clear: no change
    assert await AuditEntry.filter(action="clear_bounce").count() == 1
    assert (await client.delete("/api/v1/admin/bounces/999999", headers=h)).status_code == 404


async def test_only_admins_see_and_act_on_delivery(database, client, users):
    await users("mod", 1, "moderator")
    await users("agent", 1, "staff")
    member = await users("member", 20000)
    for name in ("mod", "agent", "member"):
        h = await token_for(client, name)
        assert (await client.get("/api/v1/admin/delivery", headers=h)).status_code == 403
        assert (await client.post("/api/v1/admin/delivery/retry", json={"outbox": "mail"}, headers=h)).status_code == 403
        assert (await client.delete(f"/api/v1/admin/bounces/{member.id}", headers=h)).status_code == 403
    assert (await client.get("/api/v1/admin/delivery")).status_code == 401
    r = await client.get("/admin/delivery")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    csrf = await login(client, "mod")
    r = await client.get("/admin/delivery")
    assert r.status_code == 403 and "Only admins can see the delivery outboxes" in r.text
    assert (await client.post("/admin/delivery/retry", data={"outbox": "mail", "csrf_token": csrf})).status_code == 403
    assert await AuditEntry.all().count() == 0
