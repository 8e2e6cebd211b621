"""Browser journey for issue 13: a member watches a tag and asks for its new questions at once;
another member asks there; the mail arrives in a real SMTP server (aiosmtpd, in this process);
its link opens the question; the watcher answers in the browser; the asker's mail arrives, and
replying to it (a real SMTP session to the server's own inbound listener) posts a comment that
leaves the quoted original out. The live server composes, sends and listens for replies itself."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from email.message import EmailMessage

import aiosmtplib
import pytest

from community import questions
from tests.browser import assert_fits_width, free_port, log_in, new_page
from tests.test_mail_outbox import Inbox, smtp_server

pytestmark = pytest.mark.browser

SMTP_PORT, MAIL_IN_PORT = free_port(), free_port()
QUESTION_LINK = re.compile(r"http://127\.0\.0\.1:\d+/questions/\d+\S*")


@pytest.fixture
def sink() -> Iterator[Inbox]:
    with smtp_server(SMTP_PORT) as inbox:
        yield inbox


@pytest.fixture
def live_server_env() -> dict[str, str]:
    return {"SMTP_URL": f"smtp://127.0.0.1:{SMTP_PORT}", "MAIL_FROM": "Community <community@forum.test>",
            "MAIL_IN_PORT": str(MAIL_IN_PORT), "RUN_SWEEPER": "0"}


async def mail_to(inbox: Inbox, address: str, subject_part: str, server) -> EmailMessage:
    """The first message to `address` whose subject has `subject_part`, waiting up to 20 s."""
    for _ in range(200):
        for m in list(inbox.messages):
            if m["To"] == address and subject_part in m["Subject"]:
                return m
        await asyncio.sleep(0.1)
    pytest.fail(f"no mail to {address} about {subject_part!r}; got {[(m['To'], m['Subject']) for m in inbox.messages]}\n"
                + server.log())


async def test_watch_a_tag_get_the_mail_answer_and_reply_by_email(sink, live_server, users, browser, phone_page):
    url = live_server.url
    asker, watcher = await users("asker", 20), await users("watcher", 50)
    # An earlier roaming question, so the tag (and its page) exists.
    await questions.ask(asker, "Roaming charges in Spain look wrong", "I was charged for data in Spain although it is in my plan.", "roaming")

    # The watcher watches the tag on its page (phone) and asks for its new questions at once.
    page = phone_page
    await log_in(page, url, "watcher")
    await page.goto(url + "/tags/roaming")
    await page.get_by_role("button", name="Watch tag").click()
    await page.wait_for_load_state()
    await page.goto(url + "/account/notifications")
    await page.get_by_role("group", name="A new question in a tag you watch").get_by_label("At once").check()
    await page.get_by_role("button", name="Save settings").click()
    await page.wait_for_load_state()
    assert "roaming" in await page.get_by_label("Watched tags").input_value()
    await assert_fits_width(page)

    # The asker asks in roaming (desktop).
    desk = await new_page(browser)
    await log_in(desk, url, "asker")
    await desk.goto(url + "/questions/ask")
    await desk.get_by_label("Title").fill("No signal at all when roaming in France")
    await desk.get_by_label("Details").fill("Since I landed in Paris my phone shows no service, data roaming is on.")
    await desk.get_by_label("Tags").fill("roaming")
    await desk.get_by_role("button", name="Post your question").click()
    await desk.wait_for_url(re.compile(r".*/questions/\d+/[a-z0-9-]+$"))
    question_url = desk.url

    # The watcher's mail arrives; its link opens the question.
    new_question = await mail_to(sink, "watcher@example.com", "New question: No signal at all when roaming in France", live_server)
    text = new_question.get_body(("plain",)).get_content()
    assert "you watch the tag roaming" in text and "Since I landed in Paris" in text
    assert new_question["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = QUESTION_LINK.search(text).group(0)
    assert question_url.startswith(link + "/")  # the mail links the bare id, which moves to the slugged address
    await page.goto(link)
    assert page.url == question_url
    assert await page.get_by_role("heading", name="No signal at all when roaming in France").count() == 1

    # The watcher answers in the browser; the asker's mail arrives.
    await page.get_by_role("textbox", name="Answer", exact=True).fill("Pick a French network by hand under Mobile networks, then restart the phone.")
    await page.get_by_role("button", name="Post your answer").click()
    await page.wait_for_load_state()
    answered = await mail_to(sink, "asker@example.com", "watcher answered your question", live_server)
    assert "Pick a French network by hand" in answered.get_body(("plain",)).get_content()
    reply_to = answered["Reply-To"]
    assert reply_to.startswith("reply+") and reply_to.endswith("@forum.test")

    # The asker replies by email, quoting the mail as mail programs do: a comment on the answer.
    reply = EmailMessage()
    reply["From"], reply["To"], reply["Subject"] = "asker@example.com", reply_to, "Re: " + answered["Subject"]
    reply["In-Reply-To"] = answered["Message-ID"]
    reply.set_content("That worked, thank you so much!\n\nOn Mon, 5 Jan 2026 at 09:00, Community wrote:\n"
                      "> Pick a French network by hand under Mobile networks, then restart the phone.\n")
    await aiosmtplib.send(reply, hostname="127.0.0.1", port=MAIL_IN_PORT, sender="asker@example.com", recipients=[reply_to])

    await desk.goto(question_url)
    comments = desk.locator(".answer .comments")
    await comments.get_by_text("That worked, thank you so much!").wait_for()
    assert "Pick a French network" not in await comments.inner_text()  # the quoted original stays out
    # The watcher is told of the comment in the inbox at once; by mail once the thread's fold window
    # (mail.fold_minutes since the watcher's last mail about it) is up.
    await page.goto(url + "/inbox")
    assert await page.get_by_text("asker commented on your post in: No signal at all when roaming in France").count() == 1
