"""One-click unsubscribe (RFC 8058): a client with no session and no form token POSTs
`List-Unsubscribe=One-Click` to a mail's signed link and exactly that mail's kinds turn off; the
link's page (GET) only asks; forged links are refused with a page, never a 500. The link is the one
a real notification mail carries in its List-Unsubscribe header, read from a real SMTP server."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
import pytest

from community import mail_links, notification_mail, preferences, questions
from community.mail import Transport
from community.mail_links import Site
from community.models import NotificationPreference, OutgoingMail
from tests.conftest import login
from tests.test_mail_outbox import drain, free_port, smtp_server

ONE_CLICK = {"content": b"List-Unsubscribe=One-Click", "headers": {"content-type": "application/x-www-form-urlencoded"}}
DEFAULTS = {kind: default for kind, (_, default) in preferences.KINDS.items()}


@pytest.fixture
def site(config) -> Site:
    config.base_url = "http://forum.test"
    return Site.from_config(config)


@pytest.fixture
async def mail_client(app):
    """What a mail client's one-click request looks like: no cookies, no CSRF token."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://forum.test") as c:
        yield c


def _path(url: str) -> str:
    return urlsplit(url).path


async def test_one_click_post_without_a_session_turns_off_exactly_that_kind(mail_client, site, users):
    nia = await users("nia")
    await preferences.put(nia, {"comment": "daily"})
    before = await preferences.get(nia)
    path = _path(mail_links.unsubscribe_url(site, nia.id, ["answer"]))

    page = await mail_client.get(path)  # a link scanner, or the member looking first: nothing changes
    assert page.status_code == 200 and "An answer on your question" in page.text
    assert f'<form method="post" action="{path}"' in page.text and 'name="List-Unsubscribe" value="One-Click"' in page.text
    assert 'href="/account/notifications"' in page.text
    assert await preferences.get(nia) == before

    r = await mail_client.post(path, **ONE_CLICK)
    assert r.status_code == 200, r.text
    assert "Unsubscribed" in r.text and "An answer on your question" in r.text
    assert await preferences.get(nia) == {**before, "answer": "never"}
    assert before["comment"] == "daily" and before["answer"] == "now"

    again = await mail_client.post(path, **ONE_CLICK)  # clients retry; the answer is the same
    assert again.status_code == 200 and await preferences.get(nia) == {**before, "answer": "never"}
    assert "These mails are already off" in (await mail_client.get(path)).text


async def test_a_link_naming_several_kinds_turns_off_those_and_no_others(mail_client, site, users):
    nia, omar = await users("nia"), await users("omar")
    path = _path(mail_links.unsubscribe_url(site, nia.id, ["answer", "watched_answer"]))
    assert (await mail_client.post(path, **ONE_CLICK)).status_code == 200
    assert await preferences.get(nia) == {**DEFAULTS, "answer": "never", "watched_answer": "never"}
    assert await preferences.get(omar) == DEFAULTS
    rows = await NotificationPreference.all().values_list("user_id", "kind", "delivery")
    assert sorted(rows) == [(nia.id, "answer", "never"), (nia.id, "watched_answer", "never")]


async def test_a_logged_in_browser_posting_the_page_form_needs_no_csrf_token(client, site, users):
    nia = await users("nia")
    await users("omar")
    await login(client, "omar")  # someone else's session in the browser changes nothing about whose link it is
    path = _path(mail_links.unsubscribe_url(site, nia.id, ["tag_question"]))
    r = await client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert r.status_code == 200
    assert (await preferences.get(nia))["tag_question"] == "never"


async def test_forged_and_malformed_requests_are_refused_with_a_page(mail_client, site, users):
    nia = await users("nia")
    good = _path(mail_links.unsubscribe_url(site, nia.id, ["answer"]))
    other = Site("http://forum.test", "another-secret")
    tampered = good[:-6] + ("x" if good[-6] != "x" else "y") + good[-5:]
    for path in (tampered,
                 _path(mail_links.unsubscribe_url(other, nia.id, ["answer"])),  # signed with another secret
                 "/mail/unsubscribe/not-a-token",
                 _path(mail_links.confirm_url(site, nia.id, nia.email)).replace("/confirm-email/", "/mail/unsubscribe/"),
                 _path(mail_links.unsubscribe_url(site, 999_999, ["answer"])),  # no such member
                 _path(mail_links.unsubscribe_url(site, nia.id, ["no_such_kind"]))):
        for method in ("GET", "POST"):
            r = await mail_client.request(method, path, **ONE_CLICK) if method == "POST" else await mail_client.get(path)
            assert r.status_code == 403, (path, method, r.status_code)
            assert "This unsubscribe link is not valid" in r.text
    big = await mail_client.post(good, content=b"List-Unsubscribe=One-Click&" + b"x" * 4000,
                                 headers={"content-type": "application/x-www-form-urlencoded"})
    assert big.status_code == 400 and "List-Unsubscribe=One-Click" in big.text
    assert await preferences.get(nia) == DEFAULTS


async def test_the_list_unsubscribe_header_of_a_real_notification_mail_works_the_same(config, mail_client, site, users, fake_clock):
    asker, helper = await users("asker"), await users("helper", 100)
    q = await questions.ask(asker, "Roaming does not work in France", "My phone shows no network at all abroad.", ["roaming"])
    await questions.answer(helper, q.id, "Turn on data roaming in the phone's mobile network settings.")
    assert await notification_mail.compose_due(site) == 1
    port = free_port()
    with smtp_server(port) as inbox:
        await drain(Transport(f"smtp://127.0.0.1:{port}", config.mail_from))
    [message] = inbox.messages
    assert message["To"] == "asker@example.com" and message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.fullmatch(r"<(http://forum\.test/mail/unsubscribe/[^>]+)>", message["List-Unsubscribe"]).group(1)
    assert url in message.get_body(("plain",)).get_content()

    r = await mail_client.post(_path(url), **ONE_CLICK)
    assert r.status_code == 200
    assert await preferences.get(asker) == {**DEFAULTS, "answer": "never"}

    fake_clock.advance(hours=1)
    await questions.answer(helper, q.id, "Also check that your plan includes roaming in the EU.")
    assert await notification_mail.compose_due(site) == 0  # nothing due: that kind is off
    assert await OutgoingMail.all().count() == 1
