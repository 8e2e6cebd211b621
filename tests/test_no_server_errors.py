"""No input produces a 500: lone UTF-16 surrogates and control characters in JSON, forms and query
strings, non-finite and huge JSON numbers, wrong-typed fields, dates at the calendar's edges,
a full disk (503, try again), and an unexpected error that still keeps the connection open."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from community import accounts, db, questions
from community.support import sweeper
from tests.conftest import PG_URL, login

TITLE = "Data roaming stopped working in Spain"
BODY = "I switched roaming on but the phone shows no data connection at all."
TABLES = ("user", "post", "comment", "vote", "api_token", "support_ticket", "support_ticket_note",
          "search_deflection_event", "moderation_audit_entry")


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch):
    """Argon2 at its real cost makes each log-in ~0.1 s; these tests are about input."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@dataclass
class World:
    q: int  # the customer's question, escalated into ticket `ticket`
    a: int  # an answer to it
    ticket: int
    member_id: int
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)


@pytest.fixture
async def world(client, users, fake_clock) -> World:
    cust = await users("cust", 50)
    helper = await users("helper", 200)
    await users("agent", 1, "staff")
    await users("lead", 1, "admin")
    await users("mod", 1, "moderator")
    q = await questions.ask(cust, TITLE, BODY, ["roaming"])
    fake_clock.advance(minutes=61)
    swept = await sweeper.sweep()
    a = await questions.answer(helper, q.id, "Check that the APN is set to the network's internet APN.")
    w = World(q.id, a.id, swept.created[0], cust.id)
    for name in ("cust", "helper", "agent", "lead", "mod"):
        user = await accounts.get_user((await db.fetch('SELECT id FROM "user" WHERE username = ?', [name]))[0]["id"])
        w.tokens[name] = {"Authorization": f"Bearer {await accounts.issue_token(user)}"}
    return w


async def _counts() -> dict[str, int]:
    return {t: int((await db.fetch(f'SELECT COUNT(*) AS n FROM "{t}"'))[0]["n"]) for t in TABLES}


def _fill(value: Any, w: World) -> Any:
    if isinstance(value, str):
        return value.format(q=w.q, a=w.a, t=w.ticket, m=w.member_id)
    return value


async def _send_json(client: httpx.AsyncClient, method: str, path: str, headers: dict, raw: str) -> httpx.Response:
    # Raw text, so the JSON can hold what json.dumps escapes (\ud800) or never writes (1e999, NaN).
    return await client.request(method, path, content=raw.encode(), headers={**headers, "content-type": "application/json"})


# --- Strings the databases cannot store ---------------------------------------------------------

