"""Address confirmation against a real SMTP server (aiosmtpd on 127.0.0.1): sign-up (page and API)
mails a signed, expiring link that confirms the address; expired, forged and outdated links are
refused with a page, never a 500; asking again is rate limited; changing the address keeps the old
one until the new one is confirmed, and tells the old one; a bouncing address shows on the account
page and, to admins, on the profile."""

from __future__ import annotations

import re
from email.message import EmailMessage

import pytest
from itsdangerous import URLSafeTimedSerializer

from community import mail_links, settings
from community.mail import Transport
from community.mail_links import Site
from community.models import OutgoingMail, User
from tests.conftest import login
from tests.test_mail_outbox import CSRF, drain, free_port, smtp_server

LINK = re.compile(r"http://forum\.test(/confirm-email/\S+)")


@pytest.fixture
def mail_config(config):
    """The app mails through a real SMTP server on this port (started by each test when it drains)."""
    config.smtp_url, config.base_url = f"smtp://127.0.0.1:{free_port()}", "http://forum.test"
    return config


async def _deliver(config) -> list[EmailMessage]:
    port = int(config.smtp_url.rsplit(":", 1)[1])
    with smtp_server(port) as inbox:
        batch = await drain(Transport.from_config(config))
    assert batch.failed == batch.retrying == 0 and batch.sent == len(inbox.messages)
    return inbox.messages


def _link(message: EmailMessage) -> str:
    return LINK.search(message.get_content()).group(1)


async def _sign_up(client, name: str) -> None:
    page = await client.get("/signup")
    r = await client.post("/signup", data={"username": name, "email": f"{name}@example.com", "password": "password123",
                                           "csrf_token": CSRF.search(page.text).group(1)})
    assert r.status_code == 303, r.text


async def test_sign_up_mails_a_link_that_confirms_the_address(client, mail_config, fake_clock):
    await _sign_up(client, "nia")
    nia = await User.get(username="nia")
    assert nia.email_confirmed_at is None
    account = await client.get("/account")
    assert "not confirmed" in account.text and "Send the confirmation again" in account.text

    [message] = await _deliver(mail_config)
    assert (message["To"], message["Subject"]) == ("nia@example.com", "Confirm your email address")
    assert (await OutgoingMail.get(to_address="nia@example.com")).user_id == nia.id  # a 5xx would mark the address

    fake_clock.advance(days=2)
    page = await client.get(_link(message))
    assert page.status_code == 200, page.text
    assert "nia@example.com is confirmed for your account nia" in page.text
    assert (await User.get(id=nia.id)).email_confirmed_at == fake_clock.now()
    account = await client.get("/account")
    assert 'class="email-state email-confirmed">confirmed' in account.text and "Send the confirmation again" not in account.text

    again = await client.get(_link(message))  # a second click (or a mail scanner's) is harmless
    assert again.status_code == 200


async def test_api_sign_up_mails_the_link_too_and_nothing_is_queued_without_a_mail_server(client, config):
    config.smtp_url = ""
    r = await client.post("/api/v1/users", json={"username": "omar", "email": "omar@example.com", "password": "password123"})
    assert r.status_code == 201 and await OutgoingMail.all().count() == 0

    config.smtp_url, config.base_url = f"smtp://127.0.0.1:{free_port()}", "http://forum.test"
    r = await client.post("/api/v1/users", json={"username": "lena", "email": "lena@example.com", "password": "password123"})
    assert r.status_code == 201
    [message] = await _deliver(config)
    assert message["To"] == "lena@example.com"
    page = await client.get(_link(message))
    assert page.status_code == 200 and "lena@example.com is confirmed" in page.text
    assert (await User.get(username="lena")).email_confirmed_at is not None
    assert (await User.get(username="omar")).email_confirmed_at is None


