"""The SLA policy: how long a question may wait for a first answer, and when its clock runs.

A question's first-answer SLA is the smallest per-tag override among its tags (`sla.tag_minutes`),
else `sla.first_answer_minutes` (or the deployment's SLA_FIRST_ANSWER). With a business-hours
calendar (`sla.business_hours`) the clock runs only inside those hours, in their time zone, so a
question asked on Friday evening falls due on Monday morning. The deadline is the first instant at
which the SLA has fully elapsed: an answer strictly before it keeps the question with the community,
an answer at or after it comes too late.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from community import settings
from community.config import parse_seconds
from community.errors import Invalid

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# SLA_FIRST_ANSWER from the deployment, in seconds; wins over the stored setting when set.
_first_answer_override: float | None = None


def parse_sla(raw: str) -> float:
    """SLA_FIRST_ANSWER -> seconds. With a unit ('30s', '15m', '2h') as written; a bare number
    means minutes, like the setting it stands in for (so SLA_FIRST_ANSWER=60 is an hour)."""
    text = raw.strip().lower()
    if not text:
        raise ValueError("empty SLA")
    seconds = parse_seconds(text) if text[-1] in "smhd" else float(text) * 60
    if seconds < 0:
        raise ValueError("negative SLA")
    return seconds


def configure(sla_first_answer: str = "") -> None:
    """Apply the deployment's SLA_FIRST_ANSWER (empty: use the community setting)."""
    global _first_answer_override
    _first_answer_override = parse_sla(sla_first_answer) if sla_first_answer.strip() else None


def first_answer_override() -> float | None:
    """The deployment's SLA_FIRST_ANSWER in seconds, when it is set (it wins over the setting)."""
    return _first_answer_override


@dataclass(frozen=True)
class BusinessHours:
    """Working days (0 = Monday) and hours, in a named time zone."""

    zone: ZoneInfo
    days: frozenset[int]
    start: time
    end: time

    def windows(self, first_day: date) -> Iterable[tuple[datetime, datetime]]:
        """Working windows in UTC, day by day from `first_day` (local), for at most ten years."""
        for offset in range(3660):
            day = first_day + timedelta(days=offset)
            if day.weekday() not in self.days:
                continue
            # zoneinfo gives each local day its own UTC offset, which is what makes DST right.
            opens = datetime.combine(day, self.start, self.zone).astimezone(timezone.utc)
            closes = datetime.combine(day, self.end, self.zone).astimezone(timezone.utc)
            yield opens, closes

    def add(self, start: datetime, seconds: float) -> datetime:
        """The instant at which `seconds` of working time have passed since `start`."""
        left = timedelta(seconds=seconds)
        first_day = start.astimezone(self.zone).date() - timedelta(days=1)
        for opens, closes in self.windows(first_day):
            if closes <= start:
                continue
            begin = max(start, opens)
            if left <= closes - begin:
                return begin + left
            left -= closes - begin
        raise Invalid("sla.business_hours", "The business-hours calendar has no working time.")

    def between(self, start: datetime, end: datetime) -> float:
        """Working seconds between two instants."""
        if end <= start:
            return 0.0
        total = 0.0
        for opens, closes in self.windows(start.astimezone(self.zone).date() - timedelta(days=1)):
            if opens >= end:
                break
            lo, hi = max(opens, start), min(closes, end)
            if hi > lo:
                total += (hi - lo).total_seconds()
        return total


def _clock_time(value: Any, name: str) -> time:
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except (ValueError, TypeError):
        raise Invalid("sla.business_hours", f"Write {name} as HH:MM, e.g. 09:00.") from None


def parse_business_hours(raw: Any) -> BusinessHours | None:
    """{"timezone": "Europe/London", "days": ["mon", ..., "fri"] or [0..4], "start": "09:00", "end": "17:00"}."""
    if not raw:
        return None
    if not isinstance(raw, dict):
        raise Invalid("sla.business_hours", "Business hours are an object with timezone, days, start and end.")
    try:
        zone = ZoneInfo(str(raw.get("timezone", "UTC")))
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid("sla.business_hours", f"Unknown time zone {raw.get('timezone')!r}; use a name like Europe/London.") from None
    days: set[int] = set()
    listed = raw.get("days", [0, 1, 2, 3, 4])
    if not isinstance(listed, list):
        raise Invalid("sla.business_hours", 'List the working days, e.g. "days": ["mon", "tue", "wed", "thu", "fri"].')
    for d in listed:
        if isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6:
            days.add(d)
        elif isinstance(d, str) and d.strip().lower()[:3] in DAY_NAMES:
            days.add(DAY_NAMES.index(d.strip().lower()[:3]))
        else:
            raise Invalid("sla.business_hours", f"{d!r} is not a weekday; use mon..sun or 0 (Monday)..6.")
    start, end = _clock_time(raw.get("start", "09:00"), "start"), _clock_time(raw.get("end", "17:00"), "end")
    if not days or start >= end:
        raise Invalid("sla.business_hours", "Business hours need at least one day and a start before the end.")
    return BusinessHours(zone, frozenset(days), start, end)


BUSINESS_HOURS_KEYS = ("timezone", "days", "start", "end")


