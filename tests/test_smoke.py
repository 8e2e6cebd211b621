"""A first pass through the whole loop: ask, answer, vote, accept, reputation."""

from __future__ import annotations

from tests.conftest import login, token_for


async def test_ask_answer_vote_accept_moves_reputation(client, users):
    await users("asker")
    await users("helper")
    await users("voter", 200)
    asker, helper, voter = [await token_for(client, n) for n in ("asker", "helper", "voter")]

    r = await client.post("/api/v1/questions", headers=asker,
                          json={"title": "eSIM will not activate on my new phone", "body": "The profile downloads but there is no service.", "tags": ["esim"]})
    assert r.status_code == 201, r.text
    qid = r.json()["id"]
    assert r.json()["state"] == "unanswered"

    r = await client.post(f"/api/v1/questions/{qid}/answers", headers=helper, json={"body": "Switch the eSIM line on in mobile data settings."})
    assert r.status_code == 201
    aid = r.json()["id"]

    r = await client.post(f"/api/v1/posts/{aid}/vote", headers=voter, json={"value": 1})
    assert r.json() == {"score": 1, "value": 1}
    r = await client.post(f"/api/v1/questions/{qid}/accept", headers=asker, json={"answer_id": aid})
    assert r.status_code == 200

    q = (await client.get(f"/api/v1/questions/{qid}")).json()
    assert q["state"] == "solved" and q["accepted_answer_id"] == aid
    assert q["answers"][0]["accepted"] is True and q["answers"][0]["score"] == 1

    me = (await client.get("/api/v1/me", headers=helper)).json()
    assert me["reputation"] == 1 + 10 + 15
    me = (await client.get("/api/v1/me", headers=asker)).json()
    assert me["reputation"] == 1 + 2


async def test_pages_render_and_forms_keep_text(client, users):
    await users("pat")
    csrf = await login(client, "pat")
    r = await client.post("/questions/ask", data={"title": "short", "body": "My phone shows no signal at all since Monday.", "tags": "signal", "csrf_token": csrf})
    assert r.status_code == 422
    assert "at least 15 characters" in r.text
    assert "My phone shows no signal at all since Monday." in r.text
    r = await client.post("/questions/ask", data={"title": "No signal at home since Monday", "body": "My phone shows no signal at all since Monday.", "tags": "signal", "csrf_token": csrf})
    assert r.status_code == 303
    page = await client.get(r.headers["location"])
    assert page.status_code == 200 and "No signal at home since Monday" in page.text
