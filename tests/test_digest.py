"""Daily and weekly digests (community.digest) against a real SMTP server (aiosmtpd on 127.0.0.1):
what one member's digest lists and in which order, daily against weekly, nothing new means no mail,
digest notifications carried once, a second run and a run cut short, several workers, who is never
mailed, the server's schedule and `run.py digest`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage

import pytest

from community import digest, mail, mail_links, notification_mail, preferences, questions, watches
from community.config import ROOT
from community.mail import Transport
from community.mail_links import Site
from community.models import DigestRun, Notification, OutgoingMail, Post, User
from tests.test_mail_outbox import drain, free_port, smtp_server

UTC = timezone.utc
SITE = Site("http://forum.test", "test-secret", "Community <community@forum.test>")
BODY = "How do I make this work when I travel abroad next week?"
# The fake clock starts on Monday 2026-01-05 09:00 UTC: the daily period then is
# [Sunday 07:00, Monday 07:00), the weekly one [Monday 2025-12-29 07:00, Monday 2026-01-05 07:00).
MONDAY = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def at(day: int, hour: int, month: int = 1, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, 0, tzinfo=UTC)


async def ask(fake_clock, when: datetime, author: User, title: str, tags: str) -> Post:
    fake_clock.set(when)
    return await questions.ask(author, title, BODY, tags)


async def deliver() -> list[EmailMessage]:
    """Send everything in the outbox to a fresh SMTP server and return what it received."""
    port = free_port()
    with smtp_server(port) as inbox:
        await drain(Transport(f"smtp://127.0.0.1:{port}", SITE.mail_from))
    return inbox.messages


def text_of(msg: EmailMessage) -> str:
    return msg.get_body(("plain",)).get_content().replace("\r\n", "\n")


def html_of(msg: EmailMessage) -> str:
    return msg.get_body(("html",)).get_content()


@pytest.fixture
async def people(database, users, fake_clock):
    """An asker, an answerer and a moderator with the reputation to ask freely; `roaming` and `esim`
    exist (a question from before any period under test)."""
    fake_clock.set(at(20, 12, 12, 2025))
    asker, answerer, mod = await users("asker", 500), await users("answerer", 500), await users("mod", 20000, "moderator")
    await questions.ask(asker, "An old roaming question", BODY, "roaming esim")
    return asker, answerer, mod


async def test_a_daily_watcher_gets_one_digest_of_the_periods_new_questions_unanswered_first(people, users, fake_clock):
    from moderation import closing, posts

    asker, answerer, mod = people
    ana = await users("ana", 500)
    await watches.set_tag(ana, "roaming", True)
    answered = await ask(fake_clock, at(4, 10), asker, "Roaming in Spain costs too much", "roaming")
    fake_clock.set(at(4, 11))
    await questions.answer(answerer, answered.id, "Turn on the EU roaming pass in the app first.")
    waiting = await ask(fake_clock, at(4, 12), asker, "Roaming data stops at the border", "roaming esim")
    await ask(fake_clock, at(4, 13), asker, "An esim question ana does not watch", "esim")
    await ask(fake_clock, at(4, 14), ana, "Ana asks about roaming herself", "roaming")
    dup = await ask(fake_clock, at(4, 15), asker, "Roaming in Spain is expensive", "roaming")
    await closing.vote(mod, dup.id, "close", "duplicate", duplicate_of=answered.id)
    gone = await ask(fake_clock, at(4, 16), asker, "A deleted roaming question", "roaming")
    await posts.delete(mod, gone.id, "Spam, removed by a moderator.")
    await ask(fake_clock, at(3, 20), asker, "Roaming asked before the period", "roaming")
    late = await ask(fake_clock, at(5, 8), asker, "Roaming asked after the period ended", "roaming")

    fake_clock.set(MONDAY)
    assert await digest.run("daily", SITE) == 1
    assert await digest.run("daily", SITE) == 0  # the same period again: nothing
    run = await DigestRun.get(kind="daily", period="2026-01-05")
    assert (run.since, run.until, run.cursor, run.sent, run.finished_at) == (at(4, 7), at(5, 7), ana.id, 1, MONDAY)

    [msg] = await deliver()
    assert msg["To"] == "ana@example.com"
    assert msg["Subject"] == "Your daily digest: 2 new questions in roaming"
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = msg["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith("http://forum.test/mail/unsubscribe/")
    assert mail_links.read_unsubscribe(SITE, unsubscribe.rsplit("/", 1)[1]) == (ana.id, ["tag_question"])
    text = text_of(msg)
    assert text.index("Roaming data stops at the border (no answer yet)") < text.index("Roaming in Spain costs too much (1 answer)")
    assert f"http://forum.test/questions/{waiting.id}\n" in text and f"http://forum.test/questions/{answered.id}\n" in text
    assert text.count("Because you watch the tag roaming.") == 2
    for absent in ("not watch", "Ana asks", "is expensive", "deleted", "before the period", "after the period", "old roaming"):
        assert absent not in text
    html = html_of(msg)
    assert f'<a href="http://forum.test/questions/{waiting.id}"' in html and "no answer yet" in html
    assert html.index("Roaming data stops") < html.index("Roaming in Spain costs")
    assert f'href="{unsubscribe}"' in html

    fake_clock.set(at(5, 23))  # later the same day: still the same period
    assert await digest.run("daily", SITE) == 0
    fake_clock.set(at(6, 8))  # the next day's period holds the late question alone
    assert await digest.run("daily", SITE) == 1
    [msg] = await deliver()
    assert msg["Subject"] == "Your daily digest: 1 new question in roaming"
    assert "Roaming asked after the period ended" in text_of(msg) and f"/questions/{late.id}" in text_of(msg)


async def test_a_weekly_member_gets_the_weeks_questions_in_the_weekly_run_only(people, users, fake_clock, monkeypatch):
    asker, _, _ = people
    ana, bob = await users("ana", 500), await users("bob", 500)
    for member in (ana, bob):
        await watches.set_tag(member, "roaming", True)
    await preferences.put(bob, {"tag_question": "weekly"})
    await ask(fake_clock, at(31, 9, 12, 2025), asker, "Roaming on New Year's Eve", "roaming")
    await ask(fake_clock, at(4, 9), asker, "Roaming on Sunday morning", "roaming")
    await ask(fake_clock, at(28, 9, 12, 2025), asker, "Roaming before the week began", "roaming")

    fake_clock.set(MONDAY)
    assert await digest.run("daily", SITE) == 1
    [daily] = await deliver()
    assert daily["To"] == "ana@example.com" and daily["Subject"] == "Your daily digest: 1 new question in roaming"
    assert "Sunday morning" in text_of(daily) and "New Year" not in text_of(daily)

    monkeypatch.setattr(digest, "MAX_QUESTIONS", 1)  # the rest of a long list is counted, with the tags' pages
    assert await digest.run("weekly", SITE) == 1
    [weekly] = await deliver()
    assert weekly["To"] == "bob@example.com"
    assert weekly["Subject"] == "Your weekly digest: 2 new questions in roaming"
    text = text_of(weekly)
    assert "Roaming on New Year's Eve" in text and "before the week" not in text
    assert "Sunday morning" not in text and "... and 1 more: http://forum.test/tags/roaming\n" in text
    assert '… and 1 more in <a href="http://forum.test/tags/roaming"' in html_of(weekly)
    assert "You got this weekly digest" in text
    run = await DigestRun.get(kind="weekly")
    assert (run.period, run.since, run.until) == ("2026-01-05", at(29, 7, 12, 2025), at(5, 7))

    fake_clock.set(at(6, 9))  # Tuesday: the weekly period is still last Monday's
    assert await digest.run("weekly", SITE) == 0
    assert await digest.run("daily", SITE) == 0  # nothing new for ana; bob is weekly
    assert await deliver() == []


async def test_nothing_new_sends_nothing(people, users, fake_clock):
    ana = await users("ana", 500)
    await watches.set_tag(ana, "roaming", True)
    fake_clock.set(MONDAY)
    assert await digest.run("daily", SITE) == 0
    assert await digest.run("weekly", SITE) == 0
    assert await OutgoingMail.all().count() == 0
    assert [(r.kind, r.cursor, r.sent, r.finished_at) for r in await DigestRun.all().order_by("kind")] == [
        ("daily", ana.id, 0, MONDAY), ("weekly", 0, 0, MONDAY)]  # ana is a daily member: not a weekly candidate


async def test_digest_notifications_are_mailed_once_and_marked(people, users, fake_clock):
    asker, answerer, _ = people
    cleo = await users("cleo", 500)
    await preferences.put(cleo, {"watched_answer": "daily"})
    q = await ask(fake_clock, at(5, 8), asker, "Which plan covers roaming in Canada?", "billing")
    await watches.set_question(cleo, q.id, True)
    fake_clock.set(at(5, 10))
    first = await questions.answer(answerer, q.id, "The Travel Plus plan covers Canada and the US.")
    fake_clock.set(at(6, 8))  # after the period's end: waits for the next digest
    second = await questions.answer(asker, q.id, "Thanks, and the Travel plan does not cover it.")
    assert await notification_mail.compose_due(SITE) == 2  # the asker's and the answerer's at once; cleo's wait
    assert sorted(m.to_address for m in await OutgoingMail.all()) == ["answerer@example.com", "asker@example.com"]
    await OutgoingMail.all().delete()

    fake_clock.set(at(6, 9))
    assert await digest.run("daily", SITE) == 1
    [msg] = await deliver()
    assert msg["To"] == "cleo@example.com"
    assert msg["Subject"] == "Your daily digest: 1 update on what you watch"
    assert mail_links.read_unsubscribe(SITE, msg["List-Unsubscribe"].strip("<>").rsplit("/", 1)[1]) == (cleo.id, ["watched_answer"])
    text = text_of(msg)
    assert "Which plan covers roaming in Canada?\n* answerer answered: Which plan covers roaming in Canada?" in text
    assert f"http://forum.test/questions/{q.id}#answer-{first.id}" in text
    assert "Because you watch this question." in text and f"#answer-{second.id}" not in text
    rows = await Notification.filter(user_id=cleo.id).order_by("id")
    assert [(n.post_id, n.digest, n.digested_at) for n in rows] == [(first.id, "", at(6, 9)), (second.id, "daily", None)]

    assert await digest.run("daily", SITE) == 0  # included once
    fake_clock.set(at(7, 9))
    assert await digest.run("daily", SITE) == 1
    [msg] = await deliver()
    assert f"#answer-{second.id}" in text_of(msg) and f"#answer-{first.id}" not in text_of(msg)
    assert await Notification.filter(user_id=cleo.id, digested_at=None).count() == 0


async def test_a_run_cut_short_resumes_and_mails_each_member_once(people, users, fake_clock, monkeypatch):
    asker, _, _ = people
    members = [await users(name, 500) for name in ("dara", "eli", "fay", "gus")]
    for member in members:
        await watches.set_tag(member, "roaming", True)
    await ask(fake_clock, at(4, 10), asker, "Roaming in Norway", "roaming")
    fake_clock.set(MONDAY)
    monkeypatch.setattr(digest, "BATCH", 2)
    real_queue_many, batches = mail.queue_many, []

    async def queue_then_die(mails, conn=None):
        batches.append([m["to"] for m in mails])
        queued = await real_queue_many(mails, conn)
        if len(batches) == 2:  # the second batch's mails are written, then the process dies before it commits
            raise RuntimeError("killed")
        return queued

    monkeypatch.setattr(mail, "queue_many", queue_then_die)
    with pytest.raises(RuntimeError, match="killed"):
        await digest.run("daily", SITE)
    monkeypatch.setattr(mail, "queue_many", real_queue_many)
    assert batches == [["dara@example.com", "eli@example.com"], ["fay@example.com", "gus@example.com"]]
    run = await DigestRun.get(kind="daily")
    assert (run.cursor, run.sent, run.finished_at) == (members[1].id, 2, None)
    # The second batch rolled back whole, its mails with it, so the resumed run mails fay and gus once.
    assert [m.to_address for m in await OutgoingMail.all().order_by("id")] == ["dara@example.com", "eli@example.com"]

    assert await digest.run("daily", SITE) == 2
    assert await digest.run("daily", SITE) == 0
    received = await deliver()
    assert sorted(m["To"] for m in received) == [f"{m.username}@example.com" for m in members]
    run = await DigestRun.get(kind="daily")
    assert (run.cursor, run.sent, run.finished_at) == (members[-1].id, 4, MONDAY)


async def test_two_workers_share_one_run_and_mail_each_member_once(people, users, fake_clock, monkeypatch):
    asker, _, _ = people
    members = [await users(f"member{n}", 500) for n in range(6)]
    for member in members:
        await watches.set_tag(member, "roaming", True)
    await ask(fake_clock, at(4, 10), asker, "Roaming in Iceland", "roaming")
    fake_clock.set(MONDAY)
    monkeypatch.setattr(digest, "BATCH", 2)
    first, second = await asyncio.gather(digest.run("daily", SITE), digest.run("daily", SITE))
    assert first + second == 6
    assert await DigestRun.all().count() == 1
    assert sorted(m.to_address for m in await OutgoingMail.all()) == sorted(f"{m.username}@example.com" for m in members)


async def test_unconfirmed_suspended_and_bouncing_members_get_no_digest(people, users, fake_clock):
    from moderation import members as moderation_members

    asker, _, mod = people
    names = ("ana", "ned", "sue", "bea")
    ana, ned, sue, bea = [await users(name, 500) for name in names]
    for member in (ana, ned, sue, bea):
        await watches.set_tag(member, "roaming", True)
        await preferences.put(member, {"watched_answer": "daily"})
    await User.filter(id=ned.id).update(email_confirmed_at=None)  # never followed the sign-up mail
    await User.filter(id=bea.id).update(email_bouncing_at=at(3, 9), email_bounce_reason="550 no such user")
    q = await ask(fake_clock, at(4, 10), asker, "Roaming in Portugal", "roaming")
    for member in (ana, ned, sue, bea):
        await watches.set_question(member, q.id, True)
    fake_clock.set(at(4, 11))
    await questions.answer(asker, q.id, "Update: it works once the phone restarts.")
    await moderation_members.suspend(mod, sue.id, 7, "Posting the same link everywhere.")  # until the 11th

    fake_clock.set(MONDAY)
    assert await digest.run("daily", SITE) == 1
    [msg] = await deliver()
    assert msg["To"] == "ana@example.com"
    assert "Roaming in Portugal (no answer yet)" in text_of(msg) and "1 update on what you watch" in msg["Subject"]
    # The others' digest notifications stay in their inbox, no longer waiting for a digest.
    assert await Notification.filter(digest="daily").count() == 0
    assert await Notification.filter(kind="watched_answer", read_at=None).count() == 4


async def test_the_server_schedule_runs_each_due_digest_once(people, users, fake_clock, app, config):
    asker, _, _ = people
    ana = await users("ana", 500)
    await watches.set_tag(ana, "roaming", True)
    await ask(fake_clock, at(4, 10), asker, "Roaming in Malta", "roaming")
    fake_clock.set(MONDAY)
    assert await digest.startup(app) == []  # no SMTP_URL: no schedule
    config.smtp_url, config.base_url = "smtp://127.0.0.1:1", SITE.base_url
    [loop] = await digest.startup(app)
    assert await digest.due("daily") and await digest.due("weekly")
    task = asyncio.create_task(loop)
    try:
        for _ in range(500):  # until both kinds' runs are recorded as finished
            if await DigestRun.filter(finished_at__not_isnull=True).count() == 2:
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert not await digest.due("daily") and not await digest.due("weekly")
    assert [(m.to_address, m.kind) for m in await OutgoingMail.all()] == [("ana@example.com", "digest:daily")]
    fake_clock.set(at(6, 7))
    assert await digest.due("daily") and not await digest.due("weekly")


def test_periods_follow_the_hour_and_weekday_settings():
    from community import settings

    assert digest.period("daily", at(5, 6)) == digest.Period("daily", at(3, 7), at(4, 7))
    assert digest.period("daily", at(5, 7)) == digest.Period("daily", at(4, 7), at(5, 7))
    assert digest.period("weekly", at(5, 6)).until == at(29, 7, 12, 2025)
    assert digest.period("weekly", at(11, 23)).until == at(5, 7)
    settings.override("digest.hour", 18)
    settings.override("digest.weekday", 4)  # Friday
    try:
        assert digest.period("daily", at(5, 19)).until == at(5, 18)
        assert digest.period("weekly", at(5, 19)) == digest.Period("weekly", at(26, 18, 12, 2025), at(2, 18))
        assert digest.period("weekly", at(5, 19)).name == "2026-01-02"
    finally:
        settings.reset_overrides()
    with pytest.raises(ValueError):
        digest.period("hourly", at(5, 6))


async def test_run_py_digest_queues_the_latest_period_once(people, users, fake_clock, database_url, tmp_path):
    asker, _, _ = people
    ana = await users("ana", 500)
    await watches.set_tag(ana, "roaming", True)
    real = digest.period("daily", datetime.now(UTC))  # the command runs on the real clock
    await ask(fake_clock, real.since + timedelta(hours=1), asker, "Roaming asked in the real period", "roaming")
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret", "BASE_URL": SITE.base_url,
           "VAR_DIR": str(tmp_path / "var"), "DEMO_DATA": "0"}

    def digest_command(*flags: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "run.py", "digest", *flags], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)

    first = digest_command("--daily")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"Queued 1 daily digest mail(s) for the period ending {real.until:%Y-%m-%d %H:%M} UTC."
    again = digest_command("--daily")
    assert again.returncode == 0 and again.stdout.startswith("Queued 0 daily digest mail(s)")
    missing = digest_command()
    assert missing.returncode == 2 and "Say which digest: --daily or --weekly." in missing.stderr
    [row] = await OutgoingMail.all()
    assert (row.to_address, row.kind) == ("ana@example.com", "digest:daily")
    assert "Roaming asked in the real period" in row.body_text
