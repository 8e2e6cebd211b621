"""The JSON API of issue 2: every endpoint's status codes and shapes, cursor pagination for each
sort, privilege refusals, acceptance rules, and the OpenAPI document."""

from __future__ import annotations

from datetime import timedelta

import pytest

from community import questions
from community.models import Post, ReputationEvent, User
from tests.conftest import token_for

QUESTION = {"title": "My eSIM profile will not download", "body": "The QR code scans but the download never finishes.",
            "tags": ["esim", "iphone"]}
ANSWER = {"body": "Connect to Wi-Fi first; the profile download needs a data connection."}

USER_KEYS = {"id", "username", "reputation", "role"}
QUESTION_KEYS = {"id", "title", "tags", "state", "score", "answer_count", "accepted_answer_id", "created_at",
                 "last_activity_at", "author", "closed", "escalation"}
ANSWER_KEYS = {"id", "question_id", "score", "body", "body_html", "author", "accepted", "official", "created_at",
               "edited_at", "comments"}


def _error(r, status: int, code: str, field: str | None = None) -> str:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) == {"code", "message", "field"} and err["code"] == code and err["field"] == field, err
    assert len(err["message"]) > 10
    return err["message"]


async def _ask(client, headers, **changes) -> dict:
    r = await client.post("/api/v1/questions", headers=headers, json={**QUESTION, **changes})
    assert r.status_code == 201, r.text
    return r.json()


async def test_the_whole_loop_with_shapes_and_status_codes(client, users):
    asker_row = await users("asker")
    await users("helper")
    await users("voter", 200)
    asker, helper, voter = [await token_for(client, n) for n in ("asker", "helper", "voter")]

    r = await client.post("/api/v1/users", json={"username": "newbie", "email": "newbie@example.com", "password": "password123"})
    assert r.status_code == 201
    assert set(r.json()) == USER_KEYS | {"display_name", "created_at", "about", "email"} and r.json()["reputation"] == 1

    me = (await client.get("/api/v1/me", headers=asker)).json()
    assert me["id"] == asker_row.id and me["email"] == "asker@example.com"
    assert (await client.get("/api/v1/me")).status_code == 401

    q = await _ask(client, asker)
    assert QUESTION_KEYS | {"body", "body_html", "comments", "answers"} <= set(q)
    assert q["state"] == "unanswered" and q["tags"] == ["esim", "iphone"] and q["score"] == 0 and q["answers"] == []
    assert q["author"] == {"id": asker_row.id, "username": "asker", "reputation": 1, "role": "member"}
    assert q["body_html"] == "<p>The QR code scans but the download never finishes.</p>\n"

    r = await client.post(f"/api/v1/questions/{q['id']}/answers", headers=asker, json=ANSWER)
    assert r.status_code == 201
    own = r.json()
    assert (await client.get(f"/api/v1/questions/{q['id']}")).json()["state"] == "unanswered"  # only the asker answered
    r = await client.post(f"/api/v1/questions/{q['id']}/answers", headers=helper, json=ANSWER)
    assert r.status_code == 201
    a = r.json()
    assert set(a) == ANSWER_KEYS and a["accepted"] is False and a["author"]["username"] == "helper"

    r = await client.post(f"/api/v1/posts/{a['id']}/comments", headers=asker, json={"body": "That worked, thanks!"})
    assert r.status_code == 201
    assert set(r.json()) == {"id", "post_id", "body", "body_html", "author", "created_at"}
    assert r.json()["post_id"] == a["id"] and r.json()["author"]["username"] == "asker"

    assert (await client.post(f"/api/v1/posts/{a['id']}/vote", headers=voter, json={"value": 1})).json() == {"score": 1, "value": 1}
    assert (await client.post(f"/api/v1/posts/{q['id']}/vote", headers=voter, json={"value": -1})).json() == {"score": -1, "value": -1}
    assert (await client.post(f"/api/v1/posts/{q['id']}/vote", headers=voter, json={"value": 0})).json() == {"score": 0, "value": 0}

    r = await client.post(f"/api/v1/questions/{q['id']}/accept", headers=asker, json={"answer_id": a["id"]})
    assert r.status_code == 200 and r.json() == {"question_id": q["id"], "accepted_answer_id": a["id"]}

    full = (await client.get(f"/api/v1/questions/{q['id']}")).json()
    assert full["state"] == "solved" and full["accepted_answer_id"] == a["id"]
    assert [x["id"] for x in full["answers"]] == [a["id"], own["id"]]  # accepted first
    assert full["answers"][0]["accepted"] is True and full["answers"][0]["score"] == 1
    assert full["answers"][0]["comments"][0]["body"] == "That worked, thanks!"
    assert full["answers"][1]["accepted"] is False

    helper_row = await User.get(username="helper")
    user = (await client.get(f"/api/v1/users/{helper_row.id}")).json()
    assert set(user) == USER_KEYS | {"display_name", "created_at", "about"} and user["reputation"] == 1 + 10 + 15
    ledger = (await client.get(f"/api/v1/users/{helper_row.id}/reputation")).json()
    assert ledger["reputation"] == 26 and ledger["user_id"] == helper_row.id
    assert [(e["amount"], e["reason"]) for e in ledger["items"]] == [(15, "accepted"), (10, "upvoted")]
    assert set(ledger["items"][0]) == {"id", "amount", "reason", "ref", "post_id", "created_at", "day"}
    asker_ledger = (await client.get(f"/api/v1/users/{asker_row.id}/reputation")).json()
    assert asker_ledger["reputation"] == 1 + 2  # the downvote was retracted: -2 and +2 cancel

    r = await client.delete(f"/api/v1/questions/{q['id']}/accept", headers=asker)
    assert r.status_code == 200 and r.json() == {"question_id": q["id"], "accepted_answer_id": None}
    assert (await client.get(f"/api/v1/users/{helper_row.id}")).json()["reputation"] == 11
    assert (await client.get(f"/api/v1/questions/{q['id']}")).json()["state"] == "answered"

    notes = (await client.get("/api/v1/notifications", headers=helper)).json()
    assert notes["unread"] == 2 and {n["kind"] for n in notes["items"]} == {"accepted", "comment"}
    privs = (await client.get("/api/v1/privileges", headers=voter)).json()["items"]
    assert {"name": "upvote", "title": "vote up", "reputation": 15, "earned": True}.items() <= privs[0].items()

    for path in ("/api/v1/users/999999", "/api/v1/users/999999/reputation", "/api/v1/questions/999999",
                 "/api/v1/users/abc", f"/api/v1/questions/{a['id']}", "/api/v1/questions/99999999999999999999"):
        _error(await client.get(path), 404, "not_found")


