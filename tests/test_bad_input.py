"""Every form and API endpoint of the foundation, fed missing, too long, wrong-typed and hostile
input: each answers a 4xx with a clear message, forms come back with the person's text, and
nothing is written. Markdown bodies lose scripts, event handlers and `javascript:` links."""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from community import accounts, db
from community.models import Comment, Post
from tests.conftest import login

TABLES = ("user", "post", "comment", "vote", "reputation_event", "notification", "tag", "post_tag", "api_token")
TITLE = "Data roaming stopped working in Spain"
BODY = "I switched roaming on but the phone shows no data connection at all."
HUGE = 10**30


async def _counts() -> dict[str, int]:
    return {t: int((await db.fetch(f'SELECT COUNT(*) AS n FROM "{t}"'))[0]["n"]) for t in TABLES}


@dataclass
class World:
    q: int  # asker's question
    a: int  # helper's answer to it
    own_a: int  # the asker's own answer
    other_q: int  # a question by "other", with an answer by helper
    other_a: int
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)


@pytest.fixture
async def world(client, users) -> World:
    from community import questions

    asker = await users("asker", 200)
    helper = await users("helper")
    other = await users("other", 200)
    q = await questions.ask(asker, TITLE, BODY, ["roaming"])
    a = await questions.answer(helper, q.id, "Check that the APN is set to the network's internet APN.")
    own = await questions.answer(asker, q.id, "Answering my own question with what I tried so far.")
    oq = await questions.ask(other, "Top-up did not arrive on my account", BODY, ["top-up"])
    oa = await questions.answer(helper, oq.id, "Top-ups can take fifteen minutes to show up in the app.")
    w = World(q.id, a.id, own.id, oq.id, oa.id)
    for member in (asker, helper, other):
        w.tokens[member.username] = {"Authorization": f"Bearer {await accounts.issue_token(member)}"}
    return w


# --- The API --------------------------------------------------------------------------------

