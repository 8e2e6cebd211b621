"""Insights on a small fixture whose every figure was worked out by hand, and the API's rules.

The fixture (range 2026-01-05 Mon .. 2026-01-07 Wed, UTC), built through the ordinary services:
  Q1 ann  Mon 09:00  cat answers 09:20 (20 min), accepted            -> solved, solution 20
  Q2 ben  Mon 10:00  ben's own answer 10:05 (does not count); dan 11:30 (90), accepted 11:40
                     escalated 11:00, claimed 11:20 (20 min, on time), resolved by the community
  Q3 ann  Tue 08:00  dan 08:45 (45), accepted                         -> solved, solution 45
  Q4 ben  Tue 12:00  escalated 13:00, claimed 13:45 (45 min: late), staff sam's official answer
                     14:00 (120; first staff reply 60 min after escalation), accepted 14:10
  Q5 ann  Wed 09:00  cat 10:00: exactly 60 min, so *not* within the hour (the SLA counts it late)
  Q8 ann  Wed 10:30  never answered
  Q6 ben  Wed 23:00  cat Thu 02:00 (180), accepted Thu 02:10 (outside the range)
  Q7 ann  Thu 10:00  answered 10:10: outside the range
  vic upvotes cat's Q5 answer on Wed 10:30 (+10); staff earn no reputation for official answers.
Seven questions in range; waits 20 45 60 90 120 180 (median 75, p90 rank 6 = 180); within the
hour 2 of 7 = 28.6%; solved 5 of 7 = 71.4%, solutions 20 45 90 120 180 (median 90).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from community import acceptance, clock, questions, voting
from community.insights.periods import Period, parse_period
from community.insights.summary import summary
from community.insights.whatif import parse_business_hours, sla_whatif
from community.errors import Invalid
from tests.conftest import login, token_for
from tests.test_insights_facts import _assert_rollups_match_facts

MON = datetime(2026, 1, 5, tzinfo=timezone.utc)
PERIOD = Period(MON.date(), (MON + timedelta(days=2)).date())


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return MON + timedelta(days=day, hours=hour, minutes=minute)


async def build(users, fake_clock) -> dict:
    fake_clock.set(datetime(2026, 1, 1, tzinfo=timezone.utc))
    u = {n: await users(n) for n in ("ann", "ben", "cat", "dan")}
    u["vic"] = await users("vic", 200)
    u["sam"] = await users("sam", 1, "staff")
    u["boss"] = await users("boss", 1, "admin")
    u["mod"] = await users("mod", 1, "moderator")

    async def ask(who: str, when: datetime, title: str):
        fake_clock.set(when)
        return await questions.ask(u[who], title, "Some details about the problem I have here.", "esim")

    async def answer(who: str, q, when: datetime, official: bool = False):
        fake_clock.set(when)
        return await questions.answer(u[who], q.id, "Try this: restart and reset the network settings.", official)

    async def accept(who: str, q, a, when: datetime):
        fake_clock.set(when)
        await acceptance.accept(u[who], q.id, a.id)

    q1 = await ask("ann", at(0, 9), "Question one about my eSIM")
    await accept("ann", q1, await answer("cat", q1, at(0, 9, 20)), at(0, 9, 30))
    q2 = await ask("ben", at(0, 10), "Question two about my eSIM")
    await answer("ben", q2, at(0, 10, 5))
    await accept("ben", q2, await answer("dan", q2, at(0, 11, 30)), at(0, 11, 40))
    q3 = await ask("ann", at(1, 8), "Question three about my eSIM")
    await accept("ann", q3, await answer("dan", q3, at(1, 8, 45)), at(1, 9))
    q4 = await ask("ben", at(1, 12), "Question four about my eSIM")
    await accept("ben", q4, await answer("sam", q4, at(1, 14), official=True), at(1, 14, 10))
    q5 = await ask("ann", at(2, 9), "Question five about my eSIM")
    a5 = await answer("cat", q5, at(2, 10))
    fake_clock.set(at(2, 10, 30))
    await voting.vote(u["vic"], a5.id, 1)
    await ask("ann", at(2, 10, 30), "Question eight about my eSIM")
    q6 = await ask("ben", at(2, 23), "Question six about my eSIM")
    await accept("ben", q6, await answer("cat", q6, at(3, 2)), at(3, 2, 10))
    q7 = await ask("ann", at(3, 10), "Question seven about my eSIM")
    await answer("cat", q7, at(3, 10, 10))

    try:
        from community.support.models import Ticket
    except ImportError:
        Ticket = None
    if Ticket is not None:
        def ticket(q, escalated: datetime, claimed: datetime, reply: datetime | None, state: str) -> dict:
            return dict(question_id=q.id, state=state, escalated_at=escalated, sla_breached_at=escalated, due_at=escalated,
                        assignee_id=u["sam"].id, claimed_at=claimed, claim_due_at=escalated + timedelta(minutes=30),
                        first_reply_at=reply, reply_due_at=escalated + timedelta(minutes=120), updated_at=escalated)
        await Ticket.create(**ticket(q2, at(0, 11), at(0, 11, 20), None, "resolved"))
        await Ticket.create(**ticket(q4, at(1, 13), at(1, 13, 45), at(1, 14), "resolved"))

    try:
        from search import deflection
    except ImportError:
        deflection = None
    if deflection is not None:
        fake_clock.set(at(1, 15))
        first = await deflection.search_ran("esim not working", 3, u["ann"].id)
        for _ in range(3):
            await deflection.search_ran("roaming", 0, None)
        await deflection.result_opened(q1.id, first, u["ann"].id)  # q1 is solved
        await deflection.suggestions_shown("view-1", 2, u["ann"].id)
        await deflection.suggestions_shown("view-2", 1, None)
        await deflection.solved_my_problem(q3.id, u["ann"].id, "view-1")
    fake_clock.set(at(4, 12))  # Friday noon: every deadline in the range has passed
    return u


async def test_every_dashboard_figure(database, fake_clock, users):
    await build(users, fake_clock)
    s = await summary(PERIOD)
    assert (s.questions, s.answered, s.answered_within_hour) == (7, 6, 2)
    assert s.answered_within_hour_pct == 28.6 and s.answered_within_hour_target == 95
    assert s.median_first_answer_minutes == 75.0 and s.p90_first_answer_minutes == 180.0
    assert (s.solved, s.solved_pct, s.median_solution_minutes) == (5, 71.4, 90.0)
    assert s.per_day == [
        {"day": "2026-01-05", "questions": 2, "answered": 2, "answered_within_hour": 1, "solved": 2, "answered_within_hour_pct": 50.0},
        {"day": "2026-01-06", "questions": 2, "answered": 2, "answered_within_hour": 1, "solved": 2, "answered_within_hour_pct": 50.0},
        {"day": "2026-01-07", "questions": 3, "answered": 2, "answered_within_hour": 0, "solved": 1, "answered_within_hour_pct": 0.0},
    ]
    # Staff earn no reputation for official answers; ben's +2 for accepting Q6 falls on Thursday.
    assert [(c["username"], c["reputation"]) for c in s.top_by_reputation] == [("dan", 30), ("cat", 25), ("ann", 4), ("ben", 4)]
    assert [(c["username"], c["accepted"]) for c in s.top_by_accepted] == [("dan", 2), ("cat", 1), ("sam", 1)]
    if s.escalations_available:
        assert (s.escalations, s.escalation_rate) == (2, 28.6)
        assert (s.escalated_solved_by_staff, s.escalated_solved_by_community) == (1, 1)
        assert (s.median_claim_minutes, s.median_first_reply_minutes, s.sla_breaches) == (32.5, 60.0, 1)
    if s.self_service_available:
        assert (s.searches, s.searches_opened_solved, s.suggestions_shown, s.deflections) == (4, 1, 2, 1)
        assert s.deflection_rate == 12.5  # 1 / (1 + 7)

    # The SLA what-if on the same fixture.
    w = await sla_whatif(PERIOD, 60)
    # Late or never: Q2 (90), Q4 (120), Q5 (exactly 60), Q6 (180), Q8 (never).
    assert (w.questions, w.would_escalate) == (7, 5)
    assert [d["would_escalate"] for d in w.per_day] == [1, 1, 3]
    # Deadlines: Q2 11:00, Q4 13:00, Q5 10:00, Q6 00:00, Q8 11:30 -> 11:00-12:00 twice.
    assert w.busiest_hour == {"hour": 11, "label": "11:00-12:00 UTC", "would_escalate": 2, "per_day": 0.67}
    assert w.agent_hours == 1.0  # 5 x 12 minutes
    assert (await sla_whatif(PERIOD, 15)).would_escalate == 7
    assert (await sla_whatif(PERIOD, 24 * 60)).would_escalate == 1  # only Q8
    assert (await sla_whatif(PERIOD, 60, handling_minutes=30)).agent_hours == 2.5

    # Business hours Mon-Fri 09:00-17:00: Q3 (asked 08:00, answered 08:45) used no business time,
    # Q6 (Wed 23:00 -> Thu 02:00) neither; Q5 still took a full hour. Q2, Q4, Q5, Q8 escalate.
    b = await sla_whatif(PERIOD, 60, parse_business_hours("mon-fri 09:00-17:00"))
    assert (b.would_escalate, [d["would_escalate"] for d in b.per_day]) == (4, [1, 1, 2])
    assert b.busiest_hour["hour"] == 11 and b.busiest_hour["would_escalate"] == 2
    # Eight business hours a day: a two-day SLA from Wednesday 10:30 falls due Friday 10:30.
    assert (await sla_whatif(PERIOD, 16 * 60, parse_business_hours("mon-fri 09:00-17:00"))).would_escalate == 1
    fake_clock.set(at(4, 10))  # Friday 10:00: Q8's two business days are not up yet
    assert (await sla_whatif(PERIOD, 16 * 60, parse_business_hours("mon-fri 09:00-17:00"))).would_escalate == 0
    # The roll-ups behind these figures (tickets and staff answers included) agree with their sources.
    await _assert_rollups_match_facts()


async def test_an_empty_range_has_no_figures_rather_than_zeros(database):
    s = await summary(Period(datetime(2025, 6, 1).date(), datetime(2025, 6, 2).date()))
    assert s.questions == 0 and s.answered_within_hour_pct is None and s.median_first_answer_minutes is None
    assert s.per_day == [{"day": d, "questions": 0, "answered": 0, "answered_within_hour": 0, "solved": 0,
                          "answered_within_hour_pct": None} for d in ("2025-06-01", "2025-06-02")]


async def test_weekends_do_not_count_in_weekday_business_hours(database, fake_clock, users):
    fake_clock.set(datetime(2026, 1, 1, tzinfo=timezone.utc))
    ann, cat = await users("ann"), await users("cat")
    fake_clock.set(datetime(2026, 1, 9, 16, 30, tzinfo=timezone.utc))  # Friday 16:30
    q = await questions.ask(ann, "Asked late on a Friday afternoon", "Some details about the problem I have.", "esim")
    fake_clock.set(datetime(2026, 1, 12, 9, 20, tzinfo=timezone.utc))  # Monday 09:20: 30 + 20 business minutes
    await questions.answer(cat, q.id, "Answered first thing on Monday morning.")
    friday = Period(datetime(2026, 1, 9).date(), datetime(2026, 1, 9).date())
    assert (await sla_whatif(friday, 60, parse_business_hours("mon-fri 09:00-17:00"))).would_escalate == 0
    assert (await sla_whatif(friday, 50, parse_business_hours("mon-fri 09:00-17:00"))).would_escalate == 1
    assert (await sla_whatif(friday, 60, parse_business_hours("09:00-17:00"))).would_escalate == 1  # Saturday counts
    assert (await sla_whatif(friday, 60)).would_escalate == 1


def test_inputs_are_checked():
    with pytest.raises(Invalid) as err:
        parse_period("2026-02-01", "2026-01-01")
    assert err.value.field == "from"
    with pytest.raises(Invalid):
        parse_period("01/02/2026", None)
    with pytest.raises(Invalid):
        parse_period("2000-01-01", "2026-01-01")
    with pytest.raises(Invalid):
        parse_business_hours("17:00-09:00")
    with pytest.raises(Invalid):
        parse_business_hours("all day")
    assert parse_business_hours("Mon-Fri 8:30-18:00").label() == "mon-fri 08:30-18:00"
    assert parse_period(None, "2026-01-28") == Period(datetime(2026, 1, 1).date(), datetime(2026, 1, 28).date())


async def test_api_and_page_are_for_staff_and_admins(client, database, fake_clock, users):
    await build(users, fake_clock)
    url = "/api/v1/insights/summary?from=2026-01-05&to=2026-01-07"
    assert (await client.get(url)).status_code == 401
    for name in ("ann", "mod"):
        r = await client.get(url, headers=await token_for(client, name))
        assert r.status_code == 403 and r.json()["error"]["code"]
    for name in ("sam", "boss"):
        r = await client.get(url, headers=await token_for(client, name))
        assert r.status_code == 200
        data = r.json()
        assert (data["questions"], data["answered_within_hour_pct"], data["median_first_answer_minutes"],
                data["solved_pct"]) == (7, 28.6, 75.0, 71.4)
        assert {"escalations", "escalation_rate", "deflections", "per_day", "top_by_reputation"} <= set(data)
    admin = await token_for(client, "boss")
    r = await client.get("/api/v1/insights/sla-whatif?sla_minutes=60&from=2026-01-05&to=2026-01-07", headers=admin)
    assert r.status_code == 200
    data = r.json()
    assert (data["questions"], data["would_escalate"], data["agent_hours"], data["busiest_hour"]["hour"]) == (7, 5, 1.0, 11)
    assert [d["would_escalate"] for d in data["per_day"]] == [1, 1, 3]
    r = await client.get("/api/v1/insights/sla-whatif?sla_minutes=60&from=2026-01-05&to=2026-01-07"
                         "&business_hours=mon-fri%2009:00-17:00", headers=admin)
    assert r.json()["would_escalate"] == 4 and r.json()["business_hours"] == "mon-fri 09:00-17:00"
    for query, field in (("sla_minutes=abc", "sla_minutes"), ("sla_minutes=0", "sla_minutes"), ("from=yesterday", "from"),
                         ("from=2026-02-01&to=2026-01-01", "from"), ("business_hours=later", "business_hours"),
                         ("sla_minutes=99999999999999999999", "sla_minutes")):
        r = await client.get(f"/api/v1/insights/sla-whatif?{query}", headers=admin)
        assert r.status_code == 422 and r.json()["error"]["field"] == field, query

    # The page and its CSV export, for the same people.
    client.cookies.clear()
    assert (await client.get("/insights")).status_code in (302, 303)  # to the log-in page
    await login(client, "ann")
    assert (await client.get("/insights")).status_code == 403
    client.cookies.clear()
    await login(client, "boss")
    page = await client.get("/insights?from=2026-01-05&to=2026-01-07&sla_minutes=60")
    assert page.status_code == 200
    assert '<svg id="chart-asked"' in page.text and "3 days from 2026-01-05 to 2026-01-07; total 7" in page.text
    assert "28.6%" in page.text and "below target" in page.text
    bad = await client.get("/insights?from=2026-13-01")
    assert bad.status_code == 422 and "is not a date" in bad.text and 'value="2026-13-01"' in bad.text
    csv = await client.get("/insights/export.csv?from=2026-01-05&to=2026-01-07&sla_minutes=60")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    assert csv.text.splitlines() == [
        "day,questions,answered,answered_within_hour,answered_within_hour_pct,solved,would_escalate_at_60_min_sla",
        "2026-01-05,2,2,1,50.0,2,1",
        "2026-01-06,2,2,1,50.0,2,1",
        "2026-01-07,3,2,0,0.0,1,3",
    ]