def check_business_hours(value: Any) -> dict[str, Any] | None:
    """The `sla.business_hours` setting's rule: none, or what `parse_business_hours` reads, in a time
    zone that exists and with no other keys (a misspelt "timzone" would quietly mean UTC)."""
    from community import profile

    if value in (None, {}, ""):
        return None
    if not isinstance(value, dict):
        raise Invalid("sla.business_hours", 'Business hours are an object such as {"timezone": "Europe/London", '
                                            '"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}, or none.')
    unknown = [k for k in value if k not in BUSINESS_HOURS_KEYS]
    if unknown:
        raise Invalid("sla.business_hours", f"Business hours take only {', '.join(BUSINESS_HOURS_KEYS)}; "
                                            f"{str(unknown[0])[:40]!r} is not one of them.")
    zone = value.get("timezone", "UTC")
    if not isinstance(zone, str) or zone.strip() not in profile.time_zones():
        shown = zone.strip()[:60] if isinstance(zone, str) else zone
        raise Invalid("sla.business_hours", f"Unknown time zone {shown!r}; use a name like Europe/London.")
    for key in ("start", "end"):
        if key in value and not isinstance(value[key], str):
            raise Invalid("sla.business_hours", f'Write {key} as "HH:MM" in quotes, e.g. "09:00".')
    parse_business_hours(value)
    return {**value, "timezone": zone.strip()} if "timezone" in value else value


def check_tag_minutes(value: Any) -> dict[str, Any]:
    """The `sla.tag_minutes` setting's rule: tag names (as tags are written) to positive minutes."""
    from community.questions import TAG_RE

    if not isinstance(value, dict):
        raise Invalid("sla.tag_minutes", 'Per-tag SLAs are an object of tag name to minutes, e.g. {"billing": 15}.')
    tidy: dict[str, Any] = {}
    for tag, minutes in value.items():
        name = tag.strip().lower()
        if not TAG_RE.match(name):
            raise Invalid("sla.tag_minutes", f"{tag[:40]!r} is not a tag name: tags are 1 to 35 lower-case letters, "
                                             "digits and + # . -")
        if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not minutes > 0:
            raise Invalid("sla.tag_minutes", f"The SLA for {name!r} must be a number of minutes above 0.")
        if minutes > settings.MAX_SLA_MINUTES:
            raise Invalid("sla.tag_minutes", f"The SLA for {name!r} may be at most {settings.MAX_SLA_MINUTES:,} minutes (a year).")
        tidy[name] = minutes
    return tidy


settings.rule("sla.business_hours", check_business_hours)
settings.rule("sla.tag_minutes", check_tag_minutes)


@dataclass(frozen=True)
class Policy:
    """The SLA rules in force, read once per sweep so one sweep applies one set of rules."""

    first_answer_seconds: float
    tag_seconds: dict[str, float]
    hours: BusinessHours | None
    claim_seconds: float
    first_reply_seconds: float

    def first_answer_for(self, tags: Iterable[str]) -> float:
        overrides = [self.tag_seconds[t] for t in tags if t in self.tag_seconds]
        return min(overrides) if overrides else self.first_answer_seconds

    @property
    def shortest(self) -> float:
        """No question can fall due sooner than this after it was asked (business time never
        runs faster than wall time), which is what lets the sweep query use a plain cut-off."""
        return min([self.first_answer_seconds, *self.tag_seconds.values()])

    def after(self, start: datetime, seconds: float) -> datetime:
        return self.hours.add(start, seconds) if self.hours else start + timedelta(seconds=seconds)

    def elapsed(self, start: datetime, end: datetime) -> float:
        """SLA-clock seconds between two instants."""
        if self.hours:
            return self.hours.between(start, end)
        return max(0.0, (end - start).total_seconds())

    def first_answer_deadline(self, asked_at: datetime, tags: Iterable[str]) -> datetime:
        return self.after(asked_at, self.first_answer_for(tags))

    def is_due(self, asked_at: datetime, tags: Iterable[str], now: datetime) -> bool:
        return now >= self.first_answer_deadline(asked_at, tags)


def _minutes(value: Any, name: str) -> float:
    try:
        minutes = float(value)
    except (TypeError, ValueError):
        raise Invalid(name, f"{name} takes a number of minutes.") from None
    if minutes < 0:
        raise Invalid(name, f"{name} cannot be negative.")
    return minutes * 60


def current() -> Policy:
    tag_minutes = settings.get("sla.tag_minutes") or {}
    if not isinstance(tag_minutes, dict):
        raise Invalid("sla.tag_minutes", "Per-tag SLAs are an object of tag name to minutes, e.g. {\"billing\": 15}.")
    first = _first_answer_override
    if first is None:
        first = _minutes(settings.get("sla.first_answer_minutes"), "sla.first_answer_minutes")
    return Policy(
        first_answer_seconds=first,
        tag_seconds={str(t).lower(): _minutes(m, f"sla.tag_minutes[{t}]") for t, m in tag_minutes.items()},
        hours=parse_business_hours(settings.get("sla.business_hours")),
        claim_seconds=_minutes(settings.get("sla.claim_minutes"), "sla.claim_minutes"),
        first_reply_seconds=_minutes(settings.get("sla.first_reply_minutes"), "sla.first_reply_minutes"),
    )
