"""The SLA what-if: had the first-answer SLA been N minutes (optionally counted in business hours
only), how many of the questions asked in a range would have gone to the support desk, on which
days, at which hour of the day, and how many agent hours that means.

A question would have been escalated when its first answer by someone other than the asker came
once the SLA had fully elapsed (at the deadline or later, as the support sweeper counts it), or never
came (once the SLA had run out by now). Business hours are a daily window in UTC, optionally Monday
to Friday only; the SLA clock runs only inside it.

Business time is one closed form, so it stays a SQL aggregate: with the window [S, S + D) of each
day, B(t) = (business days before t's day) * D + (the part of the window already past on t's day);
the business time between two moments is B(later) - B(earlier).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timezone
from typing import Any

from community import clock, db, settings
from community.errors import Invalid
from community.insights import rollup
from community.insights.periods import Period, day_number

settings.declare("insights.handling_minutes", 12,
                 "Minutes an agent spends on one escalated question (for the SLA what-if)", "insights")
settings.rule("insights.handling_minutes", settings.between(1, 1440, "minutes"))

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MAX_SLA_MINUTES = 60 * 24 * 30
_HOURS = re.compile(r"^\s*(?:(mon-fri|weekdays|daily|every day)\s+)?(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$", re.I)


@dataclass(frozen=True)
class BusinessHours:
    """A daily window in UTC, in milliseconds after midnight; `weekdays` keeps Saturday and Sunday out."""

    start_ms: int
    end_ms: int
    weekdays: bool = False

    @property
    def length_ms(self) -> int:
        return self.end_ms - self.start_ms

    def label(self) -> str:
        def hm(ms: int) -> str:
            return f"{ms // HOUR_MS:02d}:{ms % HOUR_MS // 60000:02d}"

        return f"{'mon-fri ' if self.weekdays else ''}{hm(self.start_ms)}-{hm(self.end_ms)}"


def parse_business_hours(value: Any) -> BusinessHours | None:
    """'09:00-17:00' (every day) or 'mon-fri 09:00-17:00', UTC; empty for round the clock."""
    if value in (None, ""):
        return None
    m = _HOURS.match(value) if isinstance(value, str) else None
    if m is None:
        raise Invalid("business_hours", "Write business hours like 09:00-17:00 or mon-fri 09:00-17:00 (UTC).")
    days, h1, m1, h2, m2 = m.groups()
    start, end = int(h1) * 60 + int(m1), int(h2) * 60 + int(m2)
    if int(m1) > 59 or int(m2) > 59 or not 0 <= start < end <= 24 * 60:
        raise Invalid("business_hours", "Business hours must start before they end, within one day (00:00-24:00).")
    return BusinessHours(start * 60000, end * 60000, bool(days and days.lower() in ("mon-fri", "weekdays")))


def parse_sla_minutes(value: Any) -> int:
    if value in (None, ""):
        return int(settings.get("sla.first_answer_minutes"))
    try:
        minutes = int(str(value).strip())
    except ValueError:
        raise Invalid("sla_minutes", "Give the SLA as a whole number of minutes, such as 60.") from None
    if not 1 <= minutes <= MAX_SLA_MINUTES:
        raise Invalid("sla_minutes", f"Choose an SLA between 1 and {MAX_SLA_MINUTES} minutes (30 days).")
    return minutes


def _business_ms(ms: str, hours: BusinessHours) -> str:
    """SQL for B(t) given SQL for t in epoch milliseconds (integer arithmetic, the same on both databases)."""
    s, d = hours.start_ms, hours.length_ms
    day, tod = f"(({ms}) / {DAY_MS})", f"(({ms}) % {DAY_MS})"
    inside = f"(CASE WHEN {tod} <= {s} THEN 0 WHEN {tod} >= {s + d} THEN {d} ELSE {tod} - {s} END)"
    if not hours.weekdays:
        return f"({day} * {d} + {inside})"
    shifted = f"({day} + 3)"  # day 0 (1970-01-01) was a Thursday; shifted day 0 is a Monday
    before = f"(({shifted} / 7) * 5 + (CASE WHEN {shifted} % 7 > 5 THEN 5 ELSE {shifted} % 7 END))"
    return f"({before} * {d} + (CASE WHEN {shifted} % 7 < 5 THEN {inside} ELSE 0 END))"


def _business_now(ms: int, hours: BusinessHours) -> int:
    """B(t) for a moment known here (the Python twin of `_business_ms`)."""
    s, d = hours.start_ms, hours.length_ms
    day, tod = ms // DAY_MS, ms % DAY_MS
    inside = 0 if tod <= s else d if tod >= s + d else tod - s
    if not hours.weekdays:
        return day * d + inside
    shifted = day + 3
    before = shifted // 7 * 5 + min(shifted % 7, 5)
    return before * d + (inside if shifted % 7 < 5 else 0)


async def _asked_per_day(period: Period) -> dict[int, int]:
    return {int(r["day"]): int(r["asked"]) for r in await db.fetch(
        f"SELECT d.day AS day, d.asked AS asked FROM {rollup.DAYS} d WHERE d.day >= ? AND d.day <= ?",
        rollup.range_params(period))}


async def _round_the_clock_counts(period: Period, sla_ms: int, now_ms: int) -> dict[int, tuple[int, int]]:
    """Per day: (asked, would escalate). Asked from the day counts; late first answers from the
    wait histograms, bucket by bucket past the one the SLA falls inside; that one bucket, and the
    unanswered questions of the days not yet wholly an SLA old, from the facts (a few rows)."""
    edge = rollup.bucket(sla_ms)
    _, edge_high = rollup.bucket_range(edge)
    settled_before = (now_ms - sla_ms + 1) // DAY_MS  # days wholly asked at least an SLA ago
    days = rollup.range_params(period)
    counts = {day: [asked, 0] for day, asked in (await _asked_per_day(period)).items()}
    by_bucket, by_wait = rollup.indexed("insights_wait_by_bucket"), rollup.indexed("insights_question_by_first_wait")
    late = await db.fetch(
        "SELECT x.day AS day, SUM(x.n) AS n FROM ("
        f"SELECT w.period AS day, w.n AS n FROM {rollup.WAITS} w{by_bucket} WHERE w.measure = 'first' AND w.span = 'day' "
        "AND w.bucket > ? AND w.period >= ? AND w.period <= ? UNION ALL "
        f"SELECT w.period AS day, w.n AS n FROM {rollup.WAITS} w{by_bucket} WHERE w.measure = 'first' AND w.span = 'day' "
        "AND w.bucket = -1 AND w.period >= ? AND w.period <= ? AND w.period < ? UNION ALL "
        f"SELECT f.day AS day, 1 AS n FROM {rollup.FACTS} f{by_wait} WHERE f.visible = ? AND f.first_wait_ms >= ? "
        "AND f.first_wait_ms < ? AND f.day >= ? AND f.day <= ? UNION ALL "
        f"SELECT f.day AS day, 1 AS n FROM {rollup.FACTS} f{by_wait} WHERE f.visible = ? AND f.first_wait_ms IS NULL "
        "AND f.day >= ? AND f.day <= ? AND f.day >= ? AND f.asked_ms <= ?) AS x GROUP BY x.day",
        [edge, *days, *days, settled_before, True, sla_ms, edge_high, *days, True, *days, settled_before, now_ms - sla_ms])
    for r in late:
        counts.setdefault(int(r["day"]), [0, 0])[1] += int(r["n"])
    return {day: (asked, n) for day, (asked, n) in counts.items()}


@dataclass
class WhatIf:
    period: Period
    sla_minutes: int
    business_hours: BusinessHours | None
    handling_minutes: int
    questions: int
    would_escalate: int
    per_day: list[dict]
    busiest_hour: dict | None
    agent_hours: float

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.period.first.isoformat(), "to": self.period.last.isoformat(),
            "sla_minutes": self.sla_minutes,
            "business_hours": self.business_hours.label() if self.business_hours else None,
            "handling_minutes": self.handling_minutes,
            "questions": self.questions, "would_escalate": self.would_escalate,
            "escalation_rate": round(100 * self.would_escalate / self.questions, 1) if self.questions else None,
            "per_day": self.per_day, "busiest_hour": self.busiest_hour, "agent_hours": self.agent_hours,
        }


async def sla_whatif(period: Period, sla_minutes: int, business_hours: BusinessHours | None = None,
                     handling_minutes: int | None = None) -> WhatIf:
    handling = int(settings.get("insights.handling_minutes") if handling_minutes is None else handling_minutes)
    sla_ms = sla_minutes * 60000
    now_ms = int(clock.now().astimezone(timezone.utc).timestamp() * 1000)
    hours: dict[int, int]  # deadline hour of the day (UTC) -> questions that would escalate
    if business_hours is None:
        counts = await _round_the_clock_counts(period, sla_ms, now_ms)
        # The hour of the day (UTC) the deadline falls in, over the questions that would escalate:
        # those answered at or after the SLA (the facts' wait index), and those never answered.
        deadline_hour = f"((f.asked_ms + {sla_ms}) % {DAY_MS}) / {HOUR_MS}"
        by_wait = rollup.indexed("insights_question_by_first_wait")
        escalating = (f"SELECT {deadline_hour} AS hour FROM {rollup.FACTS} f{by_wait} WHERE f.visible = ? AND f.first_wait_ms >= ? "
                      "AND f.day >= ? AND f.day <= ? UNION ALL "
                      f"SELECT {deadline_hour} AS hour FROM {rollup.FACTS} f{by_wait} WHERE f.visible = ? AND f.first_wait_ms IS NULL "
                      "AND f.asked_ms <= ? AND f.day >= ? AND f.day <= ?")
        hours = {int(r["hour"]): int(r["n"]) for r in await db.fetch(
            f"SELECT h.hour AS hour, COUNT(*) AS n FROM ({escalating}) AS h GROUP BY h.hour",
            [True, sla_ms, *rollup.range_params(period), True, now_ms - sla_ms, *rollup.range_params(period)])}
    else:
        # Business time never runs faster than the clock, so only questions whose first answer
        # came an SLA or more after asking (or never came) can have used up the SLA: the wait
        # index finds them, and B(asked), B(first answer) are worked out for those alone, once
        # each, in a subquery the planner keeps as it is (the fence stops it from pasting the
        # expressions into each use below). B(now) is a number worked out here.
        fence = " OFFSET 0" if db.dialect() == "postgres" else " LIMIT -1"
        by_wait = rollup.indexed("insights_question_by_first_wait")
        b_c = _business_ms("f.asked_ms", business_hours)
        times = (f"SELECT f.day AS day, {b_c} AS bc, {_business_ms('f.asked_ms + f.first_wait_ms', business_hours)} AS bfa "
                 f"FROM {rollup.FACTS} f{by_wait} WHERE f.visible = ? AND f.first_wait_ms >= ? AND f.day >= ? AND f.day <= ? "
                 f"UNION ALL SELECT f.day AS day, {b_c} AS bc, NULL AS bfa "
                 f"FROM {rollup.FACTS} f{by_wait} WHERE f.visible = ? AND f.first_wait_ms IS NULL AND f.asked_ms <= ? "
                 f"AND f.day >= ? AND f.day <= ?{fence}")
        b_now = _business_now(now_ms, business_hours)
        # The deadline is the first moment business time reaches B(asked) + SLA: some point inside a
        # window (a deadline landing exactly on a window's edge counts at the close of the window before).
        d = business_hours.length_ms
        into_window = f"((x.bc + {sla_ms} - 1) % {d} + 1)"
        deadline_hour = (f"(({business_hours.start_ms} + {into_window} - (CASE WHEN {into_window} = {d} THEN 1 ELSE 0 END))"
                         f" / {HOUR_MS})")
        escalates = f"((x.bfa IS NULL AND {b_now} - x.bc >= {sla_ms}) OR (x.bfa - x.bc >= {sla_ms}))"
        rows = await db.fetch(
            f"SELECT x.day AS day, {deadline_hour} AS hour, COUNT(*) AS n FROM ({times}) AS x WHERE {escalates} "
            "GROUP BY x.day, hour",
            [True, sla_ms, *rollup.range_params(period), True, now_ms - sla_ms, *rollup.range_params(period)])
        tallies = {day: [asked, 0] for day, asked in (await _asked_per_day(period)).items()}
        hours = {}
        for r in rows:
            day, hour, n = int(r["day"]), int(r["hour"]), int(r["n"])
            tallies.setdefault(day, [0, 0])[1] += n
            hours[hour] = hours.get(hour, 0) + n
        counts = {day: (asked, n) for day, (asked, n) in tallies.items()}
    per_day = []
    total = escalated = 0
    for day in period.days():
        asked, esc = counts.get(day_number(day), (0, 0))
        per_day.append({"day": day.isoformat(), "questions": asked, "would_escalate": esc})
        total += asked
        escalated += esc
    busiest = None
    if escalated:
        hour = min(hours, key=lambda h: (-hours[h], h))
        n = hours[hour]
        busiest = {"hour": hour, "label": f"{hour:02d}:00-{(hour + 1) % 24:02d}:00 UTC", "would_escalate": n,
                   "per_day": round(n / period.day_count, 2)}
    return WhatIf(period, sla_minutes, business_hours, handling, total, escalated, per_day, busiest,
                  round(escalated * handling / 60, 1))
