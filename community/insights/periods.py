"""The date range a manager looks at: whole UTC days, read from the page's or the API's inputs,
and the day numbers the insights roll-ups are keyed by."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from community import clock
from community.errors import Invalid

DEFAULT_DAYS = 28
MAX_DAYS = 3660  # ten years: a whole community's history fits, a typo like 0202 does not
# Far from the calendar's ends (a range's first day minus four weeks, its last plus one, stay valid dates).
EARLIEST, LATEST = date(1970, 1, 1), date(2999, 12, 31)


@dataclass(frozen=True)
class Period:
    """Whole UTC days from `first` to `last`, both included."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(0), tzinfo=timezone.utc)

    @property
    def end(self) -> datetime:
        """The first moment after the period."""
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=timezone.utc)

    @property
    def day_count(self) -> int:
        return (self.last - self.first).days + 1

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(self.day_count)]


def _date(value: Any, name: str) -> date | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise Invalid(name, f"Give '{name}' as a date like 2026-01-31.")
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(name, f"'{value[:20]}' is not a date: use the form 2026-01-31.") from None
    if not EARLIEST <= day <= LATEST:
        raise Invalid(name, f"Choose '{name}' between {EARLIEST.isoformat()} and {LATEST.isoformat()}.")
    return day


def parse_period(first: Any = None, last: Any = None) -> Period:
    """`from` and `to` as YYYY-MM-DD; either may be left out (the last four weeks up to today)."""
    start, end = _date(first, "from"), _date(last, "to")
    today = clock.now().astimezone(timezone.utc).date()
    if end is None:
        end = max(today, start) if start else today
    if start is None:
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise Invalid("from", "The start date is after the end date: swap them, or pick an earlier start.")
    if (end - start).days + 1 > MAX_DAYS:
        raise Invalid("from", f"Choose a range of at most {MAX_DAYS} days.")
    return Period(start, end)


EPOCH = date(1970, 1, 1)


def day_number(day: date) -> int:
    """A UTC day as days since 1970-01-01: how the insights facts store the day a question was asked."""
    return (day - EPOCH).days