async def test_an_expired_link_is_refused_and_a_new_one_works(client, mail_config, fake_clock):
    await _sign_up(client, "nia")
    [message] = await _deliver(mail_config)
    fake_clock.advance(seconds=mail_links.CONFIRM_MAX_AGE + 1)
    page = await client.get(_link(message))
    assert page.status_code == 403 and "This confirmation link has expired" in page.text
    assert (await User.get(username="nia")).email_confirmed_at is None

    csrf = CSRF.search((await client.get("/account")).text).group(1)
    r = await client.post("/account/email/confirm", data={"csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/account?done=confirmation#email"
    [fresh] = await _deliver(mail_config)
    assert (await client.get(_link(fresh))).status_code == 200
    assert (await User.get(username="nia")).email_confirmed_at == fake_clock.now()


async def test_forged_and_foreign_tokens_are_refused_with_a_page(client, mail_config):
    await _sign_up(client, "nia")
    [message] = await _deliver(mail_config)
    path = _link(message)
    nia = await User.get(username="nia")
    other_secret = URLSafeTimedSerializer("not-our-secret", salt="confirm-email").dumps({"u": nia.id, "e": nia.email})
    site = Site.from_config(mail_config)
    tampered = path[:-10] + ("A" if path[-10] != "A" else "B") + path[-9:]  # one character of the signature
    for bad in (tampered,
                "/confirm-email/" + other_secret,
                "/confirm-email/not-a-token",
                "/confirm-email/" + mail_links.unsubscribe_token(site, nia.id, ["answer"]),  # another link's token
                mail_links.confirm_url(site, 999_999, "ghost@example.com").removeprefix("http://forum.test"),
                mail_links.confirm_url(site, nia.id, "someone-else@example.com").removeprefix("http://forum.test")):
        page = await client.get(bad)
        assert page.status_code == 403, (bad, page.status_code)
        assert "not valid" in page.text or "no longer uses" in page.text
    assert (await User.get(id=nia.id)).email_confirmed_at is None


async def test_asking_again_is_rate_limited_and_refused_once_confirmed(client, mail_config, fake_clock):
    settings.override("limit.confirmations_per_hour", 2)
    await _sign_up(client, "nia")
    csrf = CSRF.search((await client.get("/account")).text).group(1)
    for _ in range(2):
        assert (await client.post("/account/email/confirm", data={"csrf_token": csrf})).status_code == 303
    refused = await client.post("/account/email/confirm", data={"csrf_token": csrf})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) == 3600
    assert "You have asked for 2 confirmation mails in the last hour" in refused.text
    assert await OutgoingMail.filter(kind="confirm_email").count() == 3  # sign-up's and the two asked for

    messages = await _deliver(mail_config)
    assert (await client.get(_link(messages[-1]))).status_code == 200
    fake_clock.advance(hours=1)
    done = await client.post("/account/email/confirm", data={"csrf_token": csrf})
    assert done.status_code == 409 and "nia@example.com is already confirmed" in done.text
    assert await OutgoingMail.filter(kind="confirm_email").count() == 3


async def test_changing_the_address_confirms_the_new_one_before_it_is_used(client, mail_config, users, fake_clock):
    nia = await users("nia")
    csrf = await login(client, "nia")

    wrong = await client.post("/account/email", data={"csrf_token": csrf, "new_email": "nia@new.example",
                                                      "email_password": "not it"})
    assert wrong.status_code == 422 and "That is not your current password" in wrong.text
    assert 'value="nia@new.example"' in wrong.text and "not it" not in wrong.text  # the address is kept, never the password
    bad = await client.post("/account/email", data={"csrf_token": csrf, "new_email": "nia at new", "email_password": "password123"})
    assert bad.status_code == 422 and "like name@example.com" in bad.text and 'value="nia at new"' in bad.text
    same = await client.post("/account/email", data={"csrf_token": csrf, "new_email": "nia@example.com", "email_password": "password123"})
    assert same.status_code == 422 and "nia@example.com is already your address" in same.text
    assert await OutgoingMail.all().count() == 0 and (await User.get(id=nia.id)).pending_email == ""

    r = await client.post("/account/email", data={"csrf_token": csrf, "new_email": "nia@new.example", "email_password": "password123"})
    assert r.status_code == 303 and r.headers["location"] == "/account?done=email_sent#email"
    nia = await User.get(id=nia.id)
    assert (nia.email, nia.pending_email) == ("nia@example.com", "nia@new.example")  # the old one keeps working
    account = await client.get("/account")
    assert "Changing to nia@new.example" in account.text

    messages = {m["To"]: m for m in await _deliver(mail_config)}
    assert set(messages) == {"nia@new.example", "nia@example.com"}
    notice = messages["nia@example.com"]
    assert notice["Subject"] == "Your email address is being changed" and "nia@new.example" in notice.get_content()
    assert "/confirm-email/" not in notice.get_content()  # the old address cannot confirm the new one

    await User.filter(id=nia.id).update(email_bouncing_at=fake_clock.now(), email_bounce_reason="550 gone")
    fake_clock.advance(hours=1)
    page = await client.get(_link(messages["nia@new.example"]))
    assert page.status_code == 200 and "nia@new.example is now the email address of your account nia" in page.text
    nia = await User.get(id=nia.id)
    assert (nia.email, nia.pending_email, nia.email_confirmed_at) == ("nia@new.example", "", fake_clock.now())
    assert (nia.email_bouncing_at, nia.email_bounce_reason) == (None, "")


async def test_a_link_for_an_address_no_longer_asked_for_is_refused_and_asking_for_the_old_one_cancels(client, mail_config, users):
    nia = await users("nia")
    csrf = await login(client, "nia")
    for new in ("first@new.example", "second@new.example"):
        r = await client.post("/account/email", data={"csrf_token": csrf, "new_email": new, "email_password": "password123"})
        assert r.status_code == 303
    links = {m["To"]: _link(m) for m in await _deliver(mail_config) if m["To"] != "nia@example.com"}
    outdated = await client.get(links["first@new.example"])
    assert outdated.status_code == 403 and "an address your account no longer uses" in outdated.text

    r = await client.post("/account/email", data={"csrf_token": csrf, "new_email": "nia@example.com", "email_password": "password123"})
    assert r.status_code == 303 and r.headers["location"] == "/account?done=email_cancelled#email"
    assert (await User.get(id=nia.id)).pending_email == ""
    assert (await client.get(links["second@new.example"])).status_code == 403
    assert (await User.get(id=nia.id)).email == "nia@example.com"


async def test_a_bouncing_address_shows_to_its_member_and_to_admins(client, mail_config, users, fake_clock):
    nia = await users("nia")
    await users("boss", 1, "admin")
    await users("omar")
    await User.filter(id=nia.id).update(email_bouncing_at=fake_clock.now(), email_bounce_reason="550 5.1.1 no such mailbox")
    banner = "Mail to nia@example.com is bouncing"

    csrf = await login(client, "nia")
    account = await client.get("/account")
    assert f"{banner}: 550 5.1.1 no such mailbox. <a href=\"#email\">Change or re-confirm your address</a>" in account.text
    assert "Send the confirmation again" in account.text
    for name, sees in (("boss", True), ("omar", False)):
        await login(client, name)
        assert (banner in (await client.get(f"/users/{nia.id}")).text) is sees
    client.cookies.clear()
    assert banner not in (await client.get(f"/users/{nia.id}")).text

    # Re-confirming the address: the link reached the mailbox, so the bounce is forgotten.
    await login(client, "nia")
    csrf = CSRF.search((await client.get("/account")).text).group(1)
    assert (await client.post("/account/email/confirm", data={"csrf_token": csrf})).status_code == 303
    [message] = await _deliver(mail_config)
    assert message["To"] == "nia@example.com"
    assert (await client.get(_link(message))).status_code == 200
    assert banner not in (await client.get("/account")).text
    assert (await User.get(id=nia.id)).email_bouncing_at is None
