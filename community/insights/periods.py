"""The date range a manager looks at, and the few time expressions that differ between SQLite
and PostgreSQL, so every insights figure is one SQL aggregate on either database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from community import clock, db
from community.errors import Invalid

DEFAULT_DAYS = 28
MAX_DAYS = 3660  # ten years: a whole community's history fits, a typo like 0202 does not


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
        return date.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(name, f"'{value[:20]}' is not a date: use the form 2026-01-31.") from None


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


# ----- SQL time expressions ---------------------------------------------------------------------


def epoch_ms(column: str) -> str:
    """Milliseconds since 1970 as an integer: differences are exact to the millisecond, so a first
    answer exactly on the SLA boundary counts the same on both databases."""
    if db.dialect() == "postgres":
        return f"CAST(ROUND(EXTRACT(EPOCH FROM {column}) * 1000) AS BIGINT)"
    return f"CAST(ROUND((julianday({column}) - 2440587.5) * 86400000.0) AS INTEGER)"


def day_text(column: str) -> str:
    """The UTC day of a timestamp as 'YYYY-MM-DD'."""
    if db.dialect() == "postgres":
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    return f"substr({column}, 1, 10)"  # stored as UTC text, 'YYYY-MM-DD HH:MM:SS+00:00'


def day_value(value: Any) -> str:
    """A day column as fetched (text on SQLite, a date on PostgreSQL) as 'YYYY-MM-DD'."""
    return value.isoformat() if isinstance(value, date) else str(value)[:10]


def ranks_sql(values_sql: str) -> str:
    """Wrap a query yielding one column `w` so that it returns only the rows needed for the median
    (one or two middle rows) and the 90th percentile (nearest rank), with their rank and count.

    One sort in the database; Python sees at most three rows, never the population.
    """
    return (
        "SELECT w, rn, cnt FROM (SELECT w, ROW_NUMBER() OVER (ORDER BY w) AS rn, COUNT(*) OVER () AS cnt "
        f"FROM ({values_sql}) AS v) AS ranked "
        "WHERE rn = (cnt + 1) / 2 OR rn = (cnt + 2) / 2 OR rn = (9 * cnt + 9) / 10"
    )


def median_and_p90(rows: list[dict]) -> tuple[float | None, float | None, int]:
    """Read `ranks_sql` rows: (median, 90th percentile, count); None when there is nothing to rank."""
    if not rows:
        return None, None, 0
    n = int(rows[0]["cnt"])
    by_rank = {int(r["rn"]): float(r["w"]) for r in rows}
    median = (by_rank[(n + 1) // 2] + by_rank[(n + 2) // 2]) / 2
    return median, by_rank[(9 * n + 9) // 10], n
