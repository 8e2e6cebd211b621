"""The demo community `make serve` loads: members across the reputation range, a moderator, two
agents, history with realistic first-answer times, escalations, and questions already past SLA
(a short history here; `make serve` loads six weeks)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from community import clock, db, demo
from community.insights.periods import Period
from community.insights.summary import summary


async def test_demo_community_shows_everything(database):
    previous = clock.use(clock.Clock())  # the demo installs its own clock and puts this one back
    try:
        text = await demo.load(days=6)
    finally:
        clock.use(previous)
    assert "members" in text and "escalated to support" in text
    roles = {r["role"]: int(r["n"]) for r in await db.fetch('SELECT role, COUNT(*) AS n FROM "user" GROUP BY role')}
    assert roles["moderator"] == 1 and roles["staff"] == 2 and roles["admin"] == 1 and roles["member"] >= 20
    reps = [int(r["reputation"]) for r in await db.fetch('SELECT reputation FROM "user" WHERE role = ?', ["member"])]
    assert min(reps) == 1 and max(reps) > 8000 and sum(1 for r in reps if 100 <= r < 2000) >= 5
    # Reputation is the ledger's, as if people had used the site.
    wrong = await db.fetch('SELECT u.id FROM "user" u WHERE u.reputation <> (SELECT CASE WHEN 1 + COALESCE(SUM(e.amount), 0) < 1 '
                           'THEN 1 ELSE 1 + COALESCE(SUM(e.amount), 0) END FROM reputation_event e WHERE e.user_id = u.id)')
    assert wrong == []
    now = datetime.now(timezone.utc)
    s = await summary(Period((now - timedelta(days=7)).date(), now.date()))
    assert s.questions >= 10 and s.answered > 0 and s.solved > 0
    assert s.median_first_answer_minutes is not None and s.median_first_answer_minutes < 60
    past_sla = await db.fetch("SELECT COUNT(*) AS n FROM post WHERE kind = 'question' AND first_answer_at IS NULL "
                              "AND created_at < ?", [now - timedelta(hours=1)])
    assert int(past_sla[0]["n"]) >= 3
    if s.escalations_available:
        tickets = {r["state"]: int(r["n"]) for r in await db.fetch("SELECT state, COUNT(*) AS n FROM support_ticket GROUP BY state")}
        assert tickets.get("open", 0) >= 3 and sum(tickets.values()) >= 4