async def test_privilege_refusals_name_the_privilege_and_reputation(client, users):
    await users("asker")
    await users("novice")
    await users("middling", 60)
    asker, novice, middling = [await token_for(client, n) for n in ("asker", "novice", "middling")]
    q = await _ask(client, asker)
    a = (await client.post(f"/api/v1/questions/{q['id']}/answers", headers=asker, json=ANSWER)).json()

    msg = _error(await client.post(f"/api/v1/posts/{q['id']}/vote", headers=novice, json={"value": 1}), 403, "not_allowed", "upvote")
    assert msg == "You need the 'vote up' privilege, which takes 15 reputation (you have 1)."
    msg = _error(await client.post(f"/api/v1/posts/{a['id']}/vote", headers=middling, json={"value": -1}), 403, "not_allowed", "downvote")
    assert msg == "You need the 'vote down' privilege, which takes 125 reputation (you have 60)."
    msg = _error(await client.post(f"/api/v1/posts/{a['id']}/comments", headers=novice, json={"body": "Me too!"}), 403, "not_allowed", "comment")
    assert "'comment everywhere' privilege, which takes 50 reputation" in msg
    assert (await client.post(f"/api/v1/posts/{a['id']}/comments", headers=middling, json={"body": "Me too!"})).status_code == 201
    assert (await client.post(f"/api/v1/posts/{a['id']}/vote", headers=middling, json={"value": 1})).status_code == 200
    assert (await Post.get(id=a["id"])).score == 1