SURROGATE, NUL = "\ud800", "\x00"
Q = {"title": TITLE, "body": BODY, "tags": ["roaming"]}
# (label, method, path, who, body, field)
BAD_STRINGS: list[tuple[str, str, str, str | None, dict, str]] = [
    ("token, surrogate name", "POST", "/api/v1/tokens", None, {"username": SURROGATE, "password": "password123"}, "username"),
    ("token, surrogate password", "POST", "/api/v1/tokens", None, {"username": "cust", "password": "pass" + SURROGATE}, "password"),
    ("token, NUL name", "POST", "/api/v1/tokens", None, {"username": "cust" + NUL, "password": "password123"}, "username"),
    ("sign-up, surrogate password", "POST", "/api/v1/users", None,
     {"username": "newbie", "email": "n@example.com", "password": "password" + SURROGATE}, "password"),
    ("sign-up, NUL name", "POST", "/api/v1/users", None, {"username": "new" + NUL + "bie", "email": "n@example.com",
                                                         "password": "password123"}, "username"),
    ("sign-up, bell in email", "POST", "/api/v1/users", None, {"username": "newbie", "email": "n\x07@example.com",
                                                              "password": "password123"}, "email"),
    ("deflection, surrogate view", "POST", "/api/v1/deflections", None, {"question_id": "{q}", "view": SURROGATE}, "view"),
    ("deflection, surrogate key", "POST", "/api/v1/deflections", None, {"question_id": "{q}", SURROGATE: 1}, "\\ud800"),
    ("deflection, surrogate in a nested key", "POST", "/api/v1/deflections", None,
     {"question_id": "{q}", "extra": [{"a": {SURROGATE: "x"}}]}, "extra"),
    ("ask, NUL title", "POST", "/api/v1/questions", "cust", {**Q, "title": TITLE + NUL}, "title"),
    ("ask, surrogate body", "POST", "/api/v1/questions", "cust", {**Q, "body": BODY + SURROGATE}, "body"),
    ("ask, NUL tag", "POST", "/api/v1/questions", "cust", {**Q, "tags": ["roaming", "da" + NUL + "ta"]}, "tags"),
    ("answer, NUL body", "POST", "/api/v1/questions/{q}/answers", "helper", {"body": BODY + NUL}, "body"),
    ("comment, NUL body", "POST", "/api/v1/posts/{a}/comments", "cust", {"body": "Thanks" + NUL + " a lot!"}, "body"),
    ("comment, escape character", "POST", "/api/v1/posts/{a}/comments", "cust", {"body": "Thanks\x1b[31m a lot!"}, "body"),
    ("edit, NUL comment", "PATCH", "/api/v1/posts/{q}", "cust", {"body": BODY + " More.", "comment": "typo" + NUL}, "comment"),
    ("ticket note, NUL", "POST", "/api/v1/support/tickets/{t}/notes", "agent", {"body": "Called the customer" + NUL}, "body"),
    ("ticket note, surrogate", "POST", "/api/v1/support/tickets/{t}/notes", "agent", {"body": SURROGATE}, "body"),
    ("suspension, NUL reason", "POST", "/api/v1/users/{m}/suspend", "mod", {"days": 3, "reason": "Spamming links" + NUL}, "reason"),
    ("flag, NUL message", "POST", "/api/v1/posts/{a}/flags", "cust", {"reason": "moderator", "message": "Look" + NUL * 20}, "message"),
]


@pytest.mark.parametrize("case", BAD_STRINGS, ids=[c[0] for c in BAD_STRINGS])
async def test_json_strings_a_database_cannot_store_are_refused_naming_the_field(client, world, case):
    label, method, path, who, body, field_name = case
    body = {k: _fill(v, world) for k, v in body.items()}
    before = await _counts()
    r = await _send_json(client, method, _fill(path, world), world.tokens.get(who, {}), json.dumps(body))
    assert r.status_code == 422, (r.status_code, r.text[:300])
    err = r.json()["error"]
    assert err["code"] == "invalid" and err["field"] == field_name, err
    assert "character" in err["message"] and err["message"][0].isupper(), err
    assert await _counts() == before


async def test_tabs_and_newlines_are_still_welcome(client, world):
    body = "Line one\twith a tab.\r\nLine two after a newline, long enough."
    r = await client.post(f"/api/v1/questions/{world.q}/answers", headers=world.tokens["helper"], json={"body": body})
    assert r.status_code == 201, r.text
    assert r.json()["body"] == body


# (label, path, who, fields, field named on the page)
BAD_FORMS: list[tuple[str, str, str | None, dict[str, str], str]] = [
    ("log-in", "/login", None, {"username": "cust" + NUL, "password": "password123"}, "username"),
    ("log-in password", "/login", None, {"username": "cust", "password": "pass" + NUL}, "password"),
    ("sign-up", "/signup", None, {"username": "newbie", "email": "me@example.com" + NUL, "password": "password123"}, "email"),
    ("forgot password", "/forgot", None, {"identifier": "cust" + NUL}, "identifier"),
    ("ask", "/questions/ask", "cust", {"title": TITLE + NUL, "body": BODY, "tags": "roaming"}, "title"),
    ("answer", "/questions/{q}/answers", "helper", {"body": BODY + NUL}, "body"),
    ("comment", "/posts/{a}/comments", "cust", {"body": "Thanks" + NUL + "!"}, "body"),
    ("ticket note", "/support/tickets/{t}/notes", "agent", {"body": "Called" + NUL}, "body"),
    ("suspension reason", "/users/{m}/suspend", "mod", {"days": "3", "reason": "Spamming links" + NUL}, "reason"),
]


