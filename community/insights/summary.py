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
  rate is deflections / (deflections + questions asked);
- nudged questions are those whose members were nudged before escalation (`support_nudge` with
  recipients); each side counts those answered by the community (a visible, not official answer
  by someone other than the asker) strictly before the SLA deadline the support room recorded
  (the nudge's, else the SLA ticket's; a question with neither never fell due unanswered).
  Imported history, which no SLA covered (`escalation_exempt`), is left out of both.
Questions deleted or hidden by moderators are left out.

Every query reads the narrow `insights_question` facts (see `models.py`), never the wide `post` table
(but the nudge figure, which looks its questions and their answers up by key).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from community import clock, db, settings
from community.insights import rollup
from community.insights.periods import Period, day_number

settings.declare("insights.answered_within_hour_target", 95,
                 "Target share (%) of questions answered by the community within an hour", "insights")
settings.rule("insights.answered_within_hour_target", settings.between(0, 100, "%"))

HOUR_MS = 3_600_000
TOP = 10


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
    nudged_questions: int = 0
    nudged_answered_in_time: int = 0  # by the community, before the SLA deadline
    nudged_answered_in_time_pct: float | None = None
    not_nudged_questions: int = 0
    not_nudged_answered_in_time: int = 0
    not_nudged_answered_in_time_pct: float | None = None
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
    await _nudges(s)
    await _self_service(s)
    await _contributors(s)
    return s


