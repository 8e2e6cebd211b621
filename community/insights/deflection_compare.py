"""The deflection rate before and after a date inside the dashboard's period: did a change (for
example semantic suggestions on the ask page) make more customers find their answer before asking?

The period splits at the chosen date: *before* runs from the period's first day to the day before
the date, *after* from the date to the period's last day (whole UTC days; the two sides may differ
in length, so the table says how many days each covers). Each side counts, from the search room's
deflection events, the ask pages that showed suggestions, "This solved my problem" clicks and the
questions posted anyway after suggestions; and, from the insights roll-up, the questions asked.
The deflection rate is the summary's: deflections / (deflections + questions asked); the change is
after minus before, in percentage points.

Few queries, none per event: the search room's `deflection.counts` once per side (two aggregates
each over the side's time range) and one read of the per-day roll-up for both
sides' questions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from community import db
from community.errors import Invalid
from community.insights import rollup
from community.insights.periods import Period, day_number

FIELD = "compare"


def parse_compare(value: Any, period: Period) -> date | None:
    """The `compare` input: empty means no comparison; else a date after the period's first day and
    no later than its last (so both sides hold at least one day)."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise Invalid(FIELD, "Give 'compare' as a date like 2026-01-31.")
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(FIELD, f"'{value[:20]}' is not a date: use the form 2026-01-31.") from None
    if not period.first < day <= period.last:
        raise Invalid(FIELD, f"Choose a comparison date inside the period: after its first day "
                             f"({period.first.isoformat()}) and no later than its last ({period.last.isoformat()}), "
                             "so there are days on both sides of it.")
    return day


def _pct(part: int, whole: int) -> float | None:
    return None if not whole else round(100 * part / whole, 1)


@dataclass
class Side:
    first: date
    last: date
    days: int
    suggestions_shown: int = 0  # ask page views that showed suggestions
    deflections: int = 0  # "This solved my problem"
    asked_after_suggestions: int = 0
    questions: int = 0  # questions asked (all of them, as the summary counts)
    deflection_rate: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "first": self.first.isoformat(), "last": self.last.isoformat()}


@dataclass
class Comparison:
    date: date
    before: Side
    after: Side
    change_points: float | None  # after's rate minus before's, in percentage points

    def as_json(self) -> dict[str, Any]:
        return {"date": self.date.isoformat(), "before": self.before.as_json(), "after": self.after.as_json(),
                "change_points": self.change_points}


async def compare_deflection(period: Period, day: date) -> Comparison | None:
    """The two sides of `period` split at `day` (see `parse_compare`); None when search, which
    records the events, is not installed."""
    try:
        from search import deflection
    except ImportError:
        return None
    before = Side(period.first, day - timedelta(days=1), (day - period.first).days)
    after = Side(day, period.last, (period.last - day).days + 1)
    for side in (before, after):
        span = Period(side.first, side.last)
        counts = await deflection.counts(span.start, span.end)
        side.suggestions_shown = int(counts.get("suggestions_shown", 0))
        side.deflections = int(counts.get("solved_my_problem", 0))
        side.asked_after_suggestions = int(counts.get("asked_after_suggestions", 0))
    rows = await db.fetch(
        f"SELECT SUM(CASE WHEN d.day < ? THEN d.asked ELSE 0 END) AS before_n, "
        f"SUM(CASE WHEN d.day >= ? THEN d.asked ELSE 0 END) AS after_n "
        f"FROM {rollup.DAYS} d WHERE d.day >= ? AND d.day <= ?",
        [day_number(day), day_number(day), *rollup.range_params(period)])
    before.questions, after.questions = int(rows[0]["before_n"] or 0), int(rows[0]["after_n"] or 0)
    for side in (before, after):
        side.deflection_rate = _pct(side.deflections, side.deflections + side.questions)
    change = None
    if before.deflection_rate is not None and after.deflection_rate is not None:
        change = round(after.deflection_rate - before.deflection_rate, 1)
    return Comparison(day, before, after, change)
