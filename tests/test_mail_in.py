"""Reply by email: real SMTP sessions (aiosmtplib) to the inbound listener started through the app's
plug point. A reply to a notification mail's Reply-To posts a comment or an answer without the
quoted original and the signature; forged tokens, strangers, suspended members and too-short
replies are refused with a mail (caught by a real aiosmtpd server) and nothing is posted."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage

import aiosmtplib
import pytest

from community import db, mail_in, mail_links, notification_mail, preferences, questions, watches
from community.config import ROOT, Config
from community.mail import Transport
from community.mail_links import Site
from community.models import Comment, OutgoingMail, Post, Tag
from moderation import members
from tests.test_mail_outbox import Inbox, drain, free_port, smtp_server

FORUM = "Forum <forum@forum.test>"


@pytest.fixture
def site(config: Config) -> Site:
    config.mail_from, config.base_url = FORUM, "http://forum.test"
    return Site.from_config(config)


@pytest.fixture
async def listener(app, config: Config, site: Site) -> AsyncIterator[int]:
    """The listener as the server starts it: through `startup(app)` with MAIL_IN_PORT set."""
    config.mail_in_port = free_port()
    started = await mail_in.startup(app)
    assert len(started) == 1
    task = asyncio.create_task(started[0])
    yield config.mail_in_port
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


@pytest.fixture
def sink(site: Site) -> Iterator[tuple[Inbox, Transport]]:
    """Where the forum's own mail goes: a real SMTP server."""
    port = free_port()
    with smtp_server(port) as inbox:
        yield inbox, Transport(f"smtp://127.0.0.1:{port}", FORUM)


async def deliver(site: Site, transport: Transport) -> None:
    """The sender's work: compose due notifications, then deliver the outbox."""
    await notification_mail.compose_due(site)
    await drain(transport)


def mails_to(inbox: Inbox, address: str) -> list[EmailMessage]:
    return [m for m in inbox.messages if m["To"] == address]


def reply(original: EmailMessage | None, to: str, sender: str, text: str, **headers: str) -> EmailMessage:
    """A member's mail client answering `original`: the new text on top, then the quoted original."""
    msg = EmailMessage()
    msg["From"], msg["To"] = sender, to
    msg["Subject"] = f"Re: {original['Subject']}" if original else "Re: your question"
    msg["Message-ID"] = f"<{abs(hash((to, sender, text)))}@mail.example.com>"
    if original is not None:
        msg["In-Reply-To"] = original["Message-ID"]
        quoted = "\n".join(f"> {line}" for line in original.get_body(("plain",)).get_content().splitlines())
        text = f"{text}\n\nOn Tue, 2 Jan 2024 at 09:30, Forum <forum@forum.test> wrote:\n{quoted}\n"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(text)
    return msg


async def send(port: int, msg: EmailMessage, envelope_from: str | None = None) -> None:
    await aiosmtplib.send(msg, hostname="127.0.0.1", port=port, sender=msg["From"] if envelope_from is None else envelope_from,
                          recipients=[msg["To"]], timeout=30)


async def asked_and_answered(users) -> tuple[Post, Post]:
    asker, bob = await users("asker"), await users("bob", 200)
    question = await questions.ask(asker, "My phone has no signal abroad", "Roaming is on but there is no signal at all.",
                                   "roaming")
    answer = await questions.answer(bob, question.id, "Restart the phone once you have crossed the border.")
    return question, answer


async def question_in_a_watched_tag(users) -> tuple[Post, object]:
    """carol watches `roaming` and wants its new questions mailed at once; asker asks there."""
    asker, carol = await users("asker"), await users("carol", 50)
    await Tag.create(name="roaming")
    await watches.set_tag(carol, "roaming", True)
    await preferences.put(carol, {"tag_question": "now"})
    question = await questions.ask(asker, "Data roaming stopped working in Spain", "Since yesterday no data, calls work.",
                                   "roaming")
    return question, carol


async def test_reply_to_an_answer_mail_posts_a_comment_without_the_quote_and_signature(listener, sink, site, users):
    inbox, transport = sink
    question, answer = await asked_and_answered(users)
    await deliver(site, transport)
    [original] = mails_to(inbox, "asker@example.com")
    reply_to = original["Reply-To"]
    assert mail_links.read_reply_address(site, reply_to) == mail_links.ReplyTarget(question.author_id, "c", answer.id)

    text = "Thanks Bob, restarting the phone fixed it.\n\n-- \nAsker Smith\nSent from my phone"
    await send(listener, reply(original, reply_to, "Asker <ASKER@example.com>", text))

    [comment] = await Comment.filter(post_id=answer.id)
    assert comment.body == "Thanks Bob, restarting the phone fixed it."
    assert comment.author_id == question.author_id
    assert await OutgoingMail.filter(kind="reply_refused").count() == 0
    # posted through the comment service: bob hears of it like of a comment made on the page
    await deliver(site, transport)
    [to_bob] = mails_to(inbox, "bob@example.com")
    assert "Thanks Bob, restarting the phone fixed it." in to_bob.get_body(("plain",)).get_content()


