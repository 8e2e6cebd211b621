"""The demo community `make serve` loads: Kestrel Mobile's forum, some 340 threads written by hand
across what a network's customers ask about, replayed over sixteen weeks.

The content is checked as written (distinct titles, tags spread like a real forum's, every post passes
the services' own checks) and as loaded: every thread arrives, members span the reputation range,
answers are good and bad, agents handled escalations, the newest questions wait inside their SLA,
badges follow the rules, and what was written in batches (votes, accepts) matches the ledger."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from community import badges, clock, db, demo, questions
from community.demo_threads import AGENT, DESK, NEW, POOR, WRONG, all_threads
from tests.conftest import login

TOPICS = ["sim", "esim", "activation", "porting", "roaming", "top-up", "billing", "data", "signal", "hotspot", "tethering",
          "voicemail", "wifi-calling", "lost-phone", "plans", "bundles", "puk", "contracts", "outage", "mms", "sms",
          "international-calls", "app", "account"]


def test_the_content_reads_like_a_forum():
    threads = all_threads()
    assert len(threads) >= 300
    titles = [t.title.lower() for t in threads]
    assert len(set(titles)) >= 0.95 * len(titles)
    tags = Counter(tag for t in threads for tag in questions.parse_tags(t.tags))
    assert all(tags[name] for name in TOPICS), [name for name in TOPICS if not tags[name]]
    # A real forum's spread: no tag on more than 15% of threads, a long tail of rare ones.
    assert max(tags.values()) <= 0.15 * len(threads), tags.most_common(3)
    counts = sorted(tags.values(), reverse=True)
    assert len(counts) >= 40 and counts[0] >= 4 * counts[len(counts) // 2]
    # Every post passes what the services check, so the replay loses none of them.
    for t in threads:
        assert questions.check_title(t.title) and questions.check_body(t.body)
        for a in t.answers:
            assert len(a.text) >= questions.ANSWER_MIN, a.text
            assert all(questions.COMMENT_MIN <= len(n) <= questions.COMMENT_MAX for n in a.notes)
    answers = [a for t in threads for a in t.answers]
    assert sum(a.grade <= POOR for a in answers) >= 20 and sum(a.grade <= WRONG for a in answers) >= 10
    fates = Counter(t.fate for t in threads)
    assert fates[NEW] >= 2 and fates[DESK] >= 3 and fates[AGENT] >= 1 and sum(not t.answers for t in threads) >= 8
    assert len({len(t.body) // 100 for t in threads}) >= 4  # terse and long


async def _count(sql: str, values: list | None = None) -> int:
    return int((await db.fetch(sql, values or []))[0]["n"])


async def test_the_loaded_demo_looks_real(client, database):
    previous = clock.use(clock.Clock())  # the demo installs its own clock and puts this one back
    try:
        summary = await demo.load()
    finally:
        clock.use(previous)
    now = datetime.now(timezone.utc)
    assert "members" in summary and "escalated to support" in summary

    # Every thread arrived, titles distinct, tags spread, asked over months, more on weekdays.
    rows = await db.fetch("SELECT id, title, tag_names, created_at, state, score FROM post WHERE kind = 'question'")
    assert len(rows) == len(all_threads())
    assert len({r["title"].lower() for r in rows}) >= 0.95 * len(rows)
    tags = Counter(tag for r in rows for tag in r["tag_names"].split())
    assert max(tags.values()) <= 0.15 * len(rows)
    days = Counter(db.as_datetime(r["created_at"]).date() for r in rows)
    assert len(days) >= 70 and max(days) - min(days) >= timedelta(days=100)
    states = Counter(r["state"] for r in rows)
    assert states["solved"] >= 0.5 * len(rows) and states["answered"] >= 30 and states["unanswered"] >= 3

    # Members: a few power users, many newcomers, a middle; reputation is the ledger's.
    reps = [int(r["reputation"]) for r in await db.fetch("SELECT reputation FROM \"user\" WHERE role = 'member'")]
    assert len(reps) >= 150
    assert 3 <= sum(r >= 3000 for r in reps) <= 10 and sum(r < 100 for r in reps) >= 0.6 * len(reps)
    assert sum(100 <= r < 3000 for r in reps) >= 15 and min(reps) == 1
    assert await db.fetch('SELECT u.id FROM "user" u WHERE u.reputation <> (SELECT CASE WHEN 1 + COALESCE(SUM(e.amount), 0) < 1 '
                          'THEN 1 ELSE 1 + COALESCE(SUM(e.amount), 0) END FROM reputation_event e WHERE e.user_id = u.id)') == []
    roles = {r["username"]: r["role"] for r in await db.fetch(
        "SELECT username, role FROM \"user\" WHERE username IN ('alice', 'mod_maria', 'agent_sam', 'agent_priya', 'admin')")}
    assert roles == {"alice": "member", "mod_maria": "moderator", "agent_sam": "staff", "agent_priya": "staff", "admin": "admin"}

    # Votes written in batches agree with the scores; great answers and wrong ones.
    assert await db.fetch("SELECT p.id FROM post p WHERE p.score <> (SELECT COALESCE(SUM(v.value), 0) FROM vote v "
                          "WHERE v.post_id = p.id)") == []
    assert await _count("SELECT COUNT(*) AS n FROM post WHERE kind = 'answer' AND score >= 10") >= 20
    assert await _count("SELECT COUNT(*) AS n FROM post WHERE kind = 'answer' AND score < 0") >= 15
    assert await _count("SELECT COUNT(*) AS n FROM post q JOIN post a ON a.id = q.accepted_answer_id "
                        "WHERE q.state <> 'solved' OR a.question_id <> q.id") == 0
    assert await _count("SELECT COUNT(*) AS n FROM comment") >= 40

    # The desk: escalations both agents claimed and answered, resolved; others still open.
    handled = await db.fetch("SELECT u.username, t.resolution FROM support_ticket t JOIN \"user\" u ON u.id = t.assignee_id "
                             "WHERE t.state = 'resolved'")
    assert {r["username"] for r in handled} == {"agent_sam", "agent_priya"}
    assert sum(r["resolution"] == "answered_by_staff" for r in handled) >= 10
    assert await _count("SELECT COUNT(*) AS n FROM post WHERE official") >= 15
    assert await _count("SELECT COUNT(*) AS n FROM support_ticket WHERE state = 'open'") >= 3
    assert await _count("SELECT COUNT(*) AS n FROM support_ticket WHERE source = 'asker'") >= 5
    # ... and questions waiting inside their SLA: recent, unanswered, not escalated.
    waiting = await _count("SELECT COUNT(*) AS n FROM post p WHERE p.kind = 'question' AND p.first_answer_at IS NULL "
                           "AND p.created_at > ? AND NOT EXISTS (SELECT 1 FROM support_ticket t WHERE t.question_id = p.id)",
                           [now - timedelta(hours=1)])
    assert waiting >= 2

    # Badges: the recompute at the end gave what the rules give, across levels.
    awarded = {(int(r["user_id"]), r["badge"], r["ref"]) for r in await db.fetch("SELECT user_id, badge, ref FROM badge_award")}
    assert set(await badges.by_rules()) == awarded
    names = Counter(badge for _, badge, _ in awarded)
    assert {"student", "helper", "problem_solver", "supporter", "nice_answer", "troubleshooter"} <= set(names)
    assert names["great_answer"] >= 1

    # It shows: the home page lists the newest, a member logs in with the demo password.
    home = await client.get("/")
    assert home.status_code == 200 and "eSIM activation code format?" in home.text
    await login(client, "alice", demo.PASSWORD)
    assert (await client.get("/questions?sort=votes")).status_code == 200


@pytest.mark.parametrize("days", [6])
async def test_a_short_history_keeps_every_topic(database, days):
    previous = clock.use(clock.Clock())
    try:
        await demo.load(days=days)
    finally:
        clock.use(previous)
    rows = await db.fetch("SELECT title, tag_names FROM post WHERE kind = 'question'")
    tags = {tag for r in rows for tag in r["tag_names"].split()}
    assert {"sim", "esim", "porting", "roaming", "billing", "hotspot", "voicemail", "plans", "account"} <= tags
    assert 20 <= len(rows) <= 40
