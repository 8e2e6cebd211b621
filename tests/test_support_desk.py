"""The staff desk and the support API: permissions, claims (racing too), release, reassign,
official replies, internal notes, resolutions, auto-resolution on accept, history, notifications."""

from __future__ import annotations

import asyncio
import re

import pytest

from community import questions
from community.models import Notification, User
from community.support import sweeper, tickets
from community.support.models import Ticket
from tests.conftest import login, token_for



@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch):
    """Argon2 at its real cost makes each login ~0.1 s; these tests are about tickets."""
    from argon2 import PasswordHasher

    from community import accounts

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


TITLE, BODY = "Data stopped working after topping up", "I topped up yesterday and mobile data has not worked since."


async def _escalated(client, users, fake_clock, tags="data"):
    """A member's question that has passed its SLA and been swept into a ticket."""
    await users("cust", 50)
    await users("agent", 1, "staff")
    await users("agent2", 1, "staff")
    await users("lead", 1, "admin")
    await users("member", 500)
    cust = await token_for(client, "cust")
    r = await client.post("/api/v1/questions", headers=cust, json={"title": TITLE, "body": BODY, "tags": [tags]})
    qid = r.json()["id"]
    fake_clock.advance(minutes=61)
    result = await sweeper.sweep()
    assert len(result.created) == 1
    return qid, result.created[0], cust


async def test_every_support_endpoint_answers_anonymous_401_and_members_403(client, users, fake_clock):
    qid, tid, cust = await _escalated(client, users, fake_clock)
    member = await token_for(client, "member")
    endpoints = [("GET", "/api/v1/support/tickets"), ("GET", f"/api/v1/support/tickets/{tid}")] + [
        ("POST", f"/api/v1/support/tickets/{tid}/{a}") for a in ("claim", "release", "reassign", "reply", "notes", "resolve")]
    for method, path in endpoints:
        r = await client.request(method, path, json={})
        assert r.status_code == 401, (path, r.text)
        assert r.json()["error"]["code"] == "not_authenticated"
        r = await client.request(method, path, headers=member, json={})
        assert r.status_code == 403, (path, r.text)
        r = await client.request(method, path, headers=cust, json={})
        assert r.status_code == 403, (path, r.text)
    assert (await client.get("/support")).status_code in (302, 303)
    await login(client, "member")
    assert (await client.get("/support")).status_code == 403


async def test_question_json_carries_the_escalation_and_the_thread_shows_it(client, users, fake_clock):
    qid, tid, cust = await _escalated(client, users, fake_clock)
    data = (await client.get(f"/api/v1/questions/{qid}")).json()
    assert data["escalation"]["ticket_id"] == tid and data["escalation"]["state"] == "open"
    assert data["escalation"]["assignee"] is None
    listed = (await client.get("/api/v1/questions")).json()["items"]
    assert listed[0]["escalation"]["ticket_id"] == tid
    page = await client.get(f"/questions/{qid}", follow_redirects=True)
    assert "Escalated to our support team" in page.text
    agent = await token_for(client, "agent")
    assert (await client.post(f"/api/v1/support/tickets/{tid}/claim", headers=agent)).status_code == 200
    page = await client.get(f"/questions/{qid}", follow_redirects=True)
    assert "agent from our support team is on it" in page.text
    data = (await client.get(f"/api/v1/questions/{qid}")).json()
    assert data["escalation"]["assignee"]["username"] == "agent" and data["escalation"]["state"] == "claimed"


async def test_two_agents_claiming_at_once_one_wins_the_other_is_told_who(client, users, fake_clock):
    qid, tid, _ = await _escalated(client, users, fake_clock)
    a1, a2 = await User.get(username="agent"), await User.get(username="agent2")
    outcomes = await asyncio.gather(tickets.claim(a1, tid), tickets.claim(a2, tid), return_exceptions=True)
    winners = [o for o in outcomes if isinstance(o, Ticket)]
    losers = [o for o in outcomes if isinstance(o, Exception)]
    assert len(winners) == 1 and len(losers) == 1
    winner = winners[0].assignee.username
    assert isinstance(losers[0], tickets.Conflict) and winner in losers[0].message
    # Over the API the loser gets 409 naming the agent.
    other = "agent2" if winner == "agent" else "agent"
    r = await client.post(f"/api/v1/support/tickets/{tid}/claim", headers=await token_for(client, other))
    assert r.status_code == 409 and winner in r.json()["error"]["message"]
    history = (await client.get(f"/api/v1/support/tickets/{tid}", headers=await token_for(client, winner))).json()["history"]
    assert [h["action"] for h in history] == ["escalated", "claimed"]
    assert history[0]["actor"] is None and history[1]["actor"]["username"] == winner


