"""Reading the insights roll-ups (see `models.py`): a date range split into whole years, whole
months and loose days; exact percentiles from the wait histograms; top contributors.

A percentile is exact, not a bucket's midpoint: the histogram of the range (a few thousand rows:
months where whole months fit, days at the ends) says which bucket holds the wanted rank and how
many waits come before it, then one indexed read of that bucket's waits picks the value. The
bucket formula mirrors the insights migration's (a test compares them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from community import db
from community.insights.models import Contribution, DayCount, QuestionFact, TicketFact, WaitCount
from community.insights.periods import Period, day_number

FACTS = QuestionFact._meta.db_table
DAYS = DayCount._meta.db_table
WAITS = WaitCount._meta.db_table
TICKETS = TicketFact._meta.db_table
CONTRIBUTIONS = Contribution._meta.db_table
COLUMN = {"first": "first_wait_ms", "solution": "solution_wait_ms"}
INDEX = {"first": "insights_question_by_first_wait", "solution": "insights_question_by_solution_wait"}

MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000
# (first bucket, lowest wait in it, width): minutes up to an hour, ten minutes up to a day, hours
# up to 30 days, days beyond.
_TIERS = ((894, 30 * DAY, DAY), (198, DAY, HOUR), (60, HOUR, 10 * MINUTE), (0, 0, MINUTE))


def bucket(wait_ms: int | None) -> int:
    if wait_ms is None:
        return -1
    for first, low, width in _TIERS:
        if wait_ms >= low:
            return first + (wait_ms - low) // width
    return 0  # negative waits (an answer stamped before its question) count as the first minute


def bucket_range(b: int) -> tuple[int | None, int]:
    """The waits in bucket `b`: [low, high), with no lower bound for bucket 0."""
    for first, low, width in _TIERS:
        if b >= first:
            start = low + (b - first) * width
            return (None if b == 0 else start), start + width
    raise ValueError(b)


def indexed(name: str) -> str:
    """Tell SQLite which index to walk (PostgreSQL's planner has statistics and needs no hint)."""
    return "" if db.dialect() == "postgres" else f" INDEXED BY {name}"


def range_params(period: Period) -> list[Any]:
    return [day_number(period.first), day_number(period.last)]


def asked_in(alias: str = "f") -> str:
    """The WHERE clause for question (or ticket) facts of questions asked in the period and still
    visible; its parameters are `asked_params`."""
    return f"{alias}.visible = ? AND {alias}.day >= ? AND {alias}.day <= ?"


def asked_params(period: Period) -> list[Any]:
    return [True, *range_params(period)]


# ----- a range as whole years, whole months and loose days ----------------------------------------


def month_number(day: date) -> int:
    return (day.year - 1970) * 12 + day.month - 1


def month_start(month: int) -> date:
    return date(1970 + month // 12, month % 12 + 1, 1)


@dataclass
class Pieces:
    days: list[tuple[date, date]] = field(default_factory=list)
    months: list[tuple[int, int]] = field(default_factory=list)  # month numbers, both included
    years: list[tuple[int, int]] = field(default_factory=list)  # years, both included


def split(period: Period, years: bool = False) -> Pieces:
    first, last = period.first, period.last
    m0 = month_number(first) + (0 if first.day == 1 else 1)
    m1 = month_number(last) - (0 if (last + timedelta(days=1)).day == 1 else 1)
    if m0 > m1:
        return Pieces(days=[(first, last)])
    out = Pieces()
    if first < month_start(m0):
        out.days.append((first, month_start(m0) - timedelta(days=1)))
    if month_start(m1 + 1) <= last:
        out.days.append((month_start(m1 + 1), last))
    y0, y1 = -(-m0 // 12), (m1 + 1) // 12 - 1  # whole years, as years since 1970
    if years and y0 <= y1:
        if m0 < y0 * 12:
            out.months.append((m0, y0 * 12 - 1))
        if (y1 + 1) * 12 <= m1:
            out.months.append(((y1 + 1) * 12, m1))
        out.years.append((1970 + y0, 1970 + y1))
    else:
        out.months.append((m0, m1))
    return out


# ----- percentiles --------------------------------------------------------------------------------


async def histogram(measure: str, period: Period) -> list[tuple[int, int]]:
    """(bucket, count) of the answered questions asked in the period, in bucket order."""
    pieces = split(period)
    parts, values = [], []
    for span, ranges in (("day", [(day_number(a), day_number(b)) for a, b in pieces.days]), ("month", pieces.months)):
        for low, high in ranges:
            parts.append(f"SELECT w.bucket AS bucket, w.n AS n FROM {WAITS} w WHERE w.measure = ? AND w.span = ? "
                         "AND w.period >= ? AND w.period <= ? AND w.bucket >= 0")
            values += [measure, span, low, high]
    rows = await db.fetch(f"SELECT x.bucket AS bucket, SUM(x.n) AS n FROM ({' UNION ALL '.join(parts)}) AS x "
                          "GROUP BY x.bucket ORDER BY x.bucket", values)
    return [(int(r["bucket"]), int(r["n"])) for r in rows if int(r["n"])]


async def ranked(measure: str, period: Period, ranks: list[int], hist: list[tuple[int, int]]) -> dict[int, int]:
    """The waits at the given 1-based ranks (in increasing order of wait), exactly."""
    column = COLUMN[measure]
    wanted: dict[int, list[tuple[int, int]]] = {}  # bucket -> [(rank, offset inside the bucket)]
    for rank in sorted(set(ranks)):
        before = 0
        for b, n in hist:
            if rank <= before + n:
                wanted.setdefault(b, []).append((rank, rank - before - 1))
                break
            before += n
    values: dict[int, int] = {}
    for b, picks in wanted.items():
        low, high = bucket_range(b)
        first, last = picks[0][1], picks[-1][1]
        lower = "" if low is None else f" AND f.{column} >= {int(low)}"
        rows = await db.fetch(
            f"SELECT f.{column} AS w FROM {FACTS} f{indexed(INDEX[measure])} WHERE f.visible = ? AND f.{column} < ?{lower} "
            f"AND f.day >= ? AND f.day <= ? ORDER BY f.{column} LIMIT {last - first + 1} OFFSET {first}",
            [True, high, *range_params(period)])
        for rank, offset in picks:
            values[rank] = int(rows[offset - first]["w"])
    return values


async def median_and_p90(measure: str, period: Period) -> tuple[float | None, float | None, int]:
    """Median (the mean of the two middle waits for an even count) and 90th percentile (nearest
    rank) of the answered questions asked in the period, in milliseconds; and their count."""
    hist = await histogram(measure, period)
    n = sum(count for _, count in hist)
    if not n:
        return None, None, 0
    lo, hi, p90 = (n + 1) // 2, (n + 2) // 2, (9 * n + 9) // 10
    values = await ranked(measure, period, [lo, hi, p90], hist)
    return (values[lo] + values[hi]) / 2, float(values[p90]), n


# ----- top contributors ---------------------------------------------------------------------------


async def top_contributors(kind: str, period: Period, limit: int) -> list[dict]:
    """The members with the most reputation gained ('reputation') or answers accepted
    ('accepted', by when the answer was posted) in the period: whole years and months from the
    roll-up, the loose days at the ends from the ledger or the facts."""
    pieces = split(period, years=True)
    parts, values = [], []
    for span, ranges in (("month", pieces.months), ("year", pieces.years)):
        for low, high in ranges:
            parts.append(f"SELECT c.user_id AS user_id, c.amount AS g FROM {CONTRIBUTIONS} c WHERE c.kind = ? AND c.span = ? "
                         "AND c.period >= ? AND c.period <= ?")
            values += [kind, span, low, high]
    for low, high in pieces.days:
        if kind == "reputation":
            parts.append("SELECT e.user_id AS user_id, e.amount AS g FROM reputation_event e WHERE e.day >= ? AND e.day <= ?")
            values += [low, high]
        else:
            parts.append(f"SELECT f.solver_id AS user_id, 1 AS g FROM {FACTS} f{indexed('insights_question_by_solved_at')} "
                         "WHERE f.visible = ? AND f.solved_at_ms >= ? AND f.solved_at_ms < ? AND f.solver_id IS NOT NULL")
            values += [True, day_number(low) * DAY, (day_number(high) + 1) * DAY]
    rows = await db.fetch(
        f"SELECT x.user_id AS user_id, SUM(x.g) AS amount FROM ({' UNION ALL '.join(parts)}) AS x "
        "GROUP BY x.user_id HAVING SUM(x.g) > 0 ORDER BY amount DESC, x.user_id LIMIT ?", [*values, limit])
    return [{"user_id": int(r["user_id"]), "amount": int(r["amount"])} for r in rows]