async def test_form_fields_with_control_characters_are_refused_naming_the_field(client, world):
    problems = []
    for label, path, who, fields, field_name in BAD_FORMS:
        if who:
            csrf = await login(client, who)
        else:
            client.cookies.clear()
            page = await client.get("/login")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        before = await _counts()
        r = await client.post(_fill(path, world), data={**fields, "csrf_token": csrf})
        if r.status_code != 422 or f"“{field_name}”" not in r.text or "control character" not in r.text:
            problems.append(f"{label}: {r.status_code} {r.text[:200]!r}")
        if not r.headers.get("content-type", "").startswith("text/html"):
            problems.append(f"{label}: not a page")
        if await _counts() != before:
            problems.append(f"{label}: wrote")
    assert not problems, "\n".join(problems)


async def test_a_refused_form_gives_back_what_was_written_but_never_a_password(client, world):
    """The refused page keeps the person's text (without the character that cannot be stored), so
    nothing typed is lost; a password is never written back into a page."""
    csrf = await login(client, "helper")
    body = "My phone shows\x0c no signal since the update; I restarted it twice & nothing <changed>."
    r = await client.post("/questions/ask", data={"title": "No signal after the update", "body": body,
                                                  "tags": "signal", "csrf_token": csrf})
    assert r.status_code == 422
    assert "No signal after the update" in r.text
    assert "My phone shows no signal since the update; I restarted it twice &amp; nothing &lt;changed&gt;." in r.text
    assert csrf not in r.text.split("<main", 1)[-1].split("</main>", 1)[0]  # the token is no text of theirs
    client.cookies.clear()
    page = await client.get("/signup")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = await client.post("/signup", data={"username": "new\x00comer", "email": "n@example.com",
                                           "password": "secret-horse-battery", "csrf_token": csrf})
    assert r.status_code == 422
    assert "newcomer" in r.text and "n@example.com" in r.text
    assert "secret-horse-battery" not in r.text


@pytest.mark.parametrize("path, who, field_name", [
    ("/api/v1/moderation/log?actor=%00", "mod", "actor"),
    ("/api/v1/moderation/log?action=%00&actor=mod", "mod", "action"),
    ("/api/v1/questions?cursor=%00", None, "cursor"),
    ("/api/v1/questions?tag=ro%00aming", None, "tag"),
    ("/api/v1/search?q=roaming%00", None, "q"),
    ("/api/v1/similar?title=roaming%1b&view=v", None, "title"),
    ("/api/v1/support/tickets?cursor=%00", "agent", "cursor"),
    ("/api/v1/insights/summary?from=2026%00", "lead", "from"),
    ("/api/v1/questions?%00=1", None, "\\x00"),
])
async def test_query_parameters_with_control_characters_are_refused_naming_them(client, world, path, who, field_name):
    r = await client.get(path, headers=world.tokens.get(who, {}))
    assert r.status_code == 422, (r.status_code, r.text[:300])
    assert r.json()["error"]["field"] == field_name


@pytest.mark.parametrize("path", ["/search?q=%00", "/questions?tag=%00", "/search/open?question_id=1%00",
                                  "/tags/ro%00aming", "/users/1%00", "/reset/abc%00def", "/questions/1%00"])