async def test_reply_is_an_official_answer_without_reputation_and_the_asker_is_told(client, users, fake_clock):
    qid, tid, cust = await _escalated(client, users, fake_clock)
    agent = await token_for(client, "agent")
    fake_clock.advance(minutes=5)
    r = await client.post(f"/api/v1/support/tickets/{tid}/reply", headers=agent,
                          json={"body": "Please restart the phone, then toggle mobile data off and on."})
    assert r.status_code == 201, r.text
    aid = r.json()["answer_id"]
    ticket = r.json()["ticket"]
    assert ticket["state"] == "claimed" and ticket["assignee"]["username"] == "agent"  # replying claimed it
    assert ticket["first_reply_at"] is not None and ticket["breaches"] == {"claim": False, "first_reply": False}
    q = (await client.get(f"/api/v1/questions/{qid}")).json()
    assert [a["official"] for a in q["answers"]] == [True]
    inbox = (await client.get("/api/v1/notifications", headers=cust)).json()["items"]
    assert [n["kind"] for n in inbox] == ["agent_reply", "escalated"]
    assert "support team replied" in inbox[0]["text"]
    # The asker accepts the official answer: the ticket resolves as answered by staff, and staff earn nothing.
    r = await client.post(f"/api/v1/questions/{qid}/accept", headers=cust, json={"answer_id": aid})
    assert r.status_code == 200
    detail = (await client.get(f"/api/v1/support/tickets/{tid}", headers=agent)).json()
    assert detail["state"] == "resolved" and detail["resolution"] == "answered_by_staff"
    assert detail["history"][-1]["actor"]["username"] == "cust"
    assert (await User.get(username="agent")).reputation == 1
    assert (await User.get(username="cust")).reputation == 50 + 2


async def test_community_answer_after_escalation_is_flagged_and_its_acceptance_counts_for_the_community(client, users, fake_clock):
    qid, tid, cust = await _escalated(client, users, fake_clock)
    helper = await token_for(client, "member")
    r = await client.post(f"/api/v1/questions/{qid}/answers", headers=helper, json={"body": "Check the APN settings are set to the default."})
    aid = r.json()["id"]
    agent = await token_for(client, "agent")
    detail = (await client.get(f"/api/v1/support/tickets/{tid}", headers=agent)).json()
    assert detail["community_answer"]["id"] == aid
    assert "community_answered" in [h["action"] for h in detail["history"]]
    await login(client, "agent")
    page = await client.get(f"/support/tickets/{tid}")
    assert "A community member answered after escalation" in page.text
    client.cookies.clear()
    await client.post(f"/api/v1/questions/{qid}/accept", headers=cust, json={"answer_id": aid})
    detail = (await client.get(f"/api/v1/support/tickets/{tid}", headers=agent)).json()
    assert detail["resolution"] == "answered_by_community"


