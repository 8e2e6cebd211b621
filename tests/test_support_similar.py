"""The staff desk's "Similar solved threads": which threads a ticket page offers, "Reply with a link
to this" (an official answer pointing to the thread) and "Resolve as duplicate" (the question closed
as its duplicate and the ticket resolved "duplicate"), their refusals on the page and in the API.

Threads reach the search index through the real outbox and indexer; every test runs on the Whoosh
index, and again on PostgreSQL full-text search when the suite runs on PostgreSQL.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from community import acceptance, questions, slugs
from community.errors import Conflict
from community.models import Post
from community.rendering import markdown
from community.support import duplicates, tickets
from community.support.models import Ticket, TicketEvent
from moderation.models import AuditEntry
from search.indexer import Indexer
from search.web import search_backend
from tests.conftest import PG_URL, login, token_for


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch):
    """Argon2 at its real cost makes each login ~0.1 s; these tests are about tickets."""
    from argon2 import PasswordHasher

    from community import accounts

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture(params=["whoosh", "postgres"])
def backend_name(request) -> str:
    if request.param == "postgres" and not PG_URL:
        pytest.skip("PostgreSQL full-text search runs when the suite runs on PostgreSQL (TEST_DATABASE_URL)")
    return request.param


@pytest.fixture
def config(config, backend_name):
    config.search_backend = backend_name
    return config


BODY = "The personal hotspot on my phone switches itself off after a few minutes, so my laptop loses the connection."


@pytest.fixture
async def desk(app, users, fake_clock):
    """A ticket on a hotspot question; a solved hotspot thread, an unsolved one, and agents."""
    cust = await users("cust", 200)
    helper = await users("helper", 200)
    other = await users("other", 200)
    agent = await users("agent", 1, "staff")
    await users("agent2", 1, "staff")
    solved = await questions.ask(other, "Personal hotspot [5G] keeps switching off by itself",
                                 "My personal hotspot switches off after ten minutes and the laptop drops the connection.",
                                 "hotspot")
    answer = await questions.answer(helper, solved.id, "Turn off the battery saver: it stops the hotspot when idle.")
    await acceptance.accept(other, solved.id, answer.id)
    fake_clock.advance(hours=1)
    unsolved = await questions.ask(other, "Personal hotspot switching off when the screen locks",
                                   "The hotspot switches off whenever the phone screen locks, on every laptop.", "hotspot")
    fake_clock.advance(hours=1)
    asked = await questions.ask(cust, "Personal hotspot keeps switching off on my phone", BODY, "hotspot")
    ticket = await tickets.escalate(agent, asked.id, "The customer phoned about it")
    await Indexer(search_backend(app)).drain()
    return {"question": asked, "solved": solved, "unsolved": unsolved, "ticket": ticket, "agent": agent}


def _listed(html: str) -> list[int]:
    section = html.split('id="similar-heading"', 1)[1].split("</section>", 1)[0]
    return [int(n) for n in re.findall(r'href="/questions/(\d+)/[a-z0-9-]+" class="similar-title"', section)]


async def test_ticket_page_offers_similar_solved_threads_only(app, client, desk):
    q, solved, tid = desk["question"], desk["solved"], desk["ticket"].id
    token = await token_for(client, "agent")
    await login(client, "agent")
    page = await client.get(f"/support/tickets/{tid}")
    assert page.status_code == 200
    assert "Similar solved threads" in page.text
    listed = _listed(page.text)
    assert listed[0] == solved.id  # the solved hotspot thread leads
    assert q.id not in listed and desk["unsolved"].id not in listed  # never itself, never an unsolved thread
    assert len(listed) <= 5
    assert 'aria-label="Reply with a link to this: Personal hotspot [5G] keeps switching off by itself"' in page.text
    assert 'aria-label="Resolve as duplicate of Personal hotspot [5G] keeps switching off by itself"' in page.text
    assert "No solved thread looks similar yet." not in page.text
    # The API lists the same threads.
    client.cookies.clear()
    r = await client.get(f"/api/v1/support/tickets/{tid}/similar", headers=token)
    assert r.status_code == 200
    assert [i["question_id"] for i in r.json()["items"]] == listed
    assert r.json()["items"][0]["state"] == "solved" and r.json()["items"][0]["url"] == f"/questions/{solved.id}"


async def test_without_a_solved_match_the_page_says_so(app, client, users):
    cust = await users("cust", 200)
    agent = await users("agent", 1, "staff")
    q = await questions.ask(cust, "Voicemail greeting resets every morning", "My custom voicemail greeting is gone each day.",
                            "voicemail")
    t = await tickets.escalate(agent, q.id, "Raised on the phone")
    await Indexer(search_backend(app)).drain()
    await login(client, "agent")
    page = await client.get(f"/support/tickets/{t.id}")
    assert page.status_code == 200
    assert "No solved thread looks similar yet." in page.text and "Reply with a link to this" not in page.text


async def test_reply_with_a_link_posts_an_official_answer_pointing_to_the_thread(app, client, desk):
    q, solved, tid = desk["question"], desk["solved"], desk["ticket"].id
    csrf = await login(client, "agent")
    r = await client.post(f"/support/tickets/{tid}/reply-with-link", data={"question_id": str(solved.id), "csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == f"/support/tickets/{tid}"
    reply = await Post.get(question_id=q.id, kind="answer")
    assert reply.official and reply.author_id == desk["agent"].id
    assert f"(/questions/{solved.id})" in reply.body and "accepted answer should solve it" in reply.body
    # The title's brackets are text, not markdown: the link reads exactly as the thread is called.
    assert f'<a href="/questions/{solved.id}" rel="nofollow ugc noopener">Personal hotspot [5G] keeps switching off by itself</a>' \
        in reply.body_html
    t = await Ticket.get(id=tid)
    assert t.state == "claimed" and t.assignee_id == desk["agent"].id and t.first_reply_at is not None
    assert await TicketEvent.filter(ticket_id=tid, action="replied").count() == 1
    thread = await client.get(f"/questions/{q.id}", follow_redirects=True)
    assert f'href="/questions/{solved.id}"' in thread.text


async def test_resolve_as_duplicate_closes_the_question_and_resolves_the_ticket(app, client, desk):
    q, solved, tid, agent = desk["question"], desk["solved"], desk["ticket"].id, desk["agent"]
    csrf = await login(client, "agent")
    r = await client.post(f"/support/tickets/{tid}/resolve-duplicate", data={"question_id": str(solved.id), "csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == f"/support/tickets/{tid}"
    closed = await Post.get(id=q.id)
    assert closed.closed_reason == "duplicate" and closed.duplicate_of_id == solved.id
    t = await Ticket.get(id=tid)
    assert (t.state, t.resolution, t.resolved_by_id) == ("resolved", "duplicate", agent.id)
    resolved = await TicketEvent.filter(ticket_id=tid, action="resolved")
    assert [(e.actor_id, e.detail) for e in resolved] == [(agent.id, f"Duplicate of question {solved.id}: {solved.title}")]
    audit = await AuditEntry.get(action="close", post_id=q.id)
    assert audit.actor_id == agent.id and f"duplicate of question {solved.id}" in audit.reason
    page = await client.get(f"/support/tickets/{tid}")
    assert "Resolved" in page.text and "Duplicate" in page.text
    assert "Resolve as duplicate" not in page.text and "Reply with a link to this" not in page.text
    thread = await client.get(f"/questions/{q.id}", follow_redirects=True)
    assert "Closed as a duplicate" in thread.text and f'href="{slugs.question_path(solved)}"' in thread.text


async def test_refusals_re_render_the_ticket_with_the_reason(app, client, desk):
    q, solved, tid = desk["question"], desk["solved"], desk["ticket"].id
    await tickets.claim(await _user("agent2"), tid)
    csrf = await login(client, "agent")
    page = await client.get(f"/support/tickets/{tid}")
    assert "Reply with a link to this" in page.text and "Resolve as duplicate" not in page.text  # agent2 holds it
    r = await client.post(f"/support/tickets/{tid}/reply-with-link", data={"question_id": str(solved.id), "csrf_token": csrf})
    assert r.status_code == 409 and "agent2 has this ticket" in r.text and 'role="alert"' in r.text
    r = await client.post(f"/support/tickets/{tid}/resolve-duplicate", data={"question_id": str(solved.id), "csrf_token": csrf})
    assert r.status_code == 403 and "agent2 holds this ticket" in r.text
    assert (await Post.get(id=q.id)).closed_reason is None
    assert await Post.filter(question_id=q.id, kind="answer").count() == 0
    r = await client.post(f"/support/tickets/{tid}/resolve-duplicate", data={"question_id": str(q.id), "csrf_token": csrf})
    assert r.status_code == 422 and "this ticket&#39;s own question" in r.text
    r = await client.post(f"/support/tickets/{tid}/resolve-duplicate", data={"question_id": "999999", "csrf_token": csrf})
    assert r.status_code == 404 and "There is no question 999999" in r.text and "Similar solved threads" in r.text
    await tickets.resolve(await _user("agent2"), tid, "answered_by_staff")
    r = await client.post(f"/support/tickets/{tid}/resolve-duplicate", data={"question_id": str(solved.id), "csrf_token": csrf})
    assert r.status_code == 409 and "already resolved (Answered by staff)" in r.text
    r = await client.post(f"/support/tickets/{tid}/reply-with-link", data={"question_id": str(solved.id), "csrf_token": csrf})
    assert r.status_code == 409 and "This ticket is resolved" in r.text
    assert (await Post.get(id=q.id)).closed_reason is None
    assert (await Ticket.get(id=tid)).resolution == "answered_by_staff"


async def test_api_actions_and_their_errors(app, client, desk):
    q, solved, tid = desk["question"], desk["solved"], desk["ticket"].id
    agent = await token_for(client, "agent")
    base = f"/api/v1/support/tickets/{tid}"
    for value, status in (("abc", 422), (None, 422), (True, 422), (1.5, 422), ("١٢", 422), (q.id, 422),
                          (999999, 404), (10**20, 404), (0, 404)):
        for action in ("reply-with-link", "resolve-duplicate"):
            r = await client.post(f"{base}/{action}", headers=agent, json={"question_id": value})
            assert r.status_code == status, (action, value, r.text)
            assert r.json()["error"]["field"] == "question_id"
    r = await client.post(f"{base}/reply-with-link", headers=agent, json={"question_id": solved.id})
    assert r.status_code == 201, r.text
    assert r.json()["official"] is True and f"/questions/{solved.id}" in r.json()["body"]
    assert r.json()["ticket"]["history"][-1]["action"] == "replied"
    r = await client.post(f"{base}/resolve-duplicate", headers=agent, json={"question_id": str(solved.id)})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "resolved" and r.json()["resolution"] == "duplicate"
    assert r.json()["closed"] == {"reason": "duplicate", "duplicate_of": solved.id}
    r = await client.post(f"{base}/resolve-duplicate", headers=agent, json={"question_id": solved.id})
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    member = await token_for(client, "cust")
    assert (await client.post(f"{base}/resolve-duplicate", headers=member, json={"question_id": solved.id})).status_code == 403
    assert (await client.get(f"{base}/similar", headers=member)).status_code == 403
    assert (await client.get(f"{base}/similar")).status_code == 401


async def test_a_question_closed_meanwhile_is_not_closed_twice(app, client, desk, users):
    """A moderator closed the question (which resolves its ticket "duplicate" as the system):
    resolving it again is refused, and nothing changes."""
    from moderation import closing

    q, solved, unsolved, tid = desk["question"], desk["solved"], desk["unsolved"], desk["ticket"].id
    mod = await users("mod", 1, "moderator")
    await closing.vote(mod, q.id, "close", "duplicate", unsolved.id)
    with pytest.raises(Conflict) as err:
        await duplicates.resolve_duplicate(desk["agent"], tid, solved.id)
    assert "already resolved" in err.value.message
    assert (await Post.get(id=q.id)).duplicate_of_id == unsolved.id
    t = await Ticket.get(id=tid)
    assert t.resolution == "duplicate" and t.resolved_by_id is None


def test_link_body_keeps_any_title_as_text():
    post = SimpleNamespace(id=7, title="Roaming *off* in [EU] & <b>UK</b> (help_me) #1 `x`", state="answered")
    html = markdown(duplicates.link_body(post))
    assert '<a href="/questions/7" rel="nofollow ugc noopener">Roaming *off* in [EU] &amp; &lt;b&gt;UK&lt;/b&gt; (help_me) #1 `x`</a>' in html
    assert "the answers there should help" in html


async def _user(name: str):
    from community.models import User

    return await User.get(username=name)
