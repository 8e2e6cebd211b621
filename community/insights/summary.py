"""How crowd service is doing over a date range: the dashboard's figures, each one SQL aggregate.

Definitions (the same clock the SLA uses):
- a question's *first answer* is the first answer by someone other than the asker
  (`post.first_answer_at`);
- median and 90th percentile time to first answer are over the questions that got one; the
  median of an even count is the mean of the two middle values, the 90th percentile is the
  nearest rank (the value at rank ceil(0.9 n));
- the share answered within an hour is over *all* questions asked in the range; "within" means
  strictly before the hour is up, as the support desk's SLA counts an answer at the deadline late;
- time to solution runs from asking to the accepted answer being posted;
- escalations are tickets on the questions asked in the range; the rate is escalated / asked;
- deflections are "this solved my problem" clicks on the ask page's suggestions; the deflection
  rate is deflections / (deflections + questions asked).
Questions deleted or hidden by moderators are left out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from community import clock, db, settings
from community.insights.periods import Period, day_text, day_value, epoch_ms, median_and_p90, ranks_sql

settings.declare("insights.answered_within_hour_target", 95,
                 "Target share (%) of questions answered by the community within an hour", "insights")
settings.declare("insights.handling_minutes", 12,
                 "Minutes an agent spends on one escalated question (for the SLA what-if)", "insights")

HOUR_MS = 3_600_000
TOP = 10


def asked_in(period_alias: str = "q") -> str:
    """The WHERE clause for questions asked in the period (two parameters: start, end)."""
    a = period_alias
    return (f"{a}.kind = 'question' AND {a}.created_at >= ? AND {a}.created_at < ? "
            f"AND {a}.deleted_at IS NULL AND {a}.hidden = ?")


def asked_params(period: Period) -> list[Any]:
    return [period.start, period.end, False]


def _minutes(ms: float | None) -> float | None:
    return None if ms is None else round(ms / 60000, 1)


def _pct(part: int, whole: int) -> float | None:
    return None if not whole else round(100 * part / whole, 1)


@dataclass
class Summary:
    period: Period
    questions: int = 0
    answered: int = 0  # got a first answer (by someone other than the asker)
    answered_within_hour: int = 0
    answered_within_hour_pct: float | None = None
    answered_within_hour_target: int = 95
    median_first_answer_minutes: float | None = None
    p90_first_answer_minutes: float | None = None
    solved: int = 0
    solved_pct: float | None = None
    median_solution_minutes: float | None = None
    escalations_available: bool = False
    escalations: int = 0
    escalation_rate: float | None = None
    escalated_solved_by_staff: int = 0
    escalated_solved_by_community: int = 0
    median_claim_minutes: float | None = None
    median_first_reply_minutes: float | None = None
    sla_breaches: int = 0
    self_service_available: bool = False
    searches: int = 0
    searches_opened_solved: int = 0
    suggestions_shown: int = 0
    deflections: int = 0
    deflection_rate: float | None = None
    per_day: list[dict] = field(default_factory=list)
    top_by_reputation: list[dict] = field(default_factory=list)
    top_by_accepted: list[dict] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("period")
        return {"from": self.period.first.isoformat(), "to": self.period.last.isoformat(), **data}


async def summary(period: Period) -> Summary:
    s = Summary(period, answered_within_hour_target=int(settings.get("insights.answered_within_hour_target")))
    await _questions(s)
    await _first_answer_times(s)
    await _solution_times(s)
    await _escalations(s)
    await _self_service(s)
    await _contributors(s)
    return s


async def _questions(s: Summary) -> None:
    """Per day: asked, answered, answered within the hour, solved; the totals add the days up."""
    wait = f"({epoch_ms('q.first_answer_at')} - {epoch_ms('q.created_at')})"
    rows = await db.fetch(
        f"SELECT {day_text('q.created_at')} AS day, COUNT(*) AS asked, "
        "COUNT(q.first_answer_at) AS answered, "
        f"SUM(CASE WHEN q.first_answer_at IS NOT NULL AND {wait} < ? THEN 1 ELSE 0 END) AS within_hour, "
        "COUNT(q.accepted_answer_id) AS solved "
        f"FROM post q WHERE {asked_in()} GROUP BY {day_text('q.created_at')}",
        [HOUR_MS, *asked_params(s.period)])
    found = {day_value(r["day"]): r for r in rows}
    for day in s.period.days():
        r = found.get(day.isoformat())
        asked, answered, within, solved = (int(r["asked"]), int(r["answered"]), int(r["within_hour"] or 0),
                                           int(r["solved"])) if r else (0, 0, 0, 0)
        s.per_day.append({"day": day.isoformat(), "questions": asked, "answered": answered,
                          "answered_within_hour": within, "solved": solved,
                          "answered_within_hour_pct": _pct(within, asked)})
        s.questions += asked
        s.answered += answered
        s.answered_within_hour += within
        s.solved += solved
    s.answered_within_hour_pct = _pct(s.answered_within_hour, s.questions)
    s.solved_pct = _pct(s.solved, s.questions)


async def _first_answer_times(s: Summary) -> None:
    values = (f"SELECT {epoch_ms('q.first_answer_at')} - {epoch_ms('q.created_at')} AS w FROM post q "
              f"WHERE {asked_in()} AND q.first_answer_at IS NOT NULL")
    median, p90, _ = median_and_p90(await db.fetch(ranks_sql(values), asked_params(s.period)))
    s.median_first_answer_minutes, s.p90_first_answer_minutes = _minutes(median), _minutes(p90)


async def _solution_times(s: Summary) -> None:
    values = (f"SELECT {epoch_ms('a.created_at')} - {epoch_ms('q.created_at')} AS w FROM post q "
              f"JOIN post a ON a.id = q.accepted_answer_id WHERE {asked_in()}")
    median, _, _ = median_and_p90(await db.fetch(ranks_sql(values), asked_params(s.period)))
    s.median_solution_minutes = _minutes(median)


def _ticket_table() -> str | None:
    """The support room's ticket table, if that room is installed (it is optional here)."""
    try:
        from community.support.models import Ticket
    except ImportError:
        return None
    return Ticket._meta.db_table


