"""Two hosts on one PostgreSQL database: two real servers (their own VAR_DIR and INDEX_DIR) stand
for two machines, and what each keeps in memory must follow the other's writes: the anonymous page
cache, the settings, the search index, and the escalation sweeper (one ticket per question however
many hosts sweep). A Whoosh index is for one host: a second host's server refuses to start on it.

PostgreSQL pass only (`make test`, or `tests/with_postgres.sh`): SQLite is one machine's file.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from community import db, questions
from tests.browser import LiveServer, start_server, stop_server
from tests.conftest import PG_URL, make_user

pytestmark = pytest.mark.skipif(
    not PG_URL, reason="two hosts share one PostgreSQL database: this test runs in the PostgreSQL pass "
                       "(make test, or PG_TEST_PORT=... bash tests/with_postgres.sh pytest tests/test_two_hosts.py)")

FOLLOW_SECONDS = 1.0  # the bound: a write on one host is seen by the other within a second
HOST = {"EMBEDDINGS": "0", "RUN_SWEEPER": "1", "ESCALATION_SWEEP_SECONDS": "0.2", "PAGE_CACHE": "1",
        "RUN_INDEXER": "1", "SECRET_KEY": "two-hosts-secret"}


def host(database: str, where: Path, **env: str) -> LiveServer:
    where.mkdir(parents=True, exist_ok=True)
    return start_server(database, where, {**HOST, **env})


@pytest.fixture
def two_hosts(database: str, tmp_path: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    a = host(database, tmp_path / "a", SEARCH_BACKEND="postgres")
    try:
        b = host(database, tmp_path / "b", SEARCH_BACKEND="postgres")
    except BaseException:
        stop_server(a)
        raise
    yield a, b
    stop_server(a)
    stop_server(b)


async def seen_within(get, check, seconds: float) -> tuple[bool, float, object]:
    """Ask `get()` again until `check(result)` holds; (held, seconds it took, last result)."""
    started = time.monotonic()
    while True:
        result = await get()
        if check(result):
            return True, time.monotonic() - started, result
        if time.monotonic() - started > seconds:
            return False, time.monotonic() - started, result
        await asyncio.sleep(0.02)


async def token(http: httpx.AsyncClient, url: str, name: str) -> dict[str, str]:
    r = await http.post(url + "/api/v1/tokens", json={"username": name, "password": "password123"})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def test_a_write_on_one_host_is_seen_on_the_other(two_hosts, fake_clock) -> None:
    a, b = two_hosts
    await make_user("asker", 500)
    await make_user("helper", 500)
    async with httpx.AsyncClient(timeout=10) as http:
        asker, helper = await token(http, a.url, "asker"), await token(http, b.url, "helper")
        r = await http.post(a.url + "/api/v1/questions", headers=asker, json={
            "title": "How do I move my number to a new SIM card?",
            "body": "My old SIM card is broken and I want to keep my number on the replacement card.",
            "tags": "sim"})
        assert r.status_code == 201, r.text
        qid = r.json()["id"]
        thread = f"{b.url}/questions/{qid}"

        # (a) Host B keeps the anonymous thread page and the front page...
        first = await http.get(thread, follow_redirects=True)
        assert first.status_code == 200 and "keep my number" in first.text
        page_url = str(first.url)
        again = await http.get(page_url)
        assert again.headers.get("x-cache") == "hit", "host B should serve its kept copy while nothing changes"
        front = await http.get(b.url + "/")
        assert "move my number" in front.text
        assert (await http.get(b.url + "/")).headers.get("x-cache") == "hit"

        # ...until host A writes: then B makes them again within a second.
        r = await http.post(f"{a.url}/api/v1/questions/{qid}/answers", headers=helper,
                            json={"body": "Order a replacement SIM in the app; the number moves over within an hour."})
        assert r.status_code == 201, r.text
        seen, took, page = await seen_within(lambda: http.get(page_url),
                                             lambda p: "number moves over within an hour" in p.text, FOLLOW_SECONDS)
        assert seen, f"host B still served the old thread page {took:.2f} s after host A's answer"
        seen, took, _ = await seen_within(lambda: http.get(b.url + "/"),
                                          lambda p: "<strong>1</strong> answer" in p.text, FOLLOW_SECONDS)
        assert seen, f"host B's question list did not show the answer {took:.2f} s after host A's write"

        # (b) Settings changed on one host apply on the other (the settings generation).
        def flag_threshold(p: httpx.Response) -> int | None:
            return next((i["reputation"] for i in p.json()["items"] if i["name"] == "flag"), None)

        before = flag_threshold(await http.get(b.url + "/api/v1/privileges"))
        assert before == 15
        await _change_setting("priv.flag", 40)
        seen, took, last = await seen_within(lambda: http.get(b.url + "/api/v1/privileges"),
                                             lambda p: flag_threshold(p) == 40, 1.5)
        assert seen, f"host B still uses priv.flag {flag_threshold(last)} {took:.2f} s after it was changed to 40"

        # (c) Search (SEARCH_BACKEND=postgres: one index in the shared database): a question asked on
        # B is found on A, and an edit that removes a word is seen by both.
        r = await http.post(b.url + "/api/v1/questions", headers=helper, json={
            "title": "Roaming in Lanzarote with a zebrafish plan",
            "body": "Does my zebrafish plan include roaming data in Lanzarote, or do I pay extra there?",
            "tags": "roaming"})
        assert r.status_code == 201, r.text
        found = r.json()["id"]
        for server in (a, b):
            seen, took, last = await seen_within(
                lambda: http.get(server.url + "/api/v1/search", params={"q": "zebrafish"}),
                lambda p: found in [i["question_id"] for i in p.json()["items"]], 5.0)
            assert seen, f"{server.url} did not find the question asked on the other host: {last.text[:300]}"


async def _change_setting(name: str, value: object) -> None:
    """Store a setting as the admin's settings console does (a row and a new settings generation)."""
    from community import settings

    await settings.put(name, value)
    settings.reset_overrides()  # this (test) process is not one of the hosts


