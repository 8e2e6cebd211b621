"""Fifty members answering, accepting, unaccepting and voting at once against a live server with
four workers on PostgreSQL: no request answers 5xx, and every invariant of the forum still holds.

Bounded: the load itself runs for LOAD_SECONDS (15 s); starting the server, setup and the checks
take about 15 s more. Figures before and after the lock-order fix: docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from community import acceptance, accounts, clock, db, questions, reputation, settings
from community.models import Post, User
from tests.browser import start_server, stop_server
from tests.conftest import PG_URL
from tests.test_insights_facts import _assert_rollups_match_facts, _expected, _facts

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not PG_URL,
    reason="a load test of PostgreSQL's row locks with four server workers: set TEST_DATABASE_URL "
           "(tests/with_postgres.sh does; on SQLite the workers' writes queue on one file lock)")]

CLIENTS = 50
ASKERS = 6  # members 0..5 each asked one question; only they accept and unaccept
LOAD_SECONDS = float(os.environ.get("LOAD_TEST_SECONDS", "15"))  # longer for docs/benchmarks.md
WORKERS = 4


def _lifted(name: str, default: object) -> object:
    """A value for a `limit.` setting that lets this load through: the write rate limits are off at 0
    (community.ratelimit), so they add no statements to the writes measured here; no member counts as
    new below reputation 0, so no new-member limit applies; log-in failures may be many."""
    if isinstance(default, bool) or not isinstance(default, int):
        return default
    return 1_000_000 if "failures" in name else 0


async def _lift_limits() -> None:
    for name, tunable in settings.DECLARED.items():
        if name.startswith("limit."):
            await settings.put(name, _lifted(name, tunable.default))


async def _forum(fake_clock: clock.FakeClock, now: datetime) -> tuple[list[User], dict[int, int], dict[int, list[int]]]:
    """Members with enough reputation to vote both ways; ASKERS questions asked on three different days
    (so some per-day roll-up rows are shared and some not), each with two answers, one accepted.
    Tokens come from `accounts.issue_token`, the service behind POST /api/v1/tokens, without fifty
    password checks."""
    password_hash = accounts.hash_password("password123")  # once: hashing fifty times costs seconds
    members = []
    for i in range(CLIENTS):
        user = await User.create(username=f"member{i:02d}", email=f"member{i:02d}@example.com",
                                 password_hash=password_hash, created_at=now - timedelta(days=30))
        async with db.transaction() as conn:
            await reputation.grant(user.id, 199, "earlier_history", f"test:member{i:02d}", None, conn)
            await reputation.refresh_total(user.id, conn)
        members.append(await User.get(id=user.id))
    asker_of: dict[int, int] = {}
    answers: dict[int, list[int]] = {}
    for i in range(ASKERS):
        fake_clock.set(now - timedelta(days=i % 3, minutes=7 * i + 30))
        q = await questions.ask(members[i], f"Roaming stopped working abroad, case {i}",
                                "Since the update my phone shows no service in Spain.", "roaming")
        asker_of[q.id] = i
        answers[q.id] = []
        for j in (1, 2):
            fake_clock.advance(minutes=j)
            a = await questions.answer(members[(i + 10 * j) % CLIENTS], q.id, f"Turn data roaming on and restart ({j}).")
            answers[q.id].append(a.id)
    first = min(asker_of)
    await acceptance.accept(members[asker_of[first]], first, answers[first][0])
    fake_clock.set(now)
    return members, asker_of, answers


async def _load(url: str, tokens: list[str], asker_of: dict[int, int], answers: dict[int, list[int]]) -> Counter:
    """Every client writes as fast as the server answers until the time is up; returns the statuses."""
    statuses: Counter = Counter()
    question_ids = sorted(asker_of)
    own_question = {i: qid for qid, i in asker_of.items()}
    deadline = time.monotonic() + LOAD_SECONDS

    async def write(http: httpx.AsyncClient, i: int, rnd: random.Random) -> httpx.Response:
        """One write: askers accept (or unaccept) on their question, mostly one of its latest answers,
        whose authors are the ones still writing; everyone answers and votes on questions and answers."""
        roll = rnd.random()
        if i in own_question and roll < 0.4:
            qid = own_question[i]
            if rnd.random() < 0.2:
                return await http.delete(f"/api/v1/questions/{qid}/accept")
            return await http.post(f"/api/v1/questions/{qid}/accept", json={"answer_id": rnd.choice(answers[qid][-5:])})
        qid = rnd.choice(question_ids)
        if roll < 0.7 if i in own_question else roll < 0.35:
            r = await http.post(f"/api/v1/questions/{qid}/answers",
                                json={"body": f"Member {i} says: reset the network settings."})
            if r.status_code == 201:
                answers[qid].append(r.json()["id"])
            return r
        post_id = qid if rnd.random() < 0.4 else rnd.choice(answers[qid])
        return await http.post(f"/api/v1/posts/{post_id}/vote", json={"value": rnd.choice((1, 1, -1, 0))})

    async def client(i: int) -> None:
        rnd = random.Random(i)
        headers = {"Authorization": f"Bearer {tokens[i]}"}
        one_connection = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60, limits=one_connection) as http:
            while time.monotonic() < deadline:
                try:
                    r = await write(http, i, rnd)
                except httpx.TransportError as exc:  # the server dropped the connection (it does after a 500)
                    statuses[f"dropped: {type(exc).__name__}"] += 1
                    continue
                statuses[r.status_code] += 1
                if r.status_code >= 500:
                    statuses[f"{r.status_code} {r.text[:120]}"] += 1

    await asyncio.gather(*(client(i) for i in range(CLIENTS)))
    return statuses


async def _assert_invariants(members: list[User], asker_of: dict[int, int]) -> None:
    doubled = await db.fetch("SELECT post_id, voter_id FROM vote GROUP BY post_id, voter_id HAVING COUNT(*) > 1")
    assert doubled == [], "one vote per member and post"
    off = await db.fetch("SELECT p.id, p.score, COALESCE(SUM(v.value), 0) AS total FROM post p LEFT JOIN vote v "
                         "ON v.post_id = p.id GROUP BY p.id, p.score HAVING p.score <> COALESCE(SUM(v.value), 0)")
    assert off == [], "a post's score is the sum of its votes"
    for q in await Post.filter(kind="question"):
        visible = await Post.filter(question_id=q.id, kind="answer", deleted_at=None, hidden=False).count()
        assert q.answer_count == visible
        if q.accepted_answer_id is not None:
            accepted = await Post.get(id=q.accepted_answer_id)
            assert (accepted.kind, accepted.question_id) == ("answer", q.id), "the accepted answer answers this question"
            assert q.state == "solved"
        else:
            assert q.state == ("answered" if visible else "unanswered")
        # Accepting, switching and unaccepting leave exactly one acceptance's reputation, or none.
        rows = await db.fetch("SELECT user_id, SUM(amount) AS net FROM reputation_event WHERE ref = ? GROUP BY user_id",
                              [f"accept:{q.id}"])
        net = {int(r["user_id"]): int(r["net"]) for r in rows if int(r["net"])}
        if q.accepted_answer_id is None:
            assert net == {}, q.id
        else:
            accepted = await Post.get(id=q.accepted_answer_id)
            assert net == ({q.author_id: 2, accepted.author_id: 15} if accepted.author_id != q.author_id else {}), q.id
    for m in members:
        ledger = await db.fetch("SELECT COALESCE(SUM(amount), 0) AS total FROM reputation_event WHERE user_id = ?", [m.id])
        assert (await User.get(id=m.id)).reputation == max(1, 1 + int(ledger[0]["total"])), m.username
    assert await _facts() == await _expected()
    await _assert_rollups_match_facts()


async def _deadlocks_so_far() -> int:
    """Deadlocks PostgreSQL has detected in this database (its own statistics)."""
    rows = await db.fetch("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
    return int(rows[0]["deadlocks"])


async def test_fifty_members_writing_at_once_get_no_5xx_and_every_invariant_holds(database, fake_clock, tmp_path):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    await _lift_limits()  # before the server starts: it reads the settings once
    # The four workers start while the forum is written (starting them is most of the setup).
    starting = asyncio.create_task(asyncio.to_thread(
        start_server, database, tmp_path, {"WEB_CONCURRENCY": str(WORKERS), "WORKERS": str(WORKERS),
                                           # The search indexer works after the writes commit, outside their
                                           # transactions: not what this measures, and it takes the CPU.
                                           "RUN_INDEXER": "0"}))
    try:
        members, asker_of, answers = await _forum(fake_clock, now)
        tokens = [await accounts.issue_token(m) for m in members]
        deadlocks_before = await _deadlocks_so_far()
        statuses = await _load((await asyncio.shield(starting)).url, tokens, asker_of, answers)
    finally:
        server = await starting
        stop_server(server)  # its connections close, so PostgreSQL's statistics are complete
    deadlocks = await _deadlocks_so_far() - deadlocks_before
    log = server.log()
    total = sum(n for code, n in statuses.items() if isinstance(code, int))
    print(f"\n{total} requests in {LOAD_SECONDS:.0f} s: {dict(statuses)}; deadlocks detected by PostgreSQL: {deadlocks}")
    assert total >= 2 * CLIENTS, statuses  # the load really ran
    assert statuses[201] and statuses[200], statuses  # answers, votes and accepts went through
    server_errors = {code: n for code, n in statuses.items() if not isinstance(code, int) or code >= 500}
    assert server_errors == {}, server_errors
    assert statuses[429] == 0, "a write limit applied: _lift_limits must lift it, this test measures deadlocks"
    assert "Traceback" not in log, log[-4000:]
    await _assert_invariants(members, asker_of)