# (label, method, path, who, body, status, code, field). Paths use {q}, {a}, {own_a}, {other_q}, {other_a}.
# body: a dict/list/str is sent as JSON; bytes are sent raw.
Q = {"title": TITLE, "body": BODY, "tags": ["roaming"]}
API_CASES: list[tuple[str, str, str, str | None, Any, int, str, str | None]] = [
    # Missing fields.
    ("sign-up, nothing", "POST", "/api/v1/users", None, {}, 422, "invalid", "username"),
    ("sign-up, no password", "POST", "/api/v1/users", None, {"username": "newbie", "email": "n@example.com"}, 422, "invalid", "password"),
    ("sign-up, no email", "POST", "/api/v1/users", None, {"username": "newbie", "password": "password123"}, 422, "invalid", "email"),
    ("token, nothing", "POST", "/api/v1/tokens", None, {}, 422, "invalid", "username"),
    ("ask, nothing", "POST", "/api/v1/questions", "asker", {}, 422, "invalid", "title"),
    ("ask, no tags", "POST", "/api/v1/questions", "asker", {"title": TITLE, "body": BODY}, 422, "invalid", "tags"),
    ("ask, no body", "POST", "/api/v1/questions", "asker", {"title": TITLE, "tags": ["x"]}, 422, "invalid", "body"),
    ("answer, nothing", "POST", "/api/v1/questions/{q}/answers", "helper", {}, 422, "invalid", "body"),
    ("vote, nothing", "POST", "/api/v1/posts/{a}/vote", "asker", {}, 422, "invalid", "value"),
    ("accept, nothing", "POST", "/api/v1/questions/{q}/accept", "asker", {}, 422, "invalid", "answer_id"),
    ("comment, nothing", "POST", "/api/v1/posts/{a}/comments", "asker", {}, 422, "invalid", "body"),
    ("comment, blank", "POST", "/api/v1/posts/{a}/comments", "asker", {"body": "   "}, 422, "invalid", "body"),
    # Not logged in.
    ("ask, anonymous", "POST", "/api/v1/questions", None, Q, 401, "not_authenticated", None),
    ("answer, anonymous", "POST", "/api/v1/questions/{q}/answers", None, {"body": BODY}, 401, "not_authenticated", None),
    ("vote, anonymous", "POST", "/api/v1/posts/{a}/vote", None, {"value": 1}, 401, "not_authenticated", None),
    ("accept, anonymous", "POST", "/api/v1/questions/{q}/accept", None, {"answer_id": "{a}"}, 401, "not_authenticated", None),
    ("unaccept, anonymous", "DELETE", "/api/v1/questions/{q}/accept", None, None, 401, "not_authenticated", None),
    ("comment, anonymous", "POST", "/api/v1/posts/{a}/comments", None, {"body": "Thanks!"}, 401, "not_authenticated", None),
    ("revoke, anonymous", "DELETE", "/api/v1/tokens/current", None, None, 401, "not_authenticated", None),
    ("me, anonymous", "GET", "/api/v1/me", None, None, 401, "not_authenticated", None),
    ("notifications, anonymous", "GET", "/api/v1/notifications", None, None, 401, "not_authenticated", None),
    # Too long.
    ("sign-up, long name", "POST", "/api/v1/users", None, {"username": "n" * 31, "email": "n@example.com", "password": "password123"}, 422, "invalid", "username"),
    ("sign-up, long email", "POST", "/api/v1/users", None, {"username": "newbie", "email": "n" * 250 + "@example.com", "password": "password123"}, 422, "invalid", "email"),
    ("sign-up, long password", "POST", "/api/v1/users", None, {"username": "newbie", "email": "n@example.com", "password": "p" * 201}, 422, "invalid", "password"),
    ("ask, long title", "POST", "/api/v1/questions", "asker", {**Q, "title": "t" * 151}, 422, "invalid", "title"),
    ("ask, long body", "POST", "/api/v1/questions", "asker", {**Q, "body": "b" * 30001}, 422, "invalid", "body"),
    ("ask, six tags", "POST", "/api/v1/questions", "asker", {**Q, "tags": ["a", "b", "c", "d", "e", "f"]}, 422, "invalid", "tags"),
    ("ask, long tag", "POST", "/api/v1/questions", "asker", {**Q, "tags": ["t" * 36]}, 422, "invalid", "tags"),
    ("ask, short title", "POST", "/api/v1/questions", "asker", {**Q, "title": "No data"}, 422, "invalid", "title"),
    ("answer, long", "POST", "/api/v1/questions/{q}/answers", "helper", {"body": "b" * 30001}, 422, "invalid", "body"),
    ("answer, short", "POST", "/api/v1/questions/{q}/answers", "helper", {"body": "Try again."}, 422, "invalid", "body"),
    ("comment, long", "POST", "/api/v1/posts/{a}/comments", "asker", {"body": "c" * 601}, 422, "invalid", "body"),
    # Wrong types.
    ("sign-up, numeric name", "POST", "/api/v1/users", None, {"username": 12345, "email": "n@example.com", "password": "password123"}, 422, "invalid", "username"),
    ("sign-up, list password", "POST", "/api/v1/users", None, {"username": "newbie", "email": "n@example.com", "password": ["password123"]}, 422, "invalid", "password"),
    ("token, object name", "POST", "/api/v1/tokens", None, {"username": {"a": 1}, "password": "password123"}, 422, "invalid", "username"),
    ("ask, numeric title", "POST", "/api/v1/questions", "asker", {**Q, "title": 123456789012345678}, 422, "invalid", "title"),
    ("ask, object body", "POST", "/api/v1/questions", "asker", {**Q, "body": {"text": BODY}}, 422, "invalid", "body"),
    ("ask, numeric tags", "POST", "/api/v1/questions", "asker", {**Q, "tags": [1, 2]}, 422, "invalid", "tags"),
    ("ask, object tags", "POST", "/api/v1/questions", "asker", {**Q, "tags": {"roaming": True}}, 422, "invalid", "tags"),
    ("answer, list body", "POST", "/api/v1/questions/{q}/answers", "helper", {"body": [BODY]}, 422, "invalid", "body"),
    ("vote, word", "POST", "/api/v1/posts/{a}/vote", "asker", {"value": "up"}, 422, "invalid", "value"),
    ("vote, two", "POST", "/api/v1/posts/{a}/vote", "asker", {"value": 2}, 422, "invalid", "value"),
    ("vote, true", "POST", "/api/v1/posts/{a}/vote", "asker", {"value": True}, 422, "invalid", "value"),
    ("vote, null", "POST", "/api/v1/posts/{a}/vote", "asker", {"value": None}, 422, "invalid", "value"),
    ("vote, fraction", "POST", "/api/v1/posts/{a}/vote", "asker", {"value": 0.5}, 422, "invalid", "value"),
    ("vote, huge", "POST", "/api/v1/posts/{a}/vote", "asker", {"value": HUGE}, 422, "invalid", "value"),
    ("accept, word", "POST", "/api/v1/questions/{q}/accept", "asker", {"answer_id": "first"}, 422, "invalid", "answer_id"),
    ("accept, list", "POST", "/api/v1/questions/{q}/accept", "asker", {"answer_id": ["{a}"]}, 422, "invalid", "answer_id"),
    ("accept, true", "POST", "/api/v1/questions/{q}/accept", "asker", {"answer_id": True}, 422, "invalid", "answer_id"),
    ("accept, float", "POST", "/api/v1/questions/{q}/accept", "asker", {"answer_id": 2.0}, 422, "invalid", "answer_id"),
    ("accept, fraction", "POST", "/api/v1/questions/{q}/accept", "asker", {"answer_id": "{a}.5"}, 422, "invalid", "answer_id"),
    ("comment, list", "POST", "/api/v1/posts/{a}/comments", "asker", {"body": ["Thanks!"]}, 422, "invalid", "body"),
    # Unknown ids, huge integers, other people's posts.
    ("answer, unknown question", "POST", "/api/v1/questions/999999/answers", "helper", {"body": BODY}, 404, "not_found", None),
    ("answer, huge id", "POST", f"/api/v1/questions/{HUGE}/answers", "helper", {"body": BODY}, 404, "not_found", None),
    ("answer, to an answer", "POST", "/api/v1/questions/{a}/answers", "helper", {"body": BODY}, 404, "not_found", None),
    ("vote, unknown post", "POST", "/api/v1/posts/999999/vote", "asker", {"value": 1}, 404, "not_found", None),
    ("vote, huge id", "POST", f"/api/v1/posts/{HUGE}/vote", "asker", {"value": 1}, 404, "not_found", None),
    ("vote, word id", "POST", "/api/v1/posts/first/vote", "asker", {"value": 1}, 404, "not_found", None),
    ("vote, own post", "POST", "/api/v1/posts/{q}/vote", "asker", {"value": 1}, 403, "not_allowed", None),
    ("vote, no privilege", "POST", "/api/v1/posts/{a}/vote", "helper", {"value": 1}, 403, "not_allowed", "upvote"),
    ("accept, huge answer id", "POST", "/api/v1/questions/{q}/accept", "asker", {"answer_id": HUGE}, 404, "not_found", "answer_id"),
    ("accept, unknown answer", "POST", "/api/v1/questions/{q}/accept", "asker", {"answer_id": 999999}, 404, "not_found", "answer_id"),
    ("accept, another question's answer", "POST", "/api/v1/questions/{q}/accept", "asker", {"answer_id": "{other_a}"}, 404, "not_found", "answer_id"),
    ("accept, the question itself", "POST", "/api/v1/questions/{q}/accept", "asker", {"answer_id": "{q}"}, 404, "not_found", "answer_id"),
    ("accept, someone else's question", "POST", "/api/v1/questions/{other_q}/accept", "asker", {"answer_id": "{other_a}"}, 403, "not_allowed", None),
    ("unaccept, someone else's question", "DELETE", "/api/v1/questions/{other_q}/accept", "asker", None, 403, "not_allowed", None),
    ("accept, unknown question", "POST", "/api/v1/questions/999999/accept", "asker", {"answer_id": "{a}"}, 404, "not_found", None),
    ("comment, unknown post", "POST", "/api/v1/posts/999999/comments", "asker", {"body": "Thanks!"}, 404, "not_found", None),
    ("comment, no privilege", "POST", "/api/v1/posts/{other_q}/comments", "helper", {"body": "Thanks!"}, 403, "not_allowed", "comment"),
    # Hostile.
    ("ask, script tag", "POST", "/api/v1/questions", "asker", {**Q, "tags": ["<script>"]}, 422, "invalid", "tags"),
    ("sign-up, script name", "POST", "/api/v1/users", None, {"username": "<script>", "email": "n@example.com", "password": "password123"}, 422, "invalid", "username"),
    ("sign-up, taken name", "POST", "/api/v1/users", None, {"username": "ASKER", "email": "n@example.com", "password": "password123"}, 409, "conflict", "username"),
    ("token, wrong password", "POST", "/api/v1/tokens", None, {"username": "asker", "password": "not-the-password"}, 422, "invalid", "password"),
    ("malformed JSON", "POST", "/api/v1/questions", "asker", b'{"title": "x", ', 400, "bad_request", None),
    ("JSON array", "POST", "/api/v1/questions", "asker", [Q], 400, "bad_request", None),
    ("JSON string", "POST", "/api/v1/posts/{a}/vote", "asker", "1", 400, "bad_request", None),
    ("JSON number", "POST", "/api/v1/questions/{q}/accept", "asker", 5, 400, "bad_request", None),
    ("deeply nested JSON", "POST", "/api/v1/posts/{a}/comments", "asker", b"[" * 30000 + b"]" * 30000, 400, "bad_request", None),
    ("not UTF-8", "POST", "/api/v1/users", None, b"\xff\xfe\x00{", 400, "bad_request", None),
    ("1 MB body", "POST", "/api/v1/questions", "asker", {**Q, "body": "b" * 1_000_000}, 413, "too_large", None),
    ("1 MB answer", "POST", "/api/v1/questions/{q}/answers", "helper", {"body": "b" * 1_000_000}, 413, "too_large", None),
    ("1 MB sign-up", "POST", "/api/v1/users", None, {"username": "x" * 1_000_000}, 413, "too_large", None),
    ("revoked-looking token", "GET", "/api/v1/me", "bogus", None, 401, "not_authenticated", None),
]