async def _questions(s: Summary) -> None:
    """Per day: asked, answered, answered within the hour, solved (the day counts); the totals add
    the days up."""
    rows = await db.fetch(f"SELECT d.day AS day, d.asked AS asked, d.answered AS answered, d.within_hour AS within_hour, "
                          f"d.solved AS solved FROM {rollup.DAYS} d WHERE d.day >= ? AND d.day <= ?",
                          rollup.range_params(s.period))
    found = {int(r["day"]): r for r in rows}
    for day in s.period.days():
        r = found.get(day_number(day))
        asked, answered, within, solved = (int(r["asked"]), int(r["answered"]), int(r["within_hour"]),
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
    median, p90, _ = await rollup.median_and_p90("first", s.period)
    s.median_first_answer_minutes, s.p90_first_answer_minutes = _minutes(median), _minutes(p90)


async def _solution_times(s: Summary) -> None:
    median, _, _ = await rollup.median_and_p90("solution", s.period)
    s.median_solution_minutes = _minutes(median)


def _support_installed() -> bool:
    """Whether the support room (optional here) is installed: its tickets feed `insights_ticket`."""
    try:
        import community.support.models  # noqa: F401
    except ImportError:
        return False
    return True


async def _escalations(s: Summary) -> None:
    if not _support_installed():
        return
    s.escalations_available = True
    now_ms = int(clock.now().timestamp() * 1000)
    in_range, params = rollup.asked_in("t"), rollup.asked_params(s.period)
    rows = await db.fetch(
        "SELECT COUNT(*) AS n, COUNT(t.claim_wait_ms) AS claimed, COUNT(t.reply_wait_ms) AS replied, "
        "SUM(CASE WHEN t.solved_officially = ? THEN 1 ELSE 0 END) AS by_staff, "
        "SUM(CASE WHEN t.solved_officially = ? THEN 1 ELSE 0 END) AS by_community, "
        "SUM(CASE WHEN (t.claimed_ms IS NOT NULL AND t.claimed_ms > t.claim_due_ms) "
        "  OR (t.claimed_ms IS NULL AND t.resolved = ? AND t.claim_due_ms < ?) "
        "  OR (t.first_reply_ms IS NOT NULL AND t.first_reply_ms > t.reply_due_ms) "
        "  OR (t.first_reply_ms IS NULL AND t.resolved = ? AND t.reply_due_ms < ?) THEN 1 ELSE 0 END) AS breaches "
        f"FROM {rollup.TICKETS} t WHERE {in_range}",
        [True, False, False, now_ms, False, now_ms, *params])
    r = rows[0]
    s.escalations = int(r["n"])
    s.escalated_solved_by_staff = int(r["by_staff"] or 0)
    s.escalated_solved_by_community = int(r["by_community"] or 0)
    s.sla_breaches = int(r["breaches"] or 0)
    s.escalation_rate = _pct(s.escalations, s.questions)
    for column, count, attr in (("claim_wait_ms", int(r["claimed"]), "median_claim_minutes"),
                                ("reply_wait_ms", int(r["replied"]), "median_first_reply_minutes")):
        index = rollup.indexed(f"insights_ticket_by_{column.removesuffix('_wait_ms')}_wait")
        if not count:
            continue
        # The middle one or two waits, walking the index of waits in order.
        middle = await db.fetch(
            f"SELECT t.{column} AS w FROM {rollup.TICKETS} t{index} "
            f"WHERE t.visible = ? AND t.{column} IS NOT NULL AND t.day >= ? AND t.day <= ? ORDER BY t.{column} "
            f"LIMIT {2 - count % 2} OFFSET {(count - 1) // 2}", params)
        setattr(s, attr, _minutes(sum(int(m["w"]) for m in middle) / len(middle)))


# Per question asked in the range: nudged or not, and answered by the community before its deadline.
# The facts give the range (and skip the never-answered); the question, its nudge and its ticket
# are looked up by key, its answers through the (question_id, created_at) index.
_NUDGE_FIGURES = (
    "SELECT x.nudged AS nudged, COUNT(*) AS questions, SUM(x.in_time) AS in_time FROM ("
    "SELECT CASE WHEN n.recipients > 0 THEN 1 ELSE 0 END AS nudged, "
    "CASE WHEN f.first_wait_ms IS NOT NULL AND EXISTS (SELECT 1 FROM post a WHERE a.question_id = p.id "
    "  AND a.kind = 'answer' AND a.official = ? AND a.deleted_at IS NULL AND a.hidden = ? "
    "  AND COALESCE(a.author_id, 0) <> COALESCE(p.author_id, -1) "
    "  AND (COALESCE(n.sla_due_at, t.sla_breached_at) IS NULL OR a.created_at < COALESCE(n.sla_due_at, t.sla_breached_at))) "
    "THEN 1 ELSE 0 END AS in_time "
    f"FROM {rollup.FACTS} f JOIN post p ON p.id = f.question_id "
    "LEFT JOIN support_nudge n ON n.question_id = p.id LEFT JOIN support_ticket t ON t.question_id = p.id "
    f"WHERE {rollup.asked_in('f')} AND p.escalation_exempt = ?) AS x GROUP BY x.nudged")


async def _nudges(s: Summary) -> None:
    if not _support_installed():
        return
    rows = await db.fetch(_NUDGE_FIGURES, [False, False, *rollup.asked_params(s.period), False])
    for r in rows:
        side = "nudged" if int(r["nudged"]) else "not_nudged"
        questions, in_time = int(r["questions"]), int(r["in_time"] or 0)
        setattr(s, f"{side}_questions", questions)
        setattr(s, f"{side}_answered_in_time", in_time)
        setattr(s, f"{side}_answered_in_time_pct", _pct(in_time, questions))


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
    for kind, attr, key in (("reputation", "top_by_reputation", "reputation"), ("accepted", "top_by_accepted", "accepted")):
        rows = await rollup.top_contributors(kind, s.period, TOP)
        names = await _usernames([r["user_id"] for r in rows])
        setattr(s, attr, sorted(({"user_id": r["user_id"], "username": names.get(r["user_id"], ""), key: r["amount"]}
                                 for r in rows), key=lambda c: (-c[key], c["username"])))


async def _usernames(ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await db.fetch(f'SELECT id, username FROM "user" WHERE id IN ({", ".join("?" * len(ids))})', ids)
    return {int(r["id"]): r["username"] for r in rows}