async def test_release_reassign_notes_and_resolve(client, users, fake_clock):
    qid, tid, cust = await _escalated(client, users, fake_clock)
    agent, agent2, lead = [await token_for(client, n) for n in ("agent", "agent2", "lead")]
    assert (await client.post(f"/api/v1/support/tickets/{tid}/claim", headers=agent)).status_code == 200
    r = await client.post(f"/api/v1/support/tickets/{tid}/release", headers=agent2)
    assert r.status_code == 403 and "agent has this ticket" in r.json()["error"]["message"]
    r = await client.post(f"/api/v1/support/tickets/{tid}/release", headers=agent)
    assert r.json()["state"] == "open" and r.json()["assignee"] is None
    r = await client.post(f"/api/v1/support/tickets/{tid}/reassign", headers=agent, json={"assignee": "agent2"})
    assert r.status_code == 403
    r = await client.post(f"/api/v1/support/tickets/{tid}/reassign", headers=lead, json={"assignee": "member"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "assignee"
    r = await client.post(f"/api/v1/support/tickets/{tid}/reassign", headers=lead, json={"assignee": "agent2"})
    assert r.json()["assignee"]["username"] == "agent2"
    assigned = await Notification.filter(user__username="agent2", kind="ticket_assigned").count()
    assert assigned == 1
    r = await client.post(f"/api/v1/support/tickets/{tid}/notes", headers=agent2, json={"body": "Customer is on the old tariff; check the APN."})
    assert r.status_code == 201
    # Notes never reach members: not in the question JSON, not on the thread page.
    assert "old tariff" not in (await client.get(f"/api/v1/questions/{qid}")).text
    assert "old tariff" not in (await client.get(f"/questions/{qid}", follow_redirects=True)).text
    r = await client.post(f"/api/v1/support/tickets/{tid}/resolve", headers=agent2, json={"resolution": "fixed"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "resolution"
    r = await client.post(f"/api/v1/support/tickets/{tid}/resolve", headers=agent2, json={"resolution": "no_response"})
    assert r.json()["state"] == "resolved" and r.json()["resolution"] == "no_response"
    assert [h["action"] for h in r.json()["history"]] == ["escalated", "claimed", "released", "reassigned", "noted", "resolved"]
    r = await client.post(f"/api/v1/support/tickets/{tid}/resolve", headers=agent2, json={"resolution": "no_response"})
    assert r.status_code == 409


async def test_list_filters_breaches_and_cursor(client, users, fake_clock):
    qid, tid, cust = await _escalated(client, users, fake_clock)
    for n in range(3):
        await client.post("/api/v1/questions", headers=cust, json={"title": f"Billing question number {n} here", "body": BODY, "tags": ["billing"]})
    fake_clock.advance(minutes=16)
    assert len((await sweeper.sweep()).created) == 3
    agent = await token_for(client, "agent")
    r = await client.get("/api/v1/support/tickets", headers=agent, params={"state": "open"})
    items = r.json()["items"]
    assert [i["question_id"] for i in items][0] == qid  # the longest past its SLA comes first
    assert len(items) == 4
    r = await client.get("/api/v1/support/tickets", headers=agent, params={"tag": "billing"})
    assert len(r.json()["items"]) == 3
    await client.post(f"/api/v1/support/tickets/{tid}/claim", headers=agent)
    r = await client.get("/api/v1/support/tickets", headers=agent, params={"mine": "1"})
    assert [i["id"] for i in r.json()["items"]] == [tid]
    assert (await client.get("/api/v1/support/tickets", headers=agent, params={"breached": "1"})).json()["items"] == []
    fake_clock.advance(minutes=31)  # past the 30-minute claim SLA for the three unclaimed ones
    breached = (await client.get("/api/v1/support/tickets", headers=agent, params={"breached": "1"})).json()["items"]
    assert len(breached) == 3 and all(i["breaches"]["claim"] for i in breached)
    page1 = (await client.get("/api/v1/support/tickets", headers=agent)).json()
    assert page1["next_cursor"] is None
    tickets.PAGE_SIZE, old = 2, tickets.PAGE_SIZE
    try:
        seen, cursor = [], None
        for _ in range(3):
            body = (await client.get("/api/v1/support/tickets", headers=agent, params={"cursor": cursor} if cursor else {})).json()
            seen += [i["id"] for i in body["items"]]
            cursor = body["next_cursor"]
            if not cursor:
                break
    finally:
        tickets.PAGE_SIZE = old
    assert len(seen) == 4 and len(set(seen)) == 4
    for bad in ({"state": "lost"}, {"cursor": "%%%"}, {"tag": "NO SPACES"}):
        r = await client.get("/api/v1/support/tickets", headers=agent, params=bad)
        assert r.status_code == 422, bad


async def test_asker_asks_for_an_agent_only_after_the_sla_and_moderators_escalate_with_a_reason(client, users, fake_clock):
    await users("cust", 50)
    await users("mod", 1, "moderator")
    await users("other", 50)
    cust, mod, other = [await token_for(client, n) for n in ("cust", "mod", "other")]
    r = await client.post("/api/v1/questions", headers=cust, json={"title": TITLE, "body": BODY, "tags": ["data"]})
    qid = r.json()["id"]
    assert (await client.post(f"/api/v1/questions/{qid}/escalate", json={})).status_code == 401
    r = await client.post(f"/api/v1/questions/{qid}/escalate", headers=other, json={"reason": "please"})
    assert r.status_code == 403
    r = await client.post(f"/api/v1/questions/{qid}/escalate", headers=cust, json={})
    assert r.status_code == 403 and "until" in r.json()["error"]["message"]
    r = await client.post(f"/api/v1/questions/{qid}/escalate", headers=mod, json={})
    assert r.status_code == 422 and r.json()["error"]["field"] == "reason"
    r = await client.post(f"/api/v1/questions/{qid}/escalate", headers=mod, json={"reason": "Outage reports in this area"})
    assert r.status_code == 201 and r.json()["escalation"]["state"] == "open"
    r = await client.post(f"/api/v1/questions/{qid}/escalate", headers=mod, json={"reason": "again"})
    assert r.status_code == 409
    r = await client.post(f"/api/v1/questions/{qid}/de-escalate", headers=mod, json={"reason": "Resolved by the outage fix"})
    assert r.status_code == 200 and r.json()["escalation"]["state"] == "resolved"
    t = await Ticket.get(question_id=qid)
    assert t.resolution == "de_escalated"
    # The sweeper does not bring it back; the asker can, once the SLA has passed.
    fake_clock.advance(minutes=61)
    assert (await sweeper.sweep()).created == []
    await login(client, "cust")
    page = await client.get(f"/questions/{qid}", follow_redirects=True)
    assert "Ask for an agent" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = await client.post(f"/questions/{qid}/escalate", data={"csrf_token": csrf})
    assert r.status_code == 303
    t = await Ticket.get(question_id=qid)
    assert t.state == "open" and t.source == "asker"
    assert "Escalated to our support team" in (await client.get(f"/questions/{qid}", follow_redirects=True)).text


async def test_closing_the_question_resolves_its_ticket(client, users, fake_clock):
    qid, tid, cust = await _escalated(client, users, fake_clock)
    from community import db

    async with db.transaction() as conn:
        await tickets.on_question_closed(qid, "duplicate", conn)
    t = await Ticket.get(id=tid)
    assert t.state == "resolved" and t.resolution == "duplicate"
    qid2 = (await client.post("/api/v1/questions", headers=cust, json={"title": TITLE + " again", "body": BODY, "tags": ["data"]})).json()["id"]
    await client.post(f"/api/v1/questions/{qid2}/escalate", headers=await token_for(client, "agent"), json={"reason": "VIP customer"})
    async with db.transaction() as conn:
        await tickets.on_question_closed(qid2, "off_topic", conn)
    assert (await Ticket.get(question_id=qid2)).resolution == "closed"


async def test_desk_pages_claim_race_message_and_bad_input(client, users, fake_clock):
    qid, tid, _ = await _escalated(client, users, fake_clock)
    await tickets.claim(await User.get(username="agent2"), tid)
    csrf = await login(client, "agent")
    desk = await client.get("/support")
    assert desk.status_code == 200 and TITLE in desk.text and "with agent2" in desk.text
    r = await client.post(f"/support/tickets/{tid}/claim", data={"csrf_token": csrf})
    assert r.status_code == 409 and "agent2 has already claimed this ticket" in r.text
    r = await client.post(f"/support/tickets/{tid}/reply", data={"csrf_token": csrf, "body": "short"})
    assert r.status_code == 422 and "short" in r.text
    for path in ("/support/tickets/999999", "/support/tickets/abc", "/api/v1/support/tickets/99999999999"):
        assert (await client.get(path)).status_code == 404
    r = await client.post(f"/support/tickets/{tid}/explode", data={"csrf_token": csrf})
    assert r.status_code == 404
    r = await client.get("/support", params={"show": "nonsense", "tag": "x" * 50, "cursor": "zzz"})
    assert r.status_code in (200, 422)
    client.cookies.clear()
    agent = await token_for(client, "agent")
    for body in (b"[]", b"{bad", b'{"body": 5}', b'{"body": null}'):
        r = await client.post(f"/api/v1/support/tickets/{tid}/notes", headers={**agent, "content-type": "application/json"}, content=body)
        assert 400 <= r.status_code < 500, body
    r = await client.post(f"/api/v1/support/tickets/{tid}/reassign", headers=agent, json={"assignee": ["x"]})
    assert r.status_code == 403


async def test_openapi_lists_the_support_operations(client):
    paths = (await client.get("/api/v1/openapi.json")).json()["paths"]
    assert "post" in paths["/api/v1/support/tickets/{ticket_id}/claim"]
    assert "post" in paths["/api/v1/questions/{question_id}/escalate"]


async def test_run_py_escalate_once(database, users, fake_clock, monkeypatch):
    asker = await users("asker", 50)
    await questions.ask(asker, "Voicemail number keeps changing back", "Every reboot resets the voicemail number.", "voicemail")
    fake_clock.advance(minutes=61)
    from click.testing import CliRunner

    import run

    async def fake_run(fn):  # the database is already open in this test
        from community.config import Config

        return await fn(Config(database_url=database, run_sweeper=False))

    captured = {}

    def runner(fn):
        captured["coro"] = fake_run(fn)

    cli = run.cli
    from community.support import cli as support_cli

    group = type(cli)(name="t")
    support_cli.register(group, runner)
    result = CliRunner().invoke(group, ["escalate", "--once"])
    assert result.exit_code == 0, result.output
    await captured["coro"]
    assert await Ticket.all().count() == 1