def _fill(value: Any, w: World) -> Any:
    ids = {"q": w.q, "a": w.a, "own_a": w.own_a, "other_q": w.other_q, "other_a": w.other_a}
    if isinstance(value, str):
        whole = re.fullmatch(r"\{(\w+)\}", value)
        if whole and whole.group(1) in ids:
            return ids[whole.group(1)]
        return re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), value)
    if isinstance(value, dict):
        return {k: _fill(v, w) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, w) for v in value]
    return value


async def test_api_refuses_bad_input_with_clear_errors_and_writes_nothing(client, world):
    problems = []
    for label, method, path, who, body, status, code, field_name in API_CASES:
        headers = dict(world.tokens.get(who, {})) if who != "bogus" else {"Authorization": "Bearer revoked-or-made-up"}
        kwargs: dict[str, Any] = {}
        if isinstance(body, bytes):
            kwargs["content"] = body
            headers["content-type"] = "application/json"
        elif body is not None:
            kwargs["content"] = json.dumps(_fill(body, world))
            headers["content-type"] = "application/json"
        before = await _counts()
        r = await client.request(method, _fill(path, world), headers=headers, **kwargs)
        after = await _counts()
        try:
            err = r.json().get("error") if r.headers.get("content-type", "").startswith("application/json") else None
        except ValueError:
            err = None
        wrong = []
        if r.status_code != status:
            wrong.append(f"status {r.status_code}")
        if not isinstance(err, dict) or set(err) != {"code", "message", "field"}:
            wrong.append(f"shape {r.text[:120]!r}")
        else:
            if err["code"] != code:
                wrong.append(f"code {err['code']}")
            if err["field"] != field_name:
                wrong.append(f"field {err['field']}")
            if not isinstance(err["message"], str) or len(err["message"]) < 15 or not err["message"][0].isupper():
                wrong.append(f"message {err['message']!r}")
        if after != before:
            wrong.append(f"wrote {[(t, before[t], after[t]) for t in TABLES if before[t] != after[t]]}")
        if wrong:
            problems.append(f"{label}: {', '.join(wrong)} ({r.text[:160]})")
    assert not problems, "\n".join(problems)