async def test_only_one_host_escalates_a_question(two_hosts, fake_clock) -> None:
    """Both hosts sweep every 0.2 s; each overdue question becomes exactly one ticket, with one
    history entry and one notification to its asker."""
    a, b = two_hosts
    askers = [await make_user(f"asker{i}", 500) for i in range(3)]
    fake_clock.set(datetime.now(timezone.utc) - timedelta(hours=3))  # asked three hours ago, past the 60-minute SLA
    ids = []
    for n in range(12):
        q = await questions.ask(askers[n % 3], f"Why is my mobile data slow on day {n}?",
                                "My mobile data crawls every evening although the signal shows full bars.", "data")
        ids.append(q.id)
    await questions.bump_generation()

    async def tickets() -> int:
        rows = await db.fetch("SELECT COUNT(*) AS n FROM support_ticket WHERE question_id IN "
                              f"({','.join('?' * len(ids))})", ids)
        return int(rows[0]["n"])

    seen, took, count = await seen_within(tickets, lambda n: n == len(ids), 20.0)
    assert seen, f"only {count} of {len(ids)} overdue questions were escalated after {took:.1f} s"
    await asyncio.sleep(1.0)  # five more sweeps on each host: none may add anything
    marks = ",".join("?" * len(ids))
    rows = await db.fetch(f"SELECT question_id, COUNT(*) AS n FROM support_ticket WHERE question_id IN ({marks}) "
                          "GROUP BY question_id", ids)
    assert sorted((r["question_id"], r["n"]) for r in rows) == [(i, 1) for i in sorted(ids)]
    history = await db.fetch("SELECT COUNT(*) AS n FROM support_ticket_event e JOIN support_ticket t ON t.id = e.ticket_id "
                             f"WHERE e.action = 'escalated' AND t.question_id IN ({marks})", ids)
    notified = await db.fetch(f"SELECT COUNT(*) AS n FROM notification WHERE kind = 'escalated' AND question_id IN ({marks})", ids)
    assert (history[0]["n"], notified[0]["n"]) == (len(ids), len(ids))
    assert "Traceback" not in a.log() + b.log(), a.log() + b.log()


async def test_a_second_host_with_its_own_whoosh_index_refuses_to_start(database, tmp_path: Path, fake_clock) -> None:
    await make_user("asker", 500)
    first = host(database, tmp_path / "first", SEARCH_BACKEND="whoosh")
    try:
        # Another worker of the same host (the same INDEX_DIR) starts and leaves the indexing to the first.
        sibling = host(database, tmp_path / "sibling", SEARCH_BACKEND="whoosh", INDEX_DIR=str(tmp_path / "first" / "index"))
        stop_server(sibling)
        with pytest.raises(RuntimeError) as refused:
            host(database, tmp_path / "second", SEARCH_BACKEND="whoosh")
        message = str(refused.value)
        assert "server exited early" in message
        assert "Another host's Whoosh index" in message and "SEARCH_BACKEND=postgres" in message, message
        # The first host's index still follows every write.
        async with httpx.AsyncClient(timeout=10) as http:
            asker = await token(http, first.url, "asker")
            r = await http.post(first.url + "/api/v1/questions", headers=asker, json={
                "title": "Is there a quokka bundle for pay monthly?",
                "body": "I saw a quokka bundle advertised and wonder whether pay monthly plans can add it.",
                "tags": "bundles"})
            assert r.status_code == 201, r.text
            seen, _, last = await seen_within(lambda: http.get(first.url + "/api/v1/search", params={"q": "quokka"}),
                                              lambda p: r.json()["id"] in [i["question_id"] for i in p.json()["items"]], 5.0)
            assert seen, last.text
    finally:
        stop_server(first)
    # Once the first host is gone, the second may take over (it rebuilds its index from the database).
    second = host(database, tmp_path / "second", SEARCH_BACKEND="whoosh")
    stop_server(second)