async def test_own_post_vote_refused_and_self_acceptance_earns_nothing(client, users):
    await users("asker", 200)
    await users("helper")
    asker, helper = await token_for(client, "asker"), await token_for(client, "helper")
    q = await _ask(client, asker)
    msg = _error(await client.post(f"/api/v1/posts/{q['id']}/vote", headers=asker, json={"value": 1}), 403, "not_allowed")
    assert msg == "You cannot vote on your own post."
    own = (await client.post(f"/api/v1/questions/{q['id']}/answers", headers=asker, json=ANSWER)).json()
    other = (await client.post(f"/api/v1/questions/{q['id']}/answers", headers=helper, json=ANSWER)).json()

    r = await client.post(f"/api/v1/questions/{q['id']}/accept", headers=asker, json={"answer_id": own["id"]})
    assert r.status_code == 200
    asker_row = await User.get(username="asker")
    assert asker_row.reputation == 200
    assert not await ReputationEvent.filter(ref=f"accept:{q['id']}").exists()
    assert (await client.get(f"/api/v1/questions/{q['id']}")).json()["state"] == "solved"

    _error(await client.post(f"/api/v1/questions/{q['id']}/accept", headers=helper, json={"answer_id": other["id"]}), 403, "not_allowed")
    r = await client.post(f"/api/v1/questions/{q['id']}/accept", headers=asker, json={"answer_id": other["id"]})
    assert r.status_code == 200
    assert (await User.get(username="asker")).reputation == 202
    assert (await User.get(username="helper")).reputation == 16


async def test_switching_the_accepted_answer_moves_the_15(client, users):
    await users("asker")
    for n in ("ann", "ben"):
        await users(n)
    asker, ann, ben = [await token_for(client, n) for n in ("asker", "ann", "ben")]
    q = await _ask(client, asker)
    a1 = (await client.post(f"/api/v1/questions/{q['id']}/answers", headers=ann, json=ANSWER)).json()
    a2 = (await client.post(f"/api/v1/questions/{q['id']}/answers", headers=ben, json=ANSWER)).json()

    async def reps() -> tuple[int, int, int]:
        return tuple([(await User.get(username=n)).reputation for n in ("asker", "ann", "ben")])

    await client.post(f"/api/v1/questions/{q['id']}/accept", headers=asker, json={"answer_id": a1["id"]})
    assert await reps() == (3, 16, 1)
    r = await client.post(f"/api/v1/questions/{q['id']}/accept", headers=asker, json={"answer_id": a1["id"]})
    assert r.status_code == 200 and await reps() == (3, 16, 1)  # idempotent
    await client.post(f"/api/v1/questions/{q['id']}/accept", headers=asker, json={"answer_id": a2["id"]})
    assert await reps() == (3, 1, 16)
    full = (await client.get(f"/api/v1/questions/{q['id']}")).json()
    assert [x["accepted"] for x in full["answers"]] == [True, False] and full["answers"][0]["id"] == a2["id"]
    await client.delete(f"/api/v1/questions/{q['id']}/accept", headers=asker)
    assert await reps() == (1, 1, 1)
    r = await client.delete(f"/api/v1/questions/{q['id']}/accept", headers=asker)
    assert r.status_code == 200 and await reps() == (1, 1, 1)


async def _community(users, fake_clock) -> dict[int, Post]:
    """45 questions with ties on every sort key, some answered, some solved, two tags."""
    author = await users("author", 100)  # past the new-member limit of questions per day
    made: dict[int, Post] = {}
    for i in range(45):
        q = await questions.ask(author, f"Question number {i:02d} about roaming", "Some body text that is long enough.",
                                ["roaming" if i % 3 else "billing"])
        if i % 4 == 0:
            fake_clock.advance(minutes=7)  # ties: four questions share each time
        made[q.id] = q
    ids = list(made)
    for n, qid in enumerate(ids):
        await Post.filter(id=qid).update(score=n % 5 - 2, state=("unanswered", "answered", "solved")[n % 3],
                                         last_activity_at=made[qid].created_at + timedelta(hours=n % 6))
    return {q.id: q for q in await Post.filter(id__in=ids)}