async def test_pages_with_control_characters_in_the_address_say_so(client, world, path):
    r = await client.get(path)
    assert r.status_code in (404, 422), (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("text/html") and "Something went wrong" not in r.text


# --- Numbers ------------------------------------------------------------------------------------

# (label, method, path, who, raw JSON body, field)
BAD_NUMBERS: list[tuple[str, str, str, str | None, str, str | None]] = [
    ("deflection 1e999", "POST", "/api/v1/deflections", None, '{"question_id": 1e999}', "question_id"),
    ("deflection -1e999", "POST", "/api/v1/deflections", None, '{"question_id": -1e999}', "question_id"),
    ("deflection Infinity", "POST", "/api/v1/deflections", None, '{"question_id": Infinity}', "question_id"),
    ("deflection NaN", "POST", "/api/v1/deflections", None, '{"question_id": NaN}', "question_id"),
    ("deflection nested -Infinity", "POST", "/api/v1/deflections", None, '{"question_id": 1, "view": [-Infinity]}', "view"),
    ("suspension days 1e999", "POST", "/api/v1/users/{m}/suspend", "mod", '{"days": 1e999, "reason": "Spamming links"}', "days"),
    ("suspension days NaN", "POST", "/api/v1/users/{m}/suspend", "mod", '{"days": NaN, "reason": "Spamming links"}', "days"),
    ("rollback revision 1e999", "POST", "/api/v1/posts/{q}/rollback", "mod", '{"revision": 1e999}', "revision"),
    ("vote Infinity", "POST", "/api/v1/posts/{a}/vote", "cust", '{"value": Infinity}', "value"),
    ("accept NaN", "POST", "/api/v1/questions/{q}/accept", "cust", '{"answer_id": NaN}', "answer_id"),
    ("a bare Infinity", "POST", "/api/v1/deflections", None, "Infinity", None),
]


@pytest.mark.parametrize("case", BAD_NUMBERS, ids=[c[0] for c in BAD_NUMBERS])
async def test_json_numbers_that_are_not_finite_are_refused(client, world, case):
    label, method, path, who, raw, field_name = case
    before = await _counts()
    r = await _send_json(client, method, _fill(path, world), world.tokens.get(who, {}), raw)
    assert r.status_code in (400, 422), (r.status_code, r.text[:300])
    err = r.json()["error"]
    assert err["field"] == field_name, err
    assert await _counts() == before


HUGE = 10**20
# (label, method, path, who, body): each must answer 4xx.
HUGE_INTS: list[tuple[str, str, str, str | None, Any]] = [
    ("deflection", "POST", "/api/v1/deflections", None, {"question_id": HUGE}),
    ("suspension days", "POST", "/api/v1/users/{m}/suspend", "mod", {"days": HUGE, "reason": "Spamming links"}),
    ("suspension days, negative", "POST", "/api/v1/users/{m}/suspend", "mod", {"days": -HUGE, "reason": "Spamming links"}),
    ("suspended member", "POST", f"/api/v1/users/{HUGE}/suspend", "mod", {"days": 3, "reason": "Spamming links"}),
    ("rollback revision", "POST", "/api/v1/posts/{q}/rollback", "mod", {"revision": HUGE}),
    ("rollback post", "POST", f"/api/v1/posts/{HUGE}/rollback", "mod", {"revision": 1}),
    ("close duplicate", "POST", "/api/v1/questions/{q}/close", "mod", {"reason": "duplicate", "duplicate_of": HUGE}),
    ("close question", "POST", f"/api/v1/questions/{HUGE}/close", "mod", {"reason": "off_topic"}),
    ("reopen question", "POST", f"/api/v1/questions/{HUGE}/reopen", "mod", {}),
    ("flag post", "POST", f"/api/v1/posts/{HUGE}/flags", "cust", {"reason": "spam"}),
    ("review item", "POST", f"/api/v1/review/{HUGE}", "mod", {"decision": "looks_ok"}),
    ("lock post", "POST", f"/api/v1/posts/{HUGE}/lock", "mod", {"reason": "Heated argument"}),
    ("delete post", "DELETE", f"/api/v1/posts/{HUGE}", "mod", None),
    ("edit post", "PATCH", f"/api/v1/posts/{HUGE}", "mod", {"body": BODY}),
    ("revisions", "GET", f"/api/v1/posts/{HUGE}/revisions", None, None),
    ("ticket", "GET", f"/api/v1/support/tickets/{HUGE}", "agent", None),
    ("claim ticket", "POST", f"/api/v1/support/tickets/{HUGE}/claim", "agent", None),
    ("reassign by id", "POST", "/api/v1/support/tickets/{t}/reassign", "lead", {"assignee": HUGE}),
    ("escalate", "POST", f"/api/v1/questions/{HUGE}/escalate", "mod", {"reason": "Customer waited too long"}),
    ("log before", "GET", f"/api/v1/moderation/log?before={HUGE}", "mod", None),
    ("log post", "GET", f"/api/v1/moderation/log?post_id={HUGE}", "mod", None),
    ("search page", "GET", f"/api/v1/search?q=roaming&page={HUGE}", None, None),
    ("what-if minutes", "GET", f"/api/v1/insights/sla-whatif?sla_minutes={HUGE}", "lead", None),
]


@pytest.mark.parametrize("case", HUGE_INTS, ids=[c[0] for c in HUGE_INTS])
async def test_huge_integers_are_refused_or_not_found(client, world, case):
    label, method, path, who, body = case
    r = await client.request(method, _fill(path, world), headers=world.tokens.get(who, {}),
                             json=body if body is not None else None)
    assert r.status_code < 500, (r.status_code, r.text[:300])
    if r.status_code >= 400:
        assert set(r.json()["error"]) == {"code", "message", "field"}


# --- What the attack found, one by one ----------------------------------------------------------

def _desk_cursor(ticket_id: int) -> str:
    raw = json.dumps(["2026-01-01T00:00:00+00:00", ticket_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("path, who, body, field_name", [
    ("/api/v1/support/tickets/{t}/resolve", "agent", {"resolution": []}, "resolution"),
    ("/api/v1/support/tickets/{t}/resolve", "agent", {"resolution": {"a": 1}}, "resolution"),
    ("/api/v1/support/tickets/{t}/reassign", "lead", {"assignee": "a" * 41}, "assignee"),
    ("/api/v1/support/tickets/{t}/reassign", "lead", {"assignee": ["agent"]}, "assignee"),
])
async def test_desk_actions_with_odd_values_are_refused(client, world, path, who, body, field_name):
    r = await client.post(_fill(path, world), headers=world.tokens[who], json=body)
    assert r.status_code == 422, (r.status_code, r.text[:300])
    assert r.json()["error"]["field"] == field_name


async def test_the_desk_page_refuses_a_name_no_agent_can_have(client, world):
    csrf = await login(client, "lead")
    r = await client.post(f"/support/tickets/{world.ticket}/reassign", data={"assignee": "a" * 41, "csrf_token": csrf})
    assert r.status_code == 422 and "username of a support agent" in r.text, (r.status_code, r.text[:300])
    r = await client.post(f"/support/tickets/{world.ticket}/resolve", data={"resolution": "nonsense", "csrf_token": csrf})
    assert r.status_code == 422 and "Choose a resolution" in r.text, (r.status_code, r.text[:300])


@pytest.mark.parametrize("query, field_name", [
    ("to=9999-12-31", "to"), ("to=0001-01-05", "to"), ("from=0001-01-01", "from"), ("from=9999-12-31", "from"),
    ("from=0001-01-01&to=0001-01-02", "from"), ("from=9999-12-30&to=9999-12-31", "from"),
])
async def test_insights_dates_at_the_calendars_edges_are_refused(client, world, query, field_name):
    for path in ("/api/v1/insights/summary", "/api/v1/insights/sla-whatif"):
        r = await client.get(f"{path}?{query}", headers=world.tokens["lead"])
        assert r.status_code == 422, (path, r.status_code, r.text[:300])
        assert r.json()["error"]["field"] == field_name
    await login(client, "lead")
    r = await client.get(f"/insights?{query}")
    assert r.status_code == 422 and "between" in r.text, (r.status_code, r.text[:300])


@pytest.mark.parametrize("ticket_id", [10**20, -(10**20), 2**63, 1.5, "7", None])
async def test_a_desk_cursor_with_an_impossible_ticket_id_is_refused(client, world, ticket_id):
    cursor = _desk_cursor(ticket_id)
    r = await client.get(f"/api/v1/support/tickets?cursor={cursor}", headers=world.tokens["agent"])
    assert r.status_code == 422, (r.status_code, r.text[:300])
    assert r.json()["error"]["field"] == "cursor"
    await login(client, "agent")
    r = await client.get(f"/support?cursor={cursor}")
    assert r.status_code == 422 and "page link is broken" in r.text, (r.status_code, r.text[:300])


# --- A full disk --------------------------------------------------------------------------------

async def _fill_the_database() -> None:
    """Make the next write find the database full: SQLite may not grow by one page; PostgreSQL
    answers a new post the way it does when it cannot extend a file (SQLSTATE 53100, disk_full)."""
    if PG_URL:
        await db.execute("CREATE FUNCTION test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                         "RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; "
                         "END $$")
        await db.execute("CREATE TRIGGER test_disk_full BEFORE INSERT ON post FOR EACH ROW EXECUTE FUNCTION test_disk_full()")
    else:
        pages = (await db.fetch("PRAGMA page_count"))[0]["page_count"]
        await db.execute(f"PRAGMA max_page_count = {int(pages)}")


async def _free_space() -> None:
    if PG_URL:
        await db.execute("DROP TRIGGER IF EXISTS test_disk_full ON post")
        await db.execute("DROP FUNCTION IF EXISTS test_disk_full()")
    else:
        await db.execute("PRAGMA max_page_count = 1073741823")


async def test_a_full_database_answers_503_saying_to_try_again_and_a_retry_works(client, world):
    csrf = await login(client, "cust")
    body = BODY + " " + "The phone says 'no service' every time I cross the border. " * 60
    question = {"title": "Roaming stops at the border every time", "body": body, "tags": ["roaming"]}
    before = await _counts()
    await _fill_the_database()
    try:
        r = await client.post("/api/v1/questions", headers=world.tokens["cust"], json=question)
        assert r.status_code == 503, (r.status_code, r.text[:300])
        assert r.json()["error"]["code"] == "unavailable" and "try again" in r.json()["error"]["message"]
        assert r.headers["retry-after"] == "120"
        r = await client.post("/questions/ask", data={**question, "tags": "roaming", "csrf_token": csrf})
        assert r.status_code == 503, (r.status_code, r.text[:300])
        assert r.headers["content-type"].startswith("text/html")
        assert "Try again soon" in r.text and "run out of storage space" in r.text
    finally:
        await _free_space()
    assert await _counts() == before
    r = await client.post("/api/v1/questions", headers=world.tokens["cust"], json=question)
    assert r.status_code == 201, r.text


async def test_no_space_left_for_a_file_answers_503_too(client, world, monkeypatch):
    import errno
    import os

    from community import questions as questions_service

    async def no_space(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/var/index/_MAIN_1.toc")

    monkeypatch.setattr(questions_service, "ask", no_space)
    r = await client.post("/api/v1/questions", headers=world.tokens["cust"], json=Q)
    assert r.status_code == 503 and r.json()["error"]["code"] == "unavailable", r.text
    monkeypatch.setattr(questions_service, "ask", lambda *a, **k: (_ for _ in ()).throw(OSError(errno.EACCES, "denied")))
    r = await client.post("/api/v1/questions", headers=world.tokens["cust"], json=Q)
    assert r.status_code == 500 and r.json()["error"]["code"] == "internal", r.text  # only a full disk is a 503


# --- An unexpected error keeps the connection -----------------------------------------------------

async def test_an_unexpected_500_is_logged_and_keeps_the_connection_open(database, tmp_path):
    from tests.browser import start_server, stop_server

    server = start_server(database, tmp_path)
    await db.execute("ALTER TABLE tag RENAME TO tag_gone")  # the tag list's query now fails: a real, unplanned error
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            broken = http.get("/tags")
            assert broken.status_code == 500 and "Something went wrong on our side" in broken.text
            assert broken.headers.get("connection", "keep-alive") != "close"
            api = http.get("/api/v1/questions")
            assert api.status_code == 200
            assert api.extensions["network_stream"] is broken.extensions["network_stream"], "the 500 closed the connection"
            again = http.get("/tags")
            assert again.status_code == 500
            assert again.extensions["network_stream"] is broken.extensions["network_stream"]
    finally:
        await db.execute("ALTER TABLE tag_gone RENAME TO tag")
        stop_server(server)
    log = server.log()
    assert "GET /tags failed" in log and "Traceback" in log and "tag" in log


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+00:00"])
async def test_list_cursors_with_times_at_the_calendars_edges_are_refused(client, world, when):
    cursor = base64.urlsafe_b64encode(json.dumps([when, 1]).encode()).decode().rstrip("=")
    r = await client.get(f"/api/v1/questions?cursor={cursor}")  # PostgreSQL's driver could not take it to UTC: a 500
    assert r.status_code == 422 and r.json()["error"]["field"] == "cursor", (r.status_code, r.text[:300])
    r = await client.get(f"/api/v1/support/tickets?cursor={cursor}", headers=world.tokens["agent"])
    assert r.status_code == 422 and r.json()["error"]["field"] == "cursor", (r.status_code, r.text[:300])


@pytest.mark.parametrize("q", ["created:0001", "created:9999-12-31", "created:0001-01-01..9999", "score:99999999999999999999",
                               "answers:-99999999999999999999", "user:" + "a" * 500])
async def test_search_queries_at_the_edges_are_harmless(client, world, q):
    r = await client.get("/api/v1/search", params={"q": q})
    assert r.status_code == 200, (r.status_code, r.text[:300])
