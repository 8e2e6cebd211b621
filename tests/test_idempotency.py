"""Idempotency-Key on API writes (issue 12): a retry with the same key returns the first response
and writes nothing; a retry while the first still runs gets 409; another method, path or body 422; a 5xx
frees the key; keys belong to one member (or address) and last 24 hours."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from community import questions
from community.models import IdempotentResponse, Post, User
from tests.conftest import login, token_for

QUESTION = {"title": "My eSIM profile will not download", "body": "The QR code scans but the download never finishes.",
            "tags": ["esim"]}


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


async def _question_count() -> int:
    return await Post.filter(kind="question").count()


async def test_a_retry_with_the_same_key_returns_the_first_response_and_writes_nothing(client, users):
    await users("asker")
    auth = await token_for(client, "asker")
    first = await client.post("/api/v1/questions", headers=keyed(auth, "k-1"), json=QUESTION)
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    again = await client.post("/api/v1/questions", headers=keyed(auth, "k-1"), json=QUESTION)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json() and again.headers["content-type"] == "application/json"
    assert await _question_count() == 1

    other = await client.post("/api/v1/questions", headers=keyed(auth, "k-2"), json=QUESTION)
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    plain = await client.post("/api/v1/questions", headers=auth, json=QUESTION)  # no key: an ordinary write
    assert plain.status_code == 201
    assert await _question_count() == 3
    row = await IdempotentResponse.get(key="k-1")
    assert (row.method, row.path, row.status) == ("POST", "/api/v1/questions", 201)
    assert row.principal == f"user:{(await User.get(username='asker')).id}"


async def test_the_same_key_with_another_body_is_refused_and_writes_nothing(client, users):
    await users("asker")
    auth = await token_for(client, "asker")
    first = await client.post("/api/v1/questions", headers=keyed(auth, "k-body"), json=QUESTION)
    assert first.status_code == 201
    changed = {**QUESTION, "title": "My eSIM profile will not download at all"}
    r = await client.post("/api/v1/questions", headers=keyed(auth, "k-body"), json=changed)
    assert r.status_code == 422 and "idempotent-replayed" not in r.headers
    assert r.json()["error"]["field"] == "Idempotency-Key" and "different request body" in r.json()["error"]["message"]
    assert await _question_count() == 1
    # The handler still reads the body the middleware read first: the stored question is the first one.
    assert (await Post.get(kind="question")).title == QUESTION["title"]
    again = await client.post("/api/v1/questions", headers=keyed(auth, "k-body"), json=QUESTION)
    assert again.status_code == 201 and again.json() == first.json()


async def test_a_keyed_body_over_the_limit_is_413_not_a_crash(client, users):
    await users("asker")
    auth = await token_for(client, "asker")

    async def chunks():  # streamed without a length, so only reading it finds the size
        for _ in range(20):
            yield b"x" * 8192

    r = await client.post("/api/v1/questions", headers={**keyed(auth, "k-big"), "content-type": "application/json"},
                          content=chunks())
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    assert await IdempotentResponse.filter(key="k-big").count() == 0


async def test_keys_belong_to_one_member_and_answer_anonymous_sign_ups_too(app, client, users):
    await users("asker")
    await users("other")
    a, b = await token_for(client, "asker"), await token_for(client, "other")
    ra = await client.post("/api/v1/questions", headers=keyed(a, "shared"), json=QUESTION)
    rb = await client.post("/api/v1/questions", headers=keyed(b, "shared"), json=QUESTION)
    assert ra.status_code == rb.status_code == 201 and ra.json()["author"]["username"] == "asker"
    assert rb.json()["author"]["username"] == "other" and "idempotent-replayed" not in rb.headers
    assert await _question_count() == 2

    signup = {"username": "newbie", "email": "newbie@example.com", "password": "password123"}
    first = await client.post("/api/v1/users", headers={"Idempotency-Key": "signup-1"}, json=signup)
    again = await client.post("/api/v1/users", headers={"Idempotency-Key": "signup-1"}, json=signup)
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    # The same key from another address is another client's: it runs (and finds the name taken).
    elsewhere = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("203.0.113.9", 4000)), base_url="http://test")
    async with elsewhere:
        r = await elsewhere.post("/api/v1/users", headers={"Idempotency-Key": "signup-1"}, json=signup)
    assert r.status_code == 409 and "idempotent-replayed" not in r.headers
    assert await User.filter(username="newbie").count() == 1


async def test_a_retry_while_the_first_runs_gets_409_and_another_path_422(client, users, monkeypatch):
    await users("asker")
    auth = await token_for(client, "asker")
    entered, release = asyncio.Event(), asyncio.Event()
    real_ask = questions.ask

    async def slow_ask(*args, **kwargs):
        entered.set()
        await release.wait()
        return await real_ask(*args, **kwargs)

    monkeypatch.setattr(questions, "ask", slow_ask)
    first = asyncio.create_task(client.post("/api/v1/questions", headers=keyed(auth, "slow"), json=QUESTION))
    await entered.wait()
    busy = await client.post("/api/v1/questions", headers=keyed(auth, "slow"), json=QUESTION)
    assert busy.status_code == 409 and busy.headers["retry-after"] == "2"
    assert busy.json()["error"]["code"] == "in_progress" and busy.json()["error"]["field"] == "Idempotency-Key"
    release.set()
    done = await first
    assert done.status_code == 201
    monkeypatch.setattr(questions, "ask", real_ask)

    elsewhere = await client.post(f"/api/v1/questions/{done.json()['id']}/answers", headers=keyed(auth, "slow"),
                                  json={"body": "Connect to Wi-Fi first and try the download again."})
    assert elsewhere.status_code == 422 and "POST /api/v1/questions" in elsewhere.json()["error"]["message"]
    replay = await client.post("/api/v1/questions", headers=keyed(auth, "slow"), json=QUESTION)
    assert replay.status_code == 201 and replay.json() == done.json()
    assert await _question_count() == 1 and await Post.filter(kind="answer").count() == 0


async def test_concurrent_requests_with_one_key_write_once(client, users):
    await users("asker")
    auth = await token_for(client, "asker")
    responses = await asyncio.gather(*[
        client.post("/api/v1/questions", headers=keyed(auth, "burst"), json=QUESTION) for _ in range(6)])
    statuses = sorted(r.status_code for r in responses)
    assert await _question_count() == 1
    written = [r for r in responses if r.status_code == 201]
    assert written and set(statuses) <= {201, 409}, statuses
    assert all(r.json() == written[0].json() for r in written)
    assert sum("idempotent-replayed" not in r.headers for r in written) == 1


async def test_a_server_error_frees_the_key_and_refusals_of_the_moment_are_not_kept(client, users, monkeypatch):
    await users("asker")
    auth = await token_for(client, "asker")
    real_ask = questions.ask
    calls = []

    async def failing_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the database went away")
        return await real_ask(*args, **kwargs)

    monkeypatch.setattr(questions, "ask", failing_once)
    broken = await client.post("/api/v1/questions", headers=keyed(auth, "retry-me"), json=QUESTION)
    assert broken.status_code == 500
    assert await IdempotentResponse.filter(key="retry-me").count() == 0
    retried = await client.post("/api/v1/questions", headers=keyed(auth, "retry-me"), json=QUESTION)
    assert retried.status_code == 201 and "idempotent-replayed" not in retried.headers
    assert await _question_count() == 1

    # A validation error is the answer to that request: kept and replayed; a corrected body needs a new key.
    bad = await client.post("/api/v1/questions", headers=keyed(auth, "bad"), json={**QUESTION, "title": "x"})
    assert bad.status_code == 422
    same = await client.post("/api/v1/questions", headers=keyed(auth, "bad"), json={**QUESTION, "title": "x"})
    assert same.status_code == 422 and same.headers["idempotent-replayed"] == "true" and same.json() == bad.json()
    fixed = await client.post("/api/v1/questions", headers=keyed(auth, "bad"), json=QUESTION)
    assert fixed.status_code == 422 and "different request body" in fixed.json()["error"]["message"]

    # A cookie session without its CSRF header is refused (403); that refusal is not kept.
    csrf = await login(client, "asker")
    refused = await client.post("/api/v1/questions", headers={"Idempotency-Key": "cookie"}, json=QUESTION)
    assert refused.status_code == 403
    accepted = await client.post("/api/v1/questions", headers={"Idempotency-Key": "cookie", "X-CSRF-Token": csrf},
                                 json=QUESTION)
    assert accepted.status_code == 201 and "idempotent-replayed" not in accepted.headers
    assert await _question_count() == 2


@pytest.mark.parametrize("key", ["k" * 256, "tab\there", "ключ", ""])
async def test_a_malformed_key_is_refused_naming_the_header(client, users, key):
    await users("asker")
    auth = await token_for(client, "asker")
    r = await client.post("/api/v1/questions", headers=[*auth.items(), ("Idempotency-Key", key.encode())],
                          json=QUESTION)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == "Idempotency-Key" and "255" in r.json()["error"]["message"]
    assert await _question_count() == 0
    ok = await client.post("/api/v1/questions", headers=keyed(auth, "k" * 255), json=QUESTION)
    assert ok.status_code == 201


async def test_keys_last_24_hours_and_old_ones_are_pruned(client, users, fake_clock):
    await users("asker")
    auth = await token_for(client, "asker")
    first = await client.post("/api/v1/questions", headers=keyed(auth, "daily"), json=QUESTION)
    fake_clock.advance(hours=23)
    assert (await client.post("/api/v1/questions", headers=keyed(auth, "daily"), json=QUESTION)).json() == first.json()
    await client.post("/api/v1/questions", headers=keyed(auth, "later"), json=QUESTION)
    fake_clock.advance(hours=2)
    assert await _question_count() == 2
    again = await client.post("/api/v1/questions", headers=keyed(auth, "daily"), json=QUESTION)
    assert again.status_code == 201 and again.json()["id"] != first.json()["id"]
    assert await _question_count() == 3
    assert sorted(r.key for r in await IdempotentResponse.all()) == ["daily", "later"]
    fake_clock.advance(hours=25)  # the next keyed write prunes the rows older than a day
    await client.post("/api/v1/questions", headers=keyed(auth, "fresh"), json=QUESTION)
    assert [r.key for r in await IdempotentResponse.all()] == ["fresh"]


async def test_the_openapi_document_offers_the_header_on_writes(client):
    doc = (await client.get("/api/v1/openapi.json")).json()
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            names = [p["name"] for p in op.get("parameters", []) if p["in"] == "header"]
            assert names == (["Idempotency-Key"] if method in ("post", "put", "patch", "delete") else []), (method, path)