async def test_reply_to_a_question_mail_posts_an_answer_keeping_its_markdown(listener, sink, site, users):
    inbox, transport = sink
    question, carol = await question_in_a_watched_tag(users)
    await deliver(site, transport)
    [original] = mails_to(inbox, "carol@example.com")
    assert original["Reply-To"] == mail_links.reply_address(site, carol.id, "a", question.id)

    text = ("> Since yesterday no data, calls work.\n\nTurn data roaming off and on again, then:\n\n- pick the network by hand\n- restart the phone\n\n"
            "    Settings > Mobile > Network\n\nBest regards,\nCarol")
    await send(listener, reply(original, original["Reply-To"], "carol@example.com", text))

    [answer] = await Post.filter(kind="answer", question_id=question.id)
    assert answer.author_id == carol.id
    assert answer.body == ("Turn data roaming off and on again, then:\n\n- pick the network by hand\n- restart the phone\n\n"
                           "    Settings > Mobile > Network")
    assert (await Post.get(id=question.id)).answer_count == 1


async def test_an_html_only_reply_is_read_without_its_blockquote(listener, sink, site, users):
    inbox, transport = sink
    question, carol = await question_in_a_watched_tag(users)
    await deliver(site, transport)
    [original] = mails_to(inbox, "carol@example.com")
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "carol@example.com", original["Reply-To"], "Re: new question"
    msg.set_content(
        '<div dir="ltr">Choose the network <b>by hand</b> in the settings.<br>It worked for me in Madrid.</div>'
        '<div class="gmail_quote"><div class="gmail_attr">On Tue, 2 Jan 2024, Forum &lt;forum@forum.test&gt; wrote:</div>'
        "<blockquote><p>New question: Data roaming stopped working in Spain</p></blockquote></div>", subtype="html")
    await send(listener, msg)

    [answer] = await Post.filter(kind="answer", question_id=question.id)
    assert answer.body == "Choose the network by hand in the settings.\nIt worked for me in Madrid."


async def _refused_case(case: str, users, inbox: Inbox, transport: Transport, site: Site) -> tuple[EmailMessage, str]:
    question, carol = await question_in_a_watched_tag(users)
    await deliver(site, transport)
    [original] = mails_to(inbox, "carol@example.com")
    good = "Pick the network by hand in the phone's settings, that fixed it for me."
    address = original["Reply-To"]
    if case == "forged token":
        local, _, domain = address.partition("@")
        forged = local[:-1] + ("a" if local[-1] != "a" else "b")
        return reply(original, f"{forged}@{domain}", "carol@example.com", good), "carol@example.com"
    if case == "another member's token":
        dave = await users("dave", 50)
        return reply(original, mail_links.reply_address(site, dave.id, "a", question.id), "carol@example.com", good), \
            "carol@example.com"
    if case == "a stranger":
        return reply(original, address, "mallory@example.net", good), "mallory@example.net"
    if case == "a stranger behind the member's From":
        return reply(original, address, "carol@example.com", good), "mallory@example.net"
    if case == "suspended":
        mod = await users("mod", role="moderator")
        await members.suspend(mod, carol.id, 3, "Posting the same link in every thread")
        return reply(original, address, "carol@example.com", good), "carol@example.com"
    assert case == "too short"
    return reply(original, address, "carol@example.com", "Same here!\n\n-- \nCarol"), "carol@example.com"


REFUSALS = {
    "forged token": "not one the forum gave out",
    "another member's token": "did not come from the address of the member",
    "a stranger": "did not come from the address of the member",
    "a stranger behind the member's From": "did not come from the address of the member",
    "suspended": "Your account is suspended until",
    "too short": "Write at least 20 characters",
}


@pytest.mark.parametrize("case", list(REFUSALS))
async def test_a_refused_reply_posts_nothing_and_is_answered_saying_why(case, listener, sink, site, users):
    inbox, transport = sink
    msg, envelope_from = await _refused_case(case, users, inbox, transport, site)
    await send(listener, msg, envelope_from)

    assert await Post.filter(kind="answer").count() == 0
    assert await Comment.all().count() == 0
    await drain(transport)
    [answer] = mails_to(inbox, envelope_from)[-1:]
    assert answer["Subject"] == "Your reply was not posted"
    assert answer["Auto-Submitted"] == "auto-replied" and answer["In-Reply-To"] == msg["Message-ID"]
    body = answer.get_content()
    assert REFUSALS[case] in body
    if envelope_from == "carol@example.com" and case in ("suspended", "too short"):
        assert "Hello carol," in body  # the member hears it, with their text to use again
        assert ("Same here!" if case == "too short" else "Pick the network by hand") in body
    else:
        assert "Pick the network by hand" not in body  # a stranger's text is not mailed anywhere
        assert "carol" not in body.lower()


