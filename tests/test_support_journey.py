"""Browser journey: a customer's question passes its (two-second) SLA and shows as escalated; an
agent claims it from the desk and replies; the customer sees the official answer in the thread
and the inbox, accepts it, and the ticket is resolved as answered by staff.

The live server runs the real clock and its own sweeper (every second), so this one journey
waits a few real seconds, polling, for the escalation to happen.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.browser import assert_fits_width, new_page, log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def live_server_env() -> dict[str, str]:
    return {"SLA_FIRST_ANSWER": "2s", "ESCALATION_SWEEP_SECONDS": "1s", "RUN_INDEXER": "0"}


async def test_escalated_question_is_claimed_answered_and_resolved(live_server, browser, phone_page, users):
    await users("customer", 20)
    await users("agent_ann", 1, "staff")
    url = live_server.url

    customer = phone_page
    await log_in(customer, url, "customer")
    await customer.goto(url + "/questions/ask")
    await customer.get_by_label("Title").fill("Mobile data stopped after my bundle renewed")
    await customer.get_by_label("Details").fill("Since the renewal this morning the phone shows 4G but nothing loads.")
    await customer.get_by_label("Tags").fill("data")
    await customer.get_by_role("button", name="Post your question").click()
    await customer.wait_for_url(re.compile(r".*/questions/\d+/[a-z0-9-]+$"))
    question_url = customer.url

    # Nobody answers: within a few seconds the sweeper escalates it and the thread says so.
    for _ in range(40):
        await customer.goto(question_url)
        if await customer.get_by_text("Escalated to our support team").count():
            break
        await asyncio.sleep(0.5)
    else:
        pytest.fail("the question was not escalated:\n" + live_server.log())
    await assert_fits_width(customer)

    agent = await new_page(browser)
    await log_in(agent, url, "agent_ann")
    await agent.get_by_role("link", name="Support desk").click()
    await agent.get_by_role("link", name="Mobile data stopped after my bundle renewed").click()
    await agent.get_by_role("button", name="Claim").click()
    await agent.wait_for_load_state()
    assert "agent_ann" in await agent.locator(".ticket-facts").inner_text()
    await agent.get_by_label("Official reply (posted in the public thread)").fill(
        "Sorry about that. Please switch mobile data off and on; your bundle's settings were resent.")
    await agent.get_by_role("button", name="Post official reply").click()
    await agent.wait_for_load_state()

    await customer.goto(question_url)
    official = customer.locator(".official-answer")
    assert await official.count() == 1
    assert "Official support" in await official.inner_text()
    assert "agent_ann from our support team is on it" in await customer.locator(".support-notice").inner_text()
    await customer.goto(url + "/inbox")
    assert await customer.get_by_text("Our support team replied to your question").count() == 1
    await assert_fits_width(customer)
    await customer.goto(question_url)
    await customer.get_by_role("button", name="Accept this answer").click()
    await customer.wait_for_load_state()
    assert await customer.get_by_text("Accepted answer").first.is_visible()

    await agent.reload()
    facts = await agent.locator(".ticket-facts").inner_text()
    assert "Resolved" in facts and "Answered by staff" in facts
    history = await agent.locator(".history").inner_text()
    assert "customer · Resolved" in history
