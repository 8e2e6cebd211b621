"""No request input makes a moderation endpoint answer 500: odd JSON is refused with a 4xx that explains."""

from __future__ import annotations

from community import questions
from tests.conftest import token_for

BODY = "My phone shows no signal at all since Monday, what should I do?"
ODD = [None, True, 1.5, -1, 2**40, "", "x" * 600, [], ["spam"], {}, {"a": 1}]


async def test_odd_values_get_a_clear_4xx(database, users, client):
    author = await users("author", 20)
    await users("mod", 1, "moderator")
    h = await token_for(client, "mod")
    q = await questions.ask(author, "No signal at home since Monday", BODY, "signal")
    calls = []
    for v in ODD:
        calls += [
            ("POST", f"/api/v1/posts/{q.id}/flags", {"reason": v, "message": v}),
            ("POST", f"/api/v1/questions/{q.id}/close", {"reason": "duplicate", "duplicate_of": v}),
            ("POST", f"/api/v1/questions/{q.id}/close", {"reason": v}),
            ("PATCH", f"/api/v1/posts/{q.id}", {"title": v, "body": v, "tags": v, "comment": v}),
            ("POST", f"/api/v1/posts/{q.id}/rollback", {"revision": v}),
            ("POST", f"/api/v1/posts/{q.id}/lock", {"locked": v, "reason": v}),
            ("POST", "/api/v1/review/1", {"decision": v}),
            ("POST", f"/api/v1/users/{author.id}/suspend", {"days": v, "reason": v}),
        ]
    for path in ("/api/v1/posts/abc/flags", "/api/v1/posts/99999999999/lock", "/api/v1/review/-1",
                 "/api/v1/questions/1e9/close", "/api/v1/users/x/suspend"):
        calls.append(("POST", path, {}))
    for method, path, body in calls:
        r = await client.request(method, path, headers=h, json=body)
        assert 400 <= r.status_code < 500, (method, path, body, r.status_code, r.text)
        assert r.json()["error"]["message"], (method, path, body)
    r = await client.post(f"/api/v1/posts/{q.id}/flags", headers={**h, "content-type": "application/json"}, content=b"{not json")
    assert r.status_code == 400
    for params in ({"before": "x"}, {"user_id": "-3"}, {"actor": "x" * 100}, {"action": "%00"}):
        r = await client.get("/api/v1/moderation/log", headers=h, params=params)
        assert r.status_code == 422, (params, r.text)
    r = await client.get("/api/v1/review", headers=h, params={"queue": "nope"})
    assert r.status_code == 422


async def test_every_moderation_operation_is_in_the_openapi_document(database, client):
    paths = (await client.get("/api/v1/openapi.json")).json()["paths"]
    wanted = [("post", "/api/v1/posts/{post_id}/flags"), ("get", "/api/v1/review"), ("post", "/api/v1/review/{item_id}"),
              ("post", "/api/v1/questions/{question_id}/close"), ("post", "/api/v1/questions/{question_id}/reopen"),
              ("patch", "/api/v1/posts/{post_id}"), ("delete", "/api/v1/posts/{post_id}"),
              ("get", "/api/v1/posts/{post_id}/revisions"), ("post", "/api/v1/posts/{post_id}/rollback"),
              ("post", "/api/v1/posts/{post_id}/lock"), ("post", "/api/v1/posts/{post_id}/undelete"),
              ("post", "/api/v1/users/{user_id}/suspend"), ("get", "/api/v1/moderation/log")]
    missing = [(m, p) for m, p in wanted if m not in paths.get(p, {})]
    assert missing == []
    assert "comment" in paths["/api/v1/posts/{post_id}"]["patch"]["requestBody"]["content"]["application/json"]["schema"]["properties"]