async def test_automatic_mail_is_neither_posted_nor_answered_and_other_addresses_are_refused(listener, sink, site, users,
                                                                                             caplog):
    caplog.set_level(logging.INFO, logger="community.mail_in")
    inbox, transport = sink
    question, carol = await question_in_a_watched_tag(users)
    await deliver(site, transport)
    [original] = mails_to(inbox, "carol@example.com")
    text = "I am out of the office until Monday and will read your message then."
    await send(listener, reply(original, original["Reply-To"], "carol@example.com", text, Auto_Submitted="auto-replied"))
    await send(listener, reply(original, original["Reply-To"], "carol@example.com", text), envelope_from="")  # a bounce
    await send(listener, reply(original, "reply+1-a1-aaaaaaaaaaaaaaaa@forum.test", "carol@example.com", text),
               envelope_from="")
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await send(listener, reply(original, "forum@forum.test", "carol@example.com", text))
    assert refused.value.recipients[0].code == 550
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        await send(listener, reply(original, original["Reply-To"].replace("forum.test", "elsewhere.test"),
                                   "carol@example.com", text))

    assert await Post.filter(kind="answer").count() == 0
    assert await OutgoingMail.filter(kind="reply_refused").count() == 0
    outcomes = [r.getMessage() for r in caplog.records if r.getMessage().startswith("reply to ")]
    assert [m.rpartition(": ")[2] for m in outcomes] == ["ignored automatic mail"] * 3
    assert [m.split(" from ")[1].split(":")[0] for m in outcomes] == ["carol@example.com", "<>", "<>"]


async def test_the_same_message_delivered_twice_posts_once(listener, sink, site, users):
    inbox, transport = sink
    question, carol = await question_in_a_watched_tag(users)
    await deliver(site, transport)
    [original] = mails_to(inbox, "carol@example.com")
    msg = reply(original, original["Reply-To"], "carol@example.com", "Pick the network by hand in the settings.")
    await send(listener, msg)
    await send(listener, msg)  # the sending server never saw our 250 and tries again

    assert await Post.filter(kind="answer", question_id=question.id).count() == 1


async def test_a_database_error_answers_451_and_the_sending_servers_retry_posts(listener, sink, site, users):
    inbox, transport = sink
    question, answer = await asked_and_answered(users)
    await deliver(site, transport)
    [original] = mails_to(inbox, "asker@example.com")
    msg = reply(original, original["Reply-To"], "asker@example.com", "Thanks, that did it.")
    await db.execute("ALTER TABLE comment RENAME TO comment_away")  # every comment insert now fails
    try:
        with pytest.raises(aiosmtplib.SMTPDataError) as temporary:
            await send(listener, msg)
    finally:
        await db.execute("ALTER TABLE comment_away RENAME TO comment")
    assert temporary.value.code == 451
    assert await Comment.all().count() == 0 and await OutgoingMail.filter(kind="reply_refused").count() == 0

    await send(listener, msg)  # the same message again, as the sending server retries it
    assert [c.body for c in await Comment.filter(post_id=answer.id)] == ["Thanks, that did it."]


async def test_a_message_over_the_size_limit_is_refused_at_data(listener, sink, site, users):
    question, carol = await question_in_a_watched_tag(users)
    msg = reply(None, mail_links.reply_address(site, carol.id, "a", question.id), "carol@example.com",
                "x" * (mail_in.MAX_SIZE + 10))
    with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
        await send(listener, msg)
    assert refused.value.code == 552
    assert await Post.filter(kind="answer").count() == 0


def _wait_for_port(port: int, proc: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"run.py mail-in exited early:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail(f"run.py mail-in did not listen:\n{log.read_text()}")


async def test_run_py_mail_in_takes_a_reply_as_its_own_process(database_url, database, users, tmp_path):
    question, carol = await question_in_a_watched_tag(users)
    site = Site("http://forum.test", "cli-secret", FORUM)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "cli-secret", "MAIL_FROM": FORUM,
           "BASE_URL": "http://forum.test", "VAR_DIR": str(tmp_path / "var"), "PYTHONUNBUFFERED": "1"}
    env.pop("MAIL_IN_PORT", None)
    log = tmp_path / "mail-in.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "run.py", "mail-in", "--port", str(port)], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        await asyncio.to_thread(_wait_for_port, port, proc, log)
        msg = reply(None, mail_links.reply_address(site, carol.id, "a", question.id), "carol@example.com",
                    "Pick the network by hand in the settings; it worked in Madrid.\n\n> earlier mail")
        await send(port, msg)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(proc.wait, 30)
    assert code == 0, log.read_text()
    assert "Taking replies to reply+...@forum.test" in log.read_text()
    [answer] = await Post.filter(kind="answer", question_id=question.id)
    assert (answer.author_id, answer.body) == (carol.id, "Pick the network by hand in the settings; it worked in Madrid.")
    assert await OutgoingMail.filter(kind="reply_refused").count() == 0