async def _escalations(s: Summary) -> None:
    table = _ticket_table()
    if table is None:
        return
    s.escalations_available = True
    now = clock.now()
    params = asked_params(s.period)
    rows = await db.fetch(
        "SELECT COUNT(*) AS n, "
        "SUM(CASE WHEN acc.id IS NOT NULL AND acc.official = ? THEN 1 ELSE 0 END) AS by_staff, "
        "SUM(CASE WHEN acc.id IS NOT NULL AND acc.official = ? THEN 1 ELSE 0 END) AS by_community, "
        "SUM(CASE WHEN (t.claimed_at IS NOT NULL AND t.claimed_at > t.claim_due_at) "
        "  OR (t.claimed_at IS NULL AND t.state <> 'resolved' AND t.claim_due_at < ?) "
        "  OR (t.first_reply_at IS NOT NULL AND t.first_reply_at > t.reply_due_at) "
        "  OR (t.first_reply_at IS NULL AND t.state <> 'resolved' AND t.reply_due_at < ?) THEN 1 ELSE 0 END) AS breaches "
        f"FROM {table} t JOIN post q ON q.id = t.question_id LEFT JOIN post acc ON acc.id = q.accepted_answer_id "
        f"WHERE {asked_in()}",
        [True, False, now, now, *params])
    r = rows[0]
    s.escalations = int(r["n"])
    s.escalated_solved_by_staff = int(r["by_staff"] or 0)
    s.escalated_solved_by_community = int(r["by_community"] or 0)
    s.sla_breaches = int(r["breaches"] or 0)
    s.escalation_rate = _pct(s.escalations, s.questions)
    for column, attr in (("claimed_at", "median_claim_minutes"), ("first_reply_at", "median_first_reply_minutes")):
        values = (f"SELECT {epoch_ms('t.' + column)} - {epoch_ms('t.escalated_at')} AS w FROM {table} t "
                  f"JOIN post q ON q.id = t.question_id WHERE {asked_in()} AND t.{column} IS NOT NULL")
        median, _, _ = median_and_p90(await db.fetch(ranks_sql(values), params))
        setattr(s, attr, _minutes(median))


async def _self_service(s: Summary) -> None:
    try:
        from search import deflection
    except ImportError:
        return
    counts = await deflection.counts(s.period.start, s.period.end)
    s.self_service_available = True
    s.searches = int(counts.get("search", 0))
    s.searches_opened_solved = int(counts.get("searches_opened_solved", 0))
    s.suggestions_shown = int(counts.get("suggestions_shown", 0))
    s.deflections = int(counts.get("solved_my_problem", 0))
    s.deflection_rate = _pct(s.deflections, s.deflections + s.questions)


async def _contributors(s: Summary) -> None:
    # The ledger's UTC `day` (not created_at) so the (user_id, day) index serves the range.
    rows = await db.fetch(
        "SELECT e.user_id, SUM(e.amount) AS gained FROM reputation_event e WHERE e.day >= ? AND e.day <= ? "
        "GROUP BY e.user_id HAVING SUM(e.amount) > 0 ORDER BY gained DESC, e.user_id LIMIT ?",
        [s.period.first, s.period.last, TOP])
    names = await _usernames([int(r["user_id"]) for r in rows])
    s.top_by_reputation = sorted(
        ({"user_id": int(r["user_id"]), "username": names.get(int(r["user_id"]), ""), "reputation": int(r["gained"])}
         for r in rows), key=lambda c: (-c["reputation"], c["username"]))
    # Accepted answers posted in the range: the answers' (kind, created_at) index, then their questions.
    rows = await db.fetch(
        "SELECT a.author_id, COUNT(*) AS accepted FROM post a JOIN post q ON q.id = a.question_id "
        "AND q.accepted_answer_id = a.id WHERE a.kind = 'answer' AND a.created_at >= ? AND a.created_at < ? "
        "AND a.author_id IS NOT NULL AND q.deleted_at IS NULL AND q.hidden = ? "
        "GROUP BY a.author_id ORDER BY accepted DESC, a.author_id LIMIT ?",
        [s.period.start, s.period.end, False, TOP])
    names = await _usernames([int(r["author_id"]) for r in rows])
    s.top_by_accepted = sorted(
        ({"user_id": int(r["author_id"]), "username": names.get(int(r["author_id"]), ""), "accepted": int(r["accepted"])}
         for r in rows), key=lambda c: (-c["accepted"], c["username"]))


async def _usernames(ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await db.fetch(f'SELECT id, username FROM "user" WHERE id IN ({", ".join("?" * len(ids))})', ids)
    return {int(r["id"]): r["username"] for r in rows}