async def _walk(client, query: str) -> list[dict]:
    seen, cursor, pages = [], None, 0
    while True:
        r = await client.get(f"/api/v1/questions?{query}" + (f"&cursor={cursor}" if cursor else ""))
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"items", "next_cursor"}
        assert len(body["items"]) <= questions.PAGE_SIZE
        seen += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
        assert len(body["items"]) == questions.PAGE_SIZE and pages < 10


@pytest.mark.parametrize("sort", ["newest", "active", "unanswered", "unsolved", "votes"])
async def test_cursor_pagination_has_no_duplicates_or_gaps(client, users, fake_clock, sort):
    rows = await _community(users, fake_clock)
    wanted = {
        "newest": lambda q: True, "active": lambda q: True, "votes": lambda q: True,
        "unanswered": lambda q: q.state == "unanswered", "unsolved": lambda q: q.state != "solved",
    }[sort]
    key = {"newest": "created_at", "active": "last_activity_at", "unanswered": "created_at", "unsolved": "created_at",
           "votes": "score"}[sort]
    expected = sorted((q for q in rows.values() if wanted(q)), key=lambda q: (getattr(q, key), q.id), reverse=True)

    seen = await _walk(client, f"sort={sort}")
    assert [x["id"] for x in seen] == [q.id for q in expected]
    assert len(seen) == len({x["id"] for x in seen})
    assert set(QUESTION_KEYS) <= set(seen[0])

    tagged = await _walk(client, f"sort={sort}&tag=roaming")
    assert [x["id"] for x in tagged] == [q.id for q in expected if "roaming" in q.tag_names]


async def test_list_questions_rejects_bad_sorts_tags_and_cursors(client, database):
    _error(await client.get("/api/v1/questions?sort=random"), 422, "invalid", "sort")
    _error(await client.get("/api/v1/questions?tag=<b>"), 422, "invalid", "tag")
    _error(await client.get("/api/v1/questions?cursor=not-a-cursor"), 422, "invalid", "cursor")
    _error(await client.get("/api/v1/questions?sort=votes&cursor=WyJ4IiwgMV0"), 422, "invalid", "cursor")  # ["x", 1]
    r = await client.get("/api/v1/questions?tag=nothing-here")
    assert r.json() == {"items": [], "next_cursor": None}


async def test_openapi_lists_every_path_of_the_foundation(client, app):
    doc = (await client.get("/api/v1/openapi.json")).json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for method, path in [
        ("post", "/api/v1/users"), ("post", "/api/v1/tokens"), ("delete", "/api/v1/tokens/current"),
        ("get", "/api/v1/me"), ("get", "/api/v1/users/{user_id}"), ("get", "/api/v1/users/{user_id}/reputation"),
        ("get", "/api/v1/questions"), ("post", "/api/v1/questions"), ("get", "/api/v1/questions/{question_id}"),
        ("post", "/api/v1/questions/{question_id}/answers"), ("post", "/api/v1/questions/{question_id}/accept"),
        ("delete", "/api/v1/questions/{question_id}/accept"), ("post", "/api/v1/posts/{post_id}/vote"),
        ("post", "/api/v1/posts/{post_id}/comments"), ("get", "/api/v1/notifications"), ("get", "/api/v1/privileges"),
    ]:
        assert method in paths.get(path, {}), (method, path)
    # Every route the app serves under /api/v1 is described. A served `{action}` segment counts as
    # described when the document lists its literal actions (`.../claim`, `.../resolve`).
    served = {r.path for r in app.routes if getattr(r, "path", "").startswith("/api/v1/") and r.path != "/api/v1/openapi.json"}

    def described(route: str) -> bool:
        parts = route.split("/")
        return any(len(d.split("/")) == len(parts) and all(a == b or (a.startswith("{") and not b.startswith("{"))
                                                             for a, b in zip(parts, d.split("/"), strict=True))
                   for d in paths)

    assert not [r for r in served if not described(r)], [r for r in served if not described(r)]
    assert set(doc["paths"]["/api/v1/questions"]["get"]["parameters"][i]["name"] for i in range(3)) == {"sort", "tag", "cursor"}
