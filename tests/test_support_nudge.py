"""The community nudge before escalation: a question in `roaming` with a 60-minute SLA that is still
unanswered at 30 minutes is shown, at once and by mail, to exactly the members who watch `roaming`
and had answers accepted there (best recent record first, at most `support.nudge_max`), never the
asker, a suspended member or one nudged three times this hour; an answer before then means no
nudge; a question is nudged once; and the insights dashboard compares nudged questions with the rest.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

from community import acceptance, questions, settings, watches
from community.mail import Transport
from community.mail_links import Site
from community.models import Notification, OutgoingMail, Post, User
from community.notification_mail import compose_due
from community.support import nudge, policy, sweeper
from community.support.models import Nudge, NudgeRecipient, Ticket
from moderation import members
from tests.conftest import login, token_for
from tests.test_mail_outbox import drain, free_port, smtp_server

SITE = Site("http://forum.test", "test-secret", "Community <community@forum.test>")
NUDGE_TEXT = "Can you help before this goes to our support team?"
BODY = "My phone shows no signal at all since I landed abroad."
ANSWER = "Turn on data roaming in the settings and restart the phone."
_titles = itertools.count(1)


def sla_minutes() -> None:
    """Roaming and apn questions escalate after 60 minutes, anything else after 240."""
    settings.override("sla.first_answer_minutes", 240)
    settings.override("sla.tag_minutes", {"roaming": 60, "apn": 60})


async def ask(user: User, tag: str, title: str | None = None) -> Post:
    return await questions.ask(user, title or f"Setup question number {next(_titles)}", BODY, tag)


async def accepted_answers(poster: User, author: User, tag: str, n: int) -> None:
    """`n` questions in `tag` whose accepted answer `author` wrote, posted now."""
    for _ in range(n):
        q = await ask(poster, tag)
        a = await questions.answer(author, q.id, ANSWER)
        await acceptance.accept(poster, q.id, a.id)


async def nudged_about(question_id: int) -> dict[int, Notification]:
    return {n.user_id: n for n in await Notification.filter(kind="nudge", question_id=question_id)}


async def flush_mail() -> set[int]:
    """Compose every mail due so far; returns the outbox ids, so a test can look at what comes next."""
    while await compose_due(SITE):
        pass
    return set(await OutgoingMail.all().values_list("id", flat=True))


async def test_half_way_to_its_sla_a_question_is_shown_to_exactly_the_right_members(database, users, fake_clock):
    sla_minutes()
    poster = await users("poster", 50)
    mod = await users("mod", 1, "moderator")
    names = ("asker", "ranger3", "ranger2a", "ranger2b", "ranger1", "ranger1b", "veteran", "oldtimer", "capped",
             "suspended", "unaccepted", "elsewhere")
    u = {n: await users(n, 50) for n in names}

    # Long ago (outside the 90 recent days): the veteran's four accepted roaming answers, and others.
    await accepted_answers(poster, u["veteran"], "roaming", 4)
    await accepted_answers(poster, u["oldtimer"], "roaming", 1)
    await accepted_answers(poster, u["ranger2a"], "roaming", 1)
    fake_clock.advance(days=100)
    # Recently.
    for name, n in (("ranger3", 3), ("ranger2a", 2), ("ranger2b", 2), ("ranger1", 1), ("ranger1b", 1), ("capped", 5),
                    ("suspended", 4), ("asker", 2)):
        await accepted_answers(poster, u[name], "roaming", n)
    await accepted_answers(poster, u["capped"], "apn", 1)
    await accepted_answers(poster, u["elsewhere"], "esim", 3)  # an esim expert who does not watch roaming
    q = await ask(poster, "roaming")
    await questions.answer(u["unaccepted"], q.id, ANSWER)  # answers roaming questions, never accepted
    for name in names:
        if name != "elsewhere":
            await watches.set_tag(u[name], "roaming", True)
    await watches.set_tag(u["capped"], "apn", True)
    await watches.set_tag(u["elsewhere"], "esim", True)
    await members.suspend(mod, u["suspended"].id, 3, "Posting the same link again and again.")

    # The capped member is nudged three times within the hour (about three apn questions)...
    apn = [await ask(poster, "apn") for _ in range(3)]
    fake_clock.advance(minutes=30)
    first = await sweeper.sweep()
    assert first.nudged == sorted(a.id for a in apn)
    for a in apn:
        assert set(await nudged_about(a.id)) == {u["capped"].id}
    before = await flush_mail()

    # ... and then the roaming question is asked; the asker's own answer does not count.
    roaming = await ask(u["asker"], "roaming", "No signal in Spain with roaming switched on")
    lonely = await ask(u["asker"], "wifi", "Wi-Fi calling stopped working after an update")  # nobody to nudge
    fake_clock.advance(minutes=10)
    await questions.answer(u["asker"], roaming.id, "Adding detail: I restarted twice and nothing changed.")
    fake_clock.advance(minutes=19, seconds=59)
    assert (await sweeper.sweep()).nudged == []  # not yet half way
    assert await Nudge.filter(question_id=roaming.id).count() == 0

    fake_clock.advance(seconds=1)  # exactly half of the roaming SLA
    swept = await sweeper.sweep()
    assert swept.nudged == [roaming.id]  # wifi: a 240-minute SLA, not half way yet
    assert len(swept.created) == 3  # the apn questions are due now and escalate
    best = ("ranger3", "ranger2a", "ranger2b", "ranger1", "ranger1b")
    expected = {u[n].id for n in best}
    told = await nudged_about(roaming.id)
    # Not the veteran (more accepted answers, none recent) nor the oldtimer; not capped, suspended,
    # the asker, unaccepted (no accepted answer) or elsewhere (accepted answers in a tag it watches, not roaming's).
    assert set(told) == expected
    for n in told.values():
        assert n.text == f"{NUDGE_TEXT} No signal in Spain with roaming switched on"
        assert n.url == f"/questions/{roaming.id}" and n.post_id == roaming.id
        assert n.reason == "you watch the tag roaming and your answers there were accepted"
        assert n.mail_due_at == fake_clock.now()
    record = await Nudge.get(question_id=roaming.id)
    assert record.recipients == 5 and record.at == fake_clock.now()
    assert record.sla_due_at == roaming.created_at + timedelta(minutes=60)
    assert set(await NudgeRecipient.filter(nudge_id=record.id).values_list("user_id", flat=True)) == expected

    # Mailed at once (the default for nudges), to exactly those addresses.
    await flush_mail()
    mails = await OutgoingMail.filter(kind="n:nudge").exclude(id__in=before)
    assert sorted(m.to_address for m in mails) == sorted(u[n].email for n in best)
    assert all(m.subject == f"{NUDGE_TEXT} No signal in Spain with roaming switched on" for m in mails)
    assert all("List-Unsubscribe" in m.headers and f"/questions/{roaming.id}" in m.body_text for m in mails)
    port = free_port()
    with smtp_server(port) as inbox:
        await drain(Transport(f"smtp://127.0.0.1:{port}", "community@forum.test"))
    arrived = sorted(m["To"] for m in inbox.messages if m["Subject"] == f"{NUDGE_TEXT} No signal in Spain with roaming switched on")
    assert arrived == sorted(m.to_address for m in mails)

    # Once only: later sweeps leave it alone (the wifi question, when its half way comes, has nobody).
    fake_clock.advance(minutes=1)
    assert (await sweeper.sweep()).nudged == []
    fake_clock.advance(minutes=90)  # wifi half way (120 of 240 minutes)
    assert (await sweeper.sweep()).nudged == [lonely.id]
    assert (await Nudge.get(question_id=lonely.id)).recipients == 0
    assert await Notification.filter(kind="nudge", question_id=lonely.id).count() == 0
    fake_clock.advance(minutes=1)
    again = await nudge.nudge_due(policy.current(), fake_clock.now())
    assert again.candidates == 0 and again.nudged == []
    assert await Notification.filter(kind="nudge", question_id=roaming.id).count() == 5


async def test_an_answer_before_half_way_means_no_nudge(database, users, fake_clock):
    sla_minutes()
    poster, expert, helper, asker = [await users(n, 50) for n in ("poster", "expert", "helper", "asker")]
    await accepted_answers(poster, expert, "roaming", 2)
    await watches.set_tag(expert, "roaming", True)
    answered = await ask(asker, "roaming", "Roaming works but calls drop every minute")
    waiting = await ask(asker, "roaming", "Roaming data is slow in Portugal, why?")
    fake_clock.advance(minutes=29)
    await questions.answer(helper, answered.id, ANSWER)
    fake_clock.advance(minutes=1)
    result = await sweeper.sweep()
    assert result.nudged == [waiting.id]  # the unanswered one shows the nudge would have fired
    assert await Nudge.filter(question_id=answered.id).count() == 0
    assert await nudged_about(answered.id) == {}
    assert set(await nudged_about(waiting.id)) == {expert.id}


async def test_members_chosen_for_one_question_count_towards_their_hourly_limit_for_the_next():
    def due(qid: int) -> nudge.Due:
        return nudge.Due(qid, "t", None, datetime(2026, 1, 5, tzinfo=timezone.utc))

    rows = [{"question_id": q, "user_id": uid, "tag": "roaming", "accepted": acc, "recent": rec}
            for q in (1, 2) for uid, acc, rec in ((7, 9, 1), (8, 2, 2), (9, 1, 0))]
    rule = nudge.Rules(share=0.5, most=2, recent_days=90, per_hour=3)
    # Member 8 had two nudges this hour: the third is question 1's, then it is at the limit.
    chosen = nudge.choose([due(1), due(2)], rows, {8: 2}, rule)
    assert [c["user_id"] for c in chosen[1]] == [8, 7]  # recent first, then all accepted
    assert [c["user_id"] for c in chosen[2]] == [7, 9]


async def test_a_nudge_setting_gone_wrong_never_holds_up_escalation(database, users, fake_clock):
    sla_minutes()
    settings.override("support.nudge_share", "half")
    asker = await users("asker", 50)
    q = await ask(asker, "roaming")
    fake_clock.advance(minutes=30)
    assert (await sweeper.sweep()).nudged == []
    fake_clock.advance(minutes=30)
    swept = await sweeper.sweep()
    assert len(swept.created) == 1 and await Ticket.filter(question_id=q.id).exists()


async def test_the_dashboard_compares_nudged_questions_with_the_rest(database, users, fake_clock, client):
    """Tue 2026-01-06 (the range), roaming and esim both with a 60-minute SLA:
      A roaming, nudged 09:30, helper answers 09:40          -> nudged, in time
      B roaming, nudged 09:30, escalated 10:00, answer 10:10 -> nudged, late
      C roaming, nudged 09:30, never answered                -> nudged, not answered
      E esim, nobody to nudge 09:30, answered 09:45          -> not nudged, in time
      F esim, nobody to nudge, escalated 10:00, answer 10:10 -> not nudged, late
      G esim, answered 09:10                                 -> not nudged, in time
      I esim, only staff's official answer 09:10             -> not nudged, not by the community
      H esim, imported history (exempt), answered            -> left out
    and a roaming question on Monday (outside the range). Nudged 1 of 3 (33.3%); not nudged 2 of 4 (50%)."""
    settings.override("sla.first_answer_minutes", 60)
    fake_clock.set(datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc))
    poster, expert, helper = [await users(n, 50) for n in ("poster", "expert", "helper")]
    staff = await users("sam", 1, "staff")
    await users("boss", 1, "admin")
    await accepted_answers(poster, expert, "roaming", 1)
    await watches.set_tag(expert, "roaming", True)

    fake_clock.set(datetime(2026, 1, 6, 9, 0, tzinfo=timezone.utc))
    a, b, c = [await ask(poster, "roaming") for _ in range(3)]
    e, f, g, i, h = [await ask(poster, "esim") for _ in range(5)]
    await Post.filter(id=h.id).update(escalation_exempt=True)
    fake_clock.advance(minutes=10)
    for question in (g, h):
        await questions.answer(helper, question.id, ANSWER)
    await questions.answer(staff, i.id, ANSWER, official=True)
    fake_clock.advance(minutes=20)
    assert sorted((await sweeper.sweep()).nudged) == sorted([a.id, b.id, c.id, e.id, f.id])
    fake_clock.advance(minutes=10)
    await questions.answer(helper, a.id, ANSWER)
    fake_clock.advance(minutes=5)
    await questions.answer(helper, e.id, ANSWER)
    fake_clock.advance(minutes=15)
    assert len((await sweeper.sweep()).created) == 3  # B, C, F
    fake_clock.advance(minutes=10)
    for question in (b, f):
        await questions.answer(helper, question.id, ANSWER)

    token = await token_for(client, "boss")
    r = await client.get("/api/v1/insights/summary", params={"from": "2026-01-06", "to": "2026-01-06"}, headers=token)
    assert r.status_code == 200, r.text
    data = r.json()
    assert (data["nudged_questions"], data["nudged_answered_in_time"], data["nudged_answered_in_time_pct"]) == (3, 1, 33.3)
    assert (data["not_nudged_questions"], data["not_nudged_answered_in_time"],
            data["not_nudged_answered_in_time_pct"]) == (4, 2, 50.0)
    await login(client, "boss")
    page = await client.get("/insights", params={"from": "2026-01-06", "to": "2026-01-06"})
    assert page.status_code == 200
    text = " ".join(page.text.split())
    assert ("nudged, <strong>1</strong> of 3 answered by the community before the SLA (33.3%); "
            "not nudged, <strong>2</strong> of 4 (50.0%).") in text
