"""Who may work a ticket: a suspended agent reads the desk but cannot act on it, and another
agent's ticket is resolved by a lead or after its holder releases it. Notes stay open to every
agent (colleagues chip in on each other's tickets)."""

from __future__ import annotations

import pytest

from community.errors import Conflict
from community.models import User
from community.support import sweeper, tickets
from community.support.models import Ticket, TicketNote
from moderation import members
from tests.conftest import login, token_for


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch):
    """Argon2 at its real cost makes each login ~0.1 s; these tests are about tickets."""
    from argon2 import PasswordHasher

    from community import accounts

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


async def _ticket(client, users, fake_clock) -> int:
    """A member's question past its SLA, swept into a ticket; agents, a lead and a moderator."""
    for name, role in (("agent", "staff"), ("agent2", "staff"), ("lead", "admin"), ("lead2", "admin"), ("mod", "moderator")):
        await users(name, 1, role)
    await users("cust", 50)
    r = await client.post("/api/v1/questions", headers=await token_for(client, "cust"),
                          json={"title": "Data stopped working after topping up",
                                "body": "I topped up yesterday and mobile data has not worked since.", "tags": ["data"]})
    assert r.status_code == 201, r.text
    fake_clock.advance(minutes=61)
    return (await sweeper.sweep()).created[0]


async def test_a_suspended_agent_reads_the_desk_but_cannot_act(client, users, fake_clock):
    tid = await _ticket(client, users, fake_clock)
    base = f"/api/v1/support/tickets/{tid}"
    assert (await client.post(f"{base}/claim", headers=await token_for(client, "agent2"))).status_code == 200
    mod, lead2 = await User.get(username="mod"), await User.get(username="lead2")
    await members.suspend(mod, (await User.get(username="agent")).id, 3, "rude replies to customers")
    await members.suspend(lead2, (await User.get(username="lead")).id, 3, "rude replies to customers")
    agent, lead = await token_for(client, "agent"), await token_for(client, "lead")  # logged in after the suspension
    assert (await client.get("/api/v1/support/tickets", headers=agent)).status_code == 200
    assert (await client.get(base, headers=agent)).status_code == 200
    for who, action, body in [(agent, "claim", {}), (agent, "notes", {"body": "Checking the APN settings."}),
                              (agent, "reply", {"body": "Please restart the phone after topping up, then try again."}),
                              (agent, "resolve", {"resolution": "no_response"}), (lead, "release", {}),
                              (lead, "reassign", {"assignee": "agent"}), (lead, "resolve", {"resolution": "no_response"})]:
        r = await client.post(f"{base}/{action}", headers=who, json=body)
        assert r.status_code == 403, (action, r.text)
        message = r.json()["error"]["message"]
        assert "suspended until" in message and "you can read the desk but not" in message, message
        assert "rude replies to customers" in message
    t = await Ticket.get(id=tid)
    assert (t.state, t.assignee_id) == ("claimed", (await User.get(username="agent2")).id)
    assert not await TicketNote.exists()
    # The desk page says so too, and keeps the agent's text.
    csrf = await login(client, "agent")
    page = await client.post(f"/support/tickets/{tid}/notes", data={"body": "Checking the APN settings.", "csrf_token": csrf})
    assert page.status_code == 403 and "you can read the desk but not" in page.text and "Checking the APN settings." in page.text
    # Lifted: the agent works again.
    await members.suspend(mod, (await User.get(username="agent")).id, 0, "")
    assert (await client.post(f"{base}/notes", headers=agent, json={"body": "Back on it."})).status_code == 201


async def test_another_agents_ticket_is_resolved_by_a_lead_or_after_a_release(client, users, fake_clock):
    tid = await _ticket(client, users, fake_clock)
    base = f"/api/v1/support/tickets/{tid}"
    agent, agent2, lead = [await token_for(client, n) for n in ("agent", "agent2", "lead")]
    assert (await client.post(f"{base}/claim", headers=agent)).status_code == 200
    r = await client.post(f"{base}/resolve", headers=agent2, json={"resolution": "no_response"})
    assert r.status_code == 403
    assert r.json()["error"]["message"] == "agent holds this ticket; ask them to release it, or a lead can resolve it."
    assert (await Ticket.get(id=tid)).state == "claimed"
    # Notes are open to every agent, held or not.
    r = await client.post(f"{base}/notes", headers=agent2, json={"body": "Same issue as last week's ticket."})
    assert r.status_code == 201
    # The page offers agent2 no resolve form, says why, and refuses a forged one the same way.
    csrf = await login(client, "agent2")
    page = await client.get(f"/support/tickets/{tid}")
    assert f'action="/support/tickets/{tid}/resolve"' not in page.text
    assert "agent holds this ticket; ask them to release it, or a lead can resolve it." in page.text
    page = await client.post(f"/support/tickets/{tid}/resolve", data={"resolution": "no_response", "csrf_token": csrf})
    assert page.status_code == 403 and "ask them to release it" in page.text
    # A lead resolves a ticket someone else holds.
    r = await client.post(f"{base}/resolve", headers=lead, json={"resolution": "answered_by_staff"})
    assert r.status_code == 200 and r.json()["resolution"] == "answered_by_staff"
    assert (await Ticket.get(id=tid)).resolved_by_id == (await User.get(username="lead")).id
    # Escalated again: once its holder releases it, agent2 may resolve it.
    qid = (await Ticket.get(id=tid)).question_id
    r = await client.post(f"/api/v1/questions/{qid}/escalate", headers=lead, json={"reason": "customer wrote again"})
    assert r.status_code == 201, r.text
    assert (await client.post(f"{base}/claim", headers=agent)).status_code == 200
    assert (await client.post(f"{base}/resolve", headers=agent2, json={"resolution": "no_response"})).status_code == 403
    assert (await client.post(f"{base}/release", headers=agent)).status_code == 200
    r = await client.post(f"{base}/resolve", headers=agent2, json={"resolution": "no_response"})
    assert r.status_code == 200 and r.json()["state"] == "resolved"
    assert (await Ticket.get(id=tid)).resolved_by_id == (await User.get(username="agent2")).id


async def test_a_claim_made_while_another_agent_resolves_wins(client, users, fake_clock, monkeypatch):
    tid = await _ticket(client, users, fake_clock)
    agent, agent2 = await User.get(username="agent"), await User.get(username="agent2")
    stale = await tickets.load(tid)  # what agent2's resolve reads: open, nobody holds it...
    await tickets.claim(agent, tid)  # ...and agent's claim commits before the resolve writes
    load = tickets.load

    async def read_before_the_claim(ticket_id, conn=None):  # the read inside resolve's transaction
        return stale if conn is not None else await load(ticket_id, conn)

    monkeypatch.setattr(tickets, "load", read_before_the_claim)
    with pytest.raises(Conflict) as err:
        await tickets.resolve(agent2, tid, "no_response")
    assert "changed meanwhile" in err.value.message
    t = await Ticket.get(id=tid)
    assert (t.state, t.assignee_id, t.resolved_by_id) == ("claimed", agent.id, None)