async def _chunks(size: int) -> AsyncIterator[bytes]:
    for _ in range(size // 65536 + 1):
        yield b"b" * 65536


async def test_a_streamed_1_mb_body_without_a_length_is_refused_with_413(client, world):
    before = await _counts()
    r = await client.post("/api/v1/questions", headers={**world.tokens["asker"], "content-type": "application/json"},
                          content=_chunks(1_000_000))
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    csrf = await login(client, "asker")
    r = await client.post("/questions/ask", content=_chunks(1_000_000),
                          headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413 and "larger than 512 KB" in r.text  # the composer's forms take a post's 30,000 characters in any script
    assert csrf and await _counts() == before


async def test_cookie_authenticated_api_writes_need_the_csrf_header(client, world):
    csrf = await login(client, "asker")
    before = await _counts()
    r = await client.post(f"/api/v1/posts/{world.a}/vote", json={"value": 1})
    assert r.status_code == 403 and "X-CSRF-Token" in r.json()["error"]["message"]
    r = await client.post(f"/api/v1/posts/{world.a}/vote", json={"value": 1}, headers={"x-csrf-token": "forged"})
    assert r.status_code == 403
    assert await _counts() == before
    r = await client.post(f"/api/v1/posts/{world.a}/vote", json={"value": 1}, headers={"x-csrf-token": csrf})
    assert r.status_code == 200 and r.json()["score"] == 1


# --- The forms ------------------------------------------------------------------------------

# (label, path, fields, status, text the page must show: the message and the person's own words)
FORM_CASES: list[tuple[str, str, dict[str, str], int, list[str]]] = [
    ("ask, missing title", "/questions/ask", {"body": BODY, "tags": "roaming"}, 422, ["at least 15 characters", BODY]),
    ("ask, long title", "/questions/ask", {"title": "Roaming " * 20, "body": BODY, "tags": "roaming"}, 422, ["Keep the title to 150", "Roaming Roaming", BODY]),
    ("ask, short body", "/questions/ask", {"title": TITLE, "body": "help", "tags": "roaming"}, 422, ["Write at least 20", TITLE]),
    ("ask, long body", "/questions/ask", {"title": TITLE, "body": "x" * 30001, "tags": "roaming"}, 422, ["Keep it to 30000", "x" * 30001]),
    ("ask, no tags", "/questions/ask", {"title": TITLE, "body": BODY, "tags": ""}, 422, ["Add at least one tag", TITLE]),
    ("ask, six tags", "/questions/ask", {"title": TITLE, "body": BODY, "tags": "a b c d e f"}, 422, ["at most 5 tags", "a b c d e f"]),
    ("ask, hostile tag", "/questions/ask", {"title": TITLE, "body": BODY, "tags": "<script>alert(1)</script>"}, 422,
     ["may use only a-z", "&lt;script&gt;alert(1)&lt;/script&gt;"]),
    ("ask, hostile title kept escaped", "/questions/ask", {"title": '<img src=x onerror="alert(1)">', "body": "short", "tags": "x"}, 422,
     ["&lt;img src=x onerror=&#34;alert(1)&#34;&gt;"]),
    ("answer, short", "/questions/{q}/answers", {"body": "Try again."}, 422, ["Write at least 20", "Try again."]),
    ("answer, long", "/questions/{q}/answers", {"body": "y" * 30001}, 422, ["Keep it to 30000", "y" * 30001]),
    ("answer, missing", "/questions/{q}/answers", {}, 422, ["Write at least 20"]),
    ("comment, long", "/posts/{a}/comments", {"body": "z" * 601}, 422, ["Comments are 2 to 600", "z" * 601]),
    ("comment, blank", "/posts/{a}/comments", {"body": " "}, 422, ["Comments are 2 to 600"]),
    ("vote, word", "/posts/{a}/vote", {"value": "up"}, 422, ["A vote is 1 (up)"]),
    ("vote, missing", "/posts/{a}/vote", {}, 422, ["A vote is 1 (up)"]),
    ("vote, own post", "/posts/{q}/vote", {"value": "1"}, 403, ["You cannot vote on your own post."]),
    ("vote, unknown post", "/posts/999999/vote", {"value": "1"}, 404, ["no post with that id"]),
    ("vote, huge id", f"/posts/{HUGE}/vote", {"value": "1"}, 404, ["no post with that id"]),
    ("accept, word", "/questions/{q}/accept", {"answer_id": "first"}, 422, ["Say which answer to accept"]),
    ("accept, other question's answer", "/questions/{q}/accept", {"answer_id": "{other_a}"}, 404, ["does not belong to this question"]),
    ("accept, someone else's question", "/questions/{other_q}/accept", {"answer_id": "{other_a}"}, 403, ["Only the person who asked"]),
    ("answer, unknown question", "/questions/999999/answers", {"body": BODY}, 404, ["no question with that id"]),
    ("comment, unknown post", "/posts/999999/comments", {"body": "Thanks!"}, 404, ["no post with that id"]),
    ("edit, too short", "/posts/{own_a}/edit", {"body": "tiny"}, 422, ["Write at least 20", "tiny"]),
    ("edit, unknown post", "/posts/999999/edit", {"body": BODY}, 404, ["no post with that id"]),
]


async def test_forms_refuse_bad_input_keep_the_text_and_write_nothing(client, world):
    csrf = await login(client, "asker")
    problems = []
    for label, path, fields, status, shows in FORM_CASES:
        data = {k: _fill(v, world) for k, v in fields.items()}
        data = {k: str(v) for k, v in data.items()}
        for forged in (False, True):
            before = await _counts()
            r = await client.post(_fill(path, world), data={**data, "csrf_token": "forged" if forged else csrf})
            after = await _counts()
            wrong = []
            if forged:
                # An unknown id may be reported before the token is checked; either way nothing happens.
                if not (r.status_code == 403 and "This form has expired" in r.text or r.status_code == status == 404):
                    wrong.append(f"forged CSRF gave {r.status_code}")
            else:
                if r.status_code != status:
                    wrong.append(f"status {r.status_code}")
                missing = [s[:40] for s in shows if s not in r.text]
                if missing:
                    wrong.append(f"page lacks {missing}")
                if not r.headers.get("content-type", "").startswith("text/html"):
                    wrong.append("not a page")
            if after != before:
                wrong.append(f"wrote {[(t, before[t], after[t]) for t in TABLES if before[t] != after[t]]}")
            if wrong:
                problems.append(f"{label}{' (forged CSRF)' if forged else ''}: {', '.join(wrong)}")
    assert not problems, "\n".join(problems)


async def test_anonymous_forms_refuse_bad_input_and_keep_the_text(client, world):
    problems = []
    cases = [
        ("sign-up, hostile name", "/signup", {"username": "<b>x</b>", "email": "me@example.com", "password": "password123"}, 422,
         ["Choose a username of 3 to 30", "&lt;b&gt;x&lt;/b&gt;", "me@example.com"]),
        ("sign-up, bad email", "/signup", {"username": "newbie", "email": "not-an-email", "password": "password123"}, 422,
         ["Enter an email address", 'value="newbie"']),
        ("sign-up, short password", "/signup", {"username": "newbie", "email": "me@example.com", "password": "short"}, 422,
         ["at least 8 characters", 'value="newbie"']),
        ("sign-up, missing", "/signup", {}, 422, ["Choose a username"]),
        ("log-in, missing password", "/login", {"username": "asker"}, 422, ["Enter your username and password", 'value="asker"']),
        ("log-in, wrong password", "/login", {"username": "asker", "password": "wrong-password"}, 422, ["do not match", 'value="asker"']),
        ("forgot, empty", "/forgot", {"identifier": "  "}, 422, ["Enter your username or email"]),
        ("reset, garbage token", "/reset/garbage", {"password": "new password"}, 403, ["not valid"]),
        ("ask, anonymous", "/questions/ask", {"title": TITLE, "body": BODY, "tags": "x"}, 303, []),
    ]
    page = await client.get("/signup")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    for label, path, data, status, shows in cases:
        before = await _counts()
        r = await client.post(path, data={**data, "csrf_token": csrf})
        after = await _counts()
        wrong = []
        if r.status_code != status:
            wrong.append(f"status {r.status_code}")
        if status == 303 and not r.headers.get("location", "").startswith("/login"):
            wrong.append(f"went to {r.headers.get('location')}")
        missing = [s for s in shows if s not in r.text]
        if missing:
            wrong.append(f"page lacks {missing}")
        if {t: n for t, n in after.items()} != before:
            wrong.append(f"wrote {[(t, before[t], after[t]) for t in TABLES if before[t] != after[t]]}")
        if wrong:
            problems.append(f"{label}: {', '.join(wrong)}")
    before = await _counts()
    r = await client.post("/signup", data={"username": "newbie", "email": "me@example.com", "password": "password123", "csrf_token": "forged"})
    assert r.status_code == 403 and await _counts() == before
    r = await client.post("/signup", content=b"username=" + b"x" * 1_000_000, headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413 and "larger than 64 KB" in r.text
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", ["/questions/abc", f"/questions/{HUGE}", "/questions/-1", "/users/abc", f"/users/{HUGE}",
                                  "/users/999999", f"/posts/{HUGE}/edit", "/tags/<script>", "/reset/x.y.z"])
async def test_pages_for_unknown_or_hostile_addresses_say_so(client, world, path):
    await login(client, "asker")
    r = await client.get(path)
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:200])
    assert "Something went wrong on our side" not in r.text
    assert "<script>" not in r.text


