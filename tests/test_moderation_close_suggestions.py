"""The close form suggests likely originals: similar threads (solved first), never the question
itself nor a question already closed as a duplicate; each is a radio of the form, so choosing one
closes as its duplicate without JavaScript, and a refused form keeps the choice.

Threads reach the search index through the real outbox and indexer; every test runs on the Whoosh
index, and again on PostgreSQL full-text search when the suite runs on PostgreSQL.
"""

from __future__ import annotations

import re

import pytest

from community import acceptance, questions
from community.models import Post
from moderation import closing
from search.indexer import Indexer
from search.web import search_backend
from tests.conftest import PG_URL, login


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch):
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


@pytest.fixture
async def threads(app, users, fake_clock):
    """An original (solved), an unsolved look-alike, one already closed as a duplicate, and the new question."""
    author = await users("author", 200)
    helper = await users("helper", 200)
    mod = await users("mod", 1, "moderator")
    await users("voter", 3000)
    body = "Since the update my voicemail greeting goes back to the default one every single morning."
    original = await questions.ask(author, "Voicemail greeting resets to default every morning", body, "voicemail")
    answer = await questions.answer(helper, original.id, "Record the greeting again after switching off visual voicemail.")
    await acceptance.accept(author, original.id, answer.id)
    fake_clock.advance(hours=1)
    lookalike = await questions.ask(author, "Voicemail greeting resets after a phone restart", body, "voicemail")
    fake_clock.advance(hours=1)
    closed = await questions.ask(author, "Voicemail greeting resets to default every day", body, "voicemail")
    await closing.vote(mod, closed.id, "close", "duplicate", original.id)
    fake_clock.advance(hours=1)
    new = await questions.ask(author, "My voicemail greeting resets to default each morning", body, "voicemail")
    await Indexer(search_backend(app)).drain()
    return {"original": original, "lookalike": lookalike, "closed": closed, "new": new}


def _offered(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'name="suggested_original" value="(\d+)"', html)]


async def test_the_close_form_offers_likely_originals(app, client, threads):
    new = threads["new"]
    await login(client, "voter")
    page = await client.get(f"/questions/{new.id}/close")
    assert page.status_code == 200
    offered = _offered(page.text)
    assert offered[0] == threads["original"].id  # solved first
    assert threads["lookalike"].id in offered  # any state
    assert new.id not in offered and threads["closed"].id not in offered
    assert len(offered) <= 5
    assert "Likely originals, for duplicates" in page.text
    assert f'<label for="original-{threads["original"].id}">Voicemail greeting resets to default every morning</label>' in page.text
    assert '<label for="duplicate_of">Or another original question (id or link)</label>' in page.text
    # A closed question's form (reopen) offers nothing.
    page = await client.get(f"/questions/{threads['closed'].id}/close")
    assert page.status_code == 200 and _offered(page.text) == []


async def test_choosing_a_suggestion_closes_as_its_duplicate(app, client, threads, users):
    new, original = threads["new"], threads["original"]
    csrf = await login(client, "mod")
    r = await client.post(f"/questions/{new.id}/close",
                          data={"reason": "duplicate", "suggested_original": str(original.id), "duplicate_of": "", "csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == f"/questions/{new.id}"
    closed = await Post.get(id=new.id)
    assert (closed.closed_reason, closed.duplicate_of_id) == ("duplicate", original.id)
    # Choosing an original with no reason ticked means "duplicate".
    other = threads["lookalike"]
    r = await client.post(f"/questions/{other.id}/close",
                          data={"suggested_original": str(original.id), "duplicate_of": "", "csrf_token": csrf})
    assert r.status_code == 303
    closed = await Post.get(id=other.id)
    assert (closed.closed_reason, closed.duplicate_of_id) == ("duplicate", original.id)


async def test_a_typed_original_wins_and_a_refused_form_keeps_the_choice(app, client, threads):
    new, original, lookalike = threads["new"], threads["original"], threads["lookalike"]
    csrf = await login(client, "voter")
    r = await client.post(f"/questions/{new.id}/close",
                          data={"reason": "duplicate", "suggested_original": str(original.id), "duplicate_of": "not an id",
                                "csrf_token": csrf})
    assert r.status_code == 422 and "Give the id (or link) of the original question." in r.text
    assert f'id="original-{original.id}" name="suggested_original" value="{original.id}" checked>' in r.text
    assert 'value="not an id"' in r.text and 'id="reason-duplicate" name="reason" value="duplicate" checked' in r.text
    r = await client.post(f"/questions/{new.id}/close",
                          data={"reason": "duplicate", "suggested_original": str(original.id),
                                "duplicate_of": f"http://test/questions/{lookalike.id}", "csrf_token": csrf})
    assert r.status_code == 303
    vote = await closing._tally(await Post.get(id=new.id), "close", None)
    assert [(v.reason, v.duplicate_of_id) for v in vote] == [("duplicate", lookalike.id)]
