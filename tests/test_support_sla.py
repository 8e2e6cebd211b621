"""SLA arithmetic with a fake clock: the boundary, per-tag overrides, business hours across a
weekend and a daylight-saving change, self-answers, and an answer one second before the deadline."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from community import questions, settings
from community.errors import Invalid
from community.support import policy, sweeper
from community.support.models import Ticket

UTC = timezone.utc
LONDON = ZoneInfo("Europe/London")
OFFICE = {"timezone": "Europe/London", "days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}


def test_parse_sla_bare_number_is_minutes_and_units_are_as_written():
    assert policy.parse_sla("60") == 3600
    assert policy.parse_sla("30s") == 30
    assert policy.parse_sla("15m") == 900
    assert policy.parse_sla("2h") == 7200
    with pytest.raises(ValueError):
        policy.parse_sla("soon")


async def test_deadline_is_asked_plus_sla_and_per_tag_override_wins(database):
    pol = policy.current()
    asked = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert pol.first_answer_deadline(asked, ["esim"]) == asked + timedelta(minutes=60)
    # billing is 15 minutes by default; with several overrides the strictest applies.
    assert pol.first_answer_deadline(asked, ["esim", "billing"]) == asked + timedelta(minutes=15)
    settings.override("sla.tag_minutes", {"billing": 15, "outage": 5, "chat": 600})
    pol = policy.current()
    assert pol.first_answer_deadline(asked, ["billing", "outage"]) == asked + timedelta(minutes=5)
    assert pol.first_answer_deadline(asked, ["chat"]) == asked + timedelta(minutes=600)
    assert pol.shortest == 5 * 60


async def test_sla_first_answer_from_the_deployment_overrides_the_setting(database):
    policy.configure("30s")
    try:
        assert policy.current().first_answer_seconds == 30
    finally:
        policy.configure("")
    assert policy.current().first_answer_seconds == 3600


def test_business_hours_across_a_weekend_and_the_autumn_clock_change():
    hours = policy.parse_business_hours(OFFICE)
    # Friday 23 October 2026, 16:30 in London (BST, UTC+1): 30 working minutes left that day.
    asked = datetime(2026, 10, 23, 16, 30, tzinfo=LONDON)
    due = hours.add(asked.astimezone(UTC), 3600)
    # Clocks go back on Sunday 25 October; Monday 09:30 London is GMT, i.e. 09:30 UTC.
    assert due == datetime(2026, 10, 26, 9, 30, tzinfo=UTC)
    assert due.astimezone(LONDON).hour == 9
    assert hours.between(asked.astimezone(UTC), due) == 3600
    # Wall time between them is 66 hours, not 65: the lost hour is counted in the right place.
    assert due - asked == timedelta(hours=66)


def test_business_hours_across_the_spring_clock_change_and_outside_hours():
    hours = policy.parse_business_hours(OFFICE)
    # Saturday 28 March 2026 at noon: nothing runs until Monday 30 March 09:00 BST = 08:00 UTC.
    asked = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    assert hours.add(asked, 0) == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    assert hours.add(asked, 15 * 60) == datetime(2026, 3, 30, 8, 15, tzinfo=UTC)
    # Two full working days (16 hours) from Monday 09:00 ends on Tuesday at 17:00.
    assert hours.add(datetime(2026, 3, 30, 8, 0, tzinfo=UTC), 16 * 3600) == datetime(2026, 3, 31, 16, 0, tzinfo=UTC)


def test_bad_calendars_are_refused_with_a_reason():
    with pytest.raises(Invalid, match="time zone"):
        policy.parse_business_hours({**OFFICE, "timezone": "Mars/Olympus"})
    with pytest.raises(Invalid, match="weekday"):
        policy.parse_business_hours({**OFFICE, "days": ["funday"]})
    with pytest.raises(Invalid, match="start before the end"):
        policy.parse_business_hours({**OFFICE, "start": "18:00"})
    assert policy.parse_business_hours(None) is None


async def _ask(users, fake_clock, name="asker", tags="esim"):
    asker = await users(name, 50)
    q = await questions.ask(asker, "eSIM profile will not download", "The QR code scans but nothing happens.", tags)
    return asker, q


async def test_escalates_exactly_at_the_boundary_and_not_a_second_before(database, users, fake_clock):
    _, q = await _ask(users, fake_clock)
    fake_clock.advance(minutes=60, seconds=-1)
    assert (await sweeper.sweep()).created == []
    fake_clock.advance(seconds=1)
    result = await sweeper.sweep()
    assert len(result.created) == 1
    t = await Ticket.get(id=result.created[0])
    assert t.question_id == q.id and t.state == "open" and t.source == "sla"
    assert t.sla_breached_at == q.created_at + timedelta(minutes=60)
    # A second sweep finds nothing new.
    fake_clock.advance(minutes=5)
    assert (await sweeper.sweep()).created == []
    assert await Ticket.all().count() == 1


async def test_per_tag_override_escalates_billing_after_fifteen_minutes(database, users, fake_clock):
    _, billing = await _ask(users, fake_clock, "billy", "billing")
    _, other = await _ask(users, fake_clock, "ester", "esim")
    fake_clock.advance(minutes=15)
    result = await sweeper.sweep()
    assert [t.question_id for t in await Ticket.filter(id__in=result.created)] == [billing.id]


async def test_self_answer_does_not_stop_the_clock(database, users, fake_clock):
    asker, q = await _ask(users, fake_clock)
    fake_clock.advance(minutes=10)
    await questions.answer(asker, q.id, "Update: I restarted the phone and it still fails.")
    fake_clock.advance(minutes=50)
    assert len((await sweeper.sweep()).created) == 1


async def test_answered_one_second_before_the_sla_never_escalates(database, users, fake_clock):
    _, q = await _ask(users, fake_clock)
    helper = await users("helper", 50)
    fake_clock.advance(minutes=60, seconds=-1)
    await questions.answer(helper, q.id, "Turn on Wi-Fi calling and download the profile again.")
    fake_clock.advance(hours=5)
    assert (await sweeper.sweep()).created == []


async def test_business_hours_hold_the_clock_over_the_weekend(database, users, fake_clock):
    settings.override("sla.business_hours", OFFICE)
    fake_clock.set(datetime(2026, 10, 23, 15, 30, tzinfo=UTC))  # Friday 16:30 BST
    await _ask(users, fake_clock)
    fake_clock.set(datetime(2026, 10, 26, 9, 29, 59, tzinfo=UTC))  # Monday 09:29:59 GMT
    assert (await sweeper.sweep()).created == []
    fake_clock.set(datetime(2026, 10, 26, 9, 30, tzinfo=UTC))
    assert len((await sweeper.sweep()).created) == 1