@pytest.mark.parametrize("path", [f"/api/v1/questions/{HUGE}", f"/api/v1/users/{HUGE}", f"/api/v1/users/{HUGE}/reputation",
                                  "/api/v1/users/-5", "/api/v1/questions?sort=%00", "/api/v1/questions?cursor=%FF%FE",
                                  "/api/v1/questions?tag=" + "a" * 5000])
async def test_api_reads_with_hostile_parameters_say_so(client, world, path):
    r = await client.get(path)
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:200])
    assert set(r.json()["error"]) == {"code", "message", "field"}


# --- Sanitising -----------------------------------------------------------------------------

HOSTILE = """Here is what I tried:

<script>alert('x')</script>

<img src="x" onerror="alert(1)">

<a href="javascript:alert(1)">click me</a>

[also me](javascript:alert(2)) and [encoded](jav&#x09;ascript:alert(3)) and <JaVaScRiPt:alert(7)>

<p onclick="alert(4)" style="color:red">styled</p>

<iframe src="https://evil.example"></iframe>

[fine](https://example.com/help)
"""
DANGEROUS_URL = re.compile(r"""(href|src)\s*=\s*["']?\s*(javascript|vbscript|data):""", re.I)


async def test_bodies_render_without_scripts_handlers_or_javascript_links(client, world):
    headers = world.tokens["asker"]
    r = await client.post("/api/v1/questions", headers=headers, json={"title": "Hostile markdown in a question body", "body": HOSTILE, "tags": ["test"]})
    assert r.status_code == 201
    qid = r.json()["id"]
    r = await client.post(f"/api/v1/questions/{qid}/answers", headers=world.tokens["other"], json={"body": HOSTILE})
    assert r.status_code == 201, r.text
    aid = r.json()["id"]
    r = await client.post(f"/api/v1/posts/{aid}/comments", headers=headers, json={"body": "<script>alert(5)</script> [x](javascript:alert(6))"})
    assert r.status_code == 201
    stored = [p.body_html for p in await Post.filter(id__in=[qid, aid])]
    stored.append((await Comment.get(post_id=aid)).body_html)
    for text in stored:
        lowered = html.unescape(text).lower()
        assert "<script" not in lowered and "<iframe" not in lowered
        assert "onerror" not in lowered and "onclick" not in lowered and "style=" not in lowered
        assert not DANGEROUS_URL.search(lowered.replace("\t", "")), text
    assert '<a href="https://example.com/help" rel="nofollow ugc noopener">fine</a>' in stored[0]
    page = (await client.get(f"/questions/{qid}", follow_redirects=True)).text
    assert all(text in page for text in stored)  # what the page shows is the sanitised HTML
    lowered = page.lower()
    assert not DANGEROUS_URL.search(lowered) and "onerror" not in lowered and "<script>alert" not in lowered
    assert "click me" in page  # the words survive; only the dangerous parts go
