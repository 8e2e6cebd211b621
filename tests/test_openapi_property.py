"""Property: no operation in the app's own OpenAPI document answers a 5xx, whatever JSON body, path
and query values it is sent (hostile ones mixed in: lone surrogates, NUL, 1e999, Infinity, NaN,
huge integers, lists and objects where text is expected, long text), anonymously, with a member's
bearer token and with an admin's. Every 4xx carries the API's error object."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from community import accounts, questions, settings
from community.models import User
from community.support import sweeper
from moderation import flags, revisions

TITLE = "Data roaming stopped working in Spain"
BODY = "I switched roaming on but the phone shows no data connection at all."
# Each example sends every operation its own call, as each of the three callers (about 140 requests);
# NO_5XX_EXAMPLES=200 for a long hunt.
hsettings.register_profile("openapi-no-5xx", max_examples=int(os.environ.get("NO_5XX_EXAMPLES", "10")), deadline=None,
                           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                                  HealthCheck.data_too_large, HealthCheck.large_base_example])


class Raw:
    """JSON text sent as written: what json.dumps never writes (1e999) or writes only as a constant."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"Raw({self.text!r})"


def to_json(value: Any) -> str:
    """JSON text in which strings keep lone surrogates (as \\ud800 escapes) and Raw goes in as written."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(to_json(v) for v in value) + "]"
    return json.dumps(value, allow_nan=True)


def _cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


HUGE = [10**20, -(10**20), 2**31, 2**63, -(2**63) - 1, 10**300]
NASTY_TEXT = ["\ud800", "a\udfffb", "\x00", "ro\x00aming", "\x1b[31m", "\x7f", "\u0085", "\ufeff", "\u202e", "<script>",
              "' OR 1=1 --", "%00", "../../etc/passwd", "a" * 41, "x" * 5000, "", " ", "9999-12-31", "0001-01-05",
              "2026-02-30", "-1", "1e999", "NaN", "Infinity", "0x10", "١٢٣", str(10**20),
              _cursor("2026-01-01T00:00:00+00:00", 10**20), _cursor("9999-12-31T23:59:59+00:00", 1), _cursor(10**20, 1),
              _cursor("0001-01-01T00:00:00+05:00", 1), _cursor("9999-12-31T23:59:59-05:00", 1), _cursor([], {}),
              base64.urlsafe_b64encode(b"\xff\xfe").decode(), "true", "null", "answered_by_staff", "duplicate", "spam",
              "off_topic", "moderator", "looks_ok", "approve", "delete", "agent", "admin", "member", "1", "2", "3"]
NASTY_JSON = [Raw("1e999"), Raw("-1e999"), Raw("Infinity"), Raw("-Infinity"), Raw("NaN"), Raw("1" + "0" * 400),
              Raw("[" * 200 + "]" * 200), Raw("1.5e308"), Raw("-0"), *HUGE, 0, -1, 1.5, True, False, None, [], {},
              ["\ud800"], {"\ud800": 1}, {"a": [{"b": "\x00"}]}, [[[]]], *NASTY_TEXT]

# Values a field of each type plausibly takes (the world's rows have small ids; words the services
# know), so that most calls get past the first check and reach the code behind it.
ids = st.integers(min_value=1, max_value=14)
WORDS = [TITLE, BODY, "roaming", "top-up", "Thanks, that fixed it for me.", "spam", "rude", "off_topic", "duplicate",
         "moderator", "looks_ok", "approve", "reject", "delete", "answered_by_staff", "answered_by_community",
         "no_response", "admin", "member", "helper", "newest", "votes", "open", "claimed", "resolved", "1", "true",
         "2026-01-01", "2026-01-20", "30", "mon-fri 09:00-17:00", "member@example.com", "password123", "roaming OR data"]
clean_text = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=60)
plausible_text = st.one_of(st.sampled_from(WORDS), st.sampled_from(WORDS), clean_text)
text = st.one_of(plausible_text, plausible_text, st.sampled_from(NASTY_TEXT), st.text(max_size=20))
json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | text
json_any = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
                        max_leaves=8)
nasty_json = st.sampled_from(NASTY_JSON)


# What a real client sends in fields of these names, so that a call gets past the first check.
KNOWN: dict[str, list[Any]] = {
    "title": [TITLE, "Top-up did not arrive on my account"],
    "body": [BODY, "Check that the APN is set to the network's internet APN.", "Thanks, that fixed it!"],
    "tags": [["roaming"], ["top-up", "data"]],
    "comment": ["fixed a typo", ""],
    "reason": ["spam", "rude", "off_topic", "duplicate", "moderator", "Spamming links in every answer",
               "The customer has waited too long"],
    "message": ["This answer is an advert for a shop, not an answer at all."],
    "decision": ["looks_ok", "approve", "reject", "delete", "spam", "leave_open", "close", "decline_flags", "edit"],
    "resolution": ["answered_by_staff", "answered_by_community", "duplicate", "no_response"],
    "assignee": ["admin", "member", "helper"],
    "username": ["member", "admin", "newbie"], "password": ["password123"], "email": ["newbie@example.com"],
    "value": [1, -1, 0], "days": [3, 0, 365], "revision": [1, 2], "locked": [True, False],
    "view": ["view-1"], "q": ["roaming", "roaming OR data", "is:solved [roaming]", "user:member score:1"],
    "sort": ["newest", "votes", "active", "unanswered"], "state": ["open", "claimed", "resolved", "solved"],
    "from": ["2025-12-10", "2026-01-01"], "to": ["2026-01-05", "2026-02-01"], "sla_minutes": ["30", "240"],
    "business_hours": ["mon-fri 09:00-17:00"], "page": ["1", "2"], "queue": ["flags", "edits", "close"],
    "mine": ["1"], "breached": ["true"], "unclaimed": ["yes"], "actor": ["admin"], "action": ["flag", "suspend"],
}


def typed_for(name: str, schema: dict[str, Any]) -> st.SearchStrategy:
    """A value of the declared type that a real client might send."""
    kind = schema.get("type")
    if kind == "integer":
        generic = ids
    elif kind == "boolean":
        generic = st.booleans()
    elif kind == "array":
        generic = st.lists(typed_for("", schema.get("items", {})), min_size=1, max_size=3)
    else:
        generic = plausible_text
    known = KNOWN.get(name)
    return st.one_of(st.sampled_from(known), st.sampled_from(known), generic) if known else generic


def hostile(typed: st.SearchStrategy) -> st.SearchStrategy:
    """What the attack sent: mostly a plausible value spoiled, so it gets past length checks to the
    driver, the hasher or the sanitiser; or a number JSON allows and Python cannot use; or the wrong shape."""
    not_finite = st.sampled_from([Raw("1e999"), Raw("-1e999"), Raw("Infinity"), Raw("-Infinity"), Raw("NaN")])
    return st.one_of(
        plausible_text.map(lambda t: t + "\ud800"), plausible_text.map(lambda t: "\x00" + t),
        plausible_text.map(lambda t: t + "\x1b"), not_finite, not_finite, st.sampled_from(HUGE),
        st.lists(typed, min_size=1, max_size=3), st.dictionaries(text, typed, max_size=2),
        st.sampled_from(["x" * 5000, "a" * 41, "", 1.5, True]), nasty_json, json_any)


spoiled_param = st.one_of(plausible_text.map(lambda t: t + "\x00"), plausible_text.map(lambda t: "\x7f" + t),
                          st.sampled_from([str(h) for h in HUGE]), st.integers().map(str), st.sampled_from(NASTY_TEXT), text)
whole_body = st.one_of(st.none(), nasty_json, st.lists(json_any, max_size=3), json_any,
                       st.sampled_from([Raw("{"), Raw('{"a": 1e999}'), Raw('"\\ud800"'), Raw('{"\\u0000": 1}'), Raw("")]))


@dataclass
class Call:
    method: str
    path: str
    query: list[tuple[str, str]]
    body: Any


def call_for(method: str, template: str, operation: dict[str, Any]) -> st.SearchStrategy:
    """A plausible call with (usually) one thing spoiled: a path or query value, one body field, a
    key, or the whole body; so each hostile value meets the code behind the checks of the others."""
    params = operation.get("parameters", [])
    in_path = {p["name"]: p["schema"] for p in params if p["in"] == "path"}
    in_query = {p["name"]: p["schema"] for p in params if p["in"] == "query"}
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    fields = schema.get("properties", {})
    has_body = method.lower() in ("post", "patch", "put", "delete")
    slots = ([("path", n) for n in in_path] + [("query", n) for n in in_query] + [("extra query", "")]
             + ([("field", n) for n in fields] * 2 + [("key", ""), ("body", "")] if has_body else []))

    @st.composite
    def call(draw: Any) -> Call:
        path_values = {n: str(draw(ids)) for n in in_path}
        query = {n: draw(typed_for(n, s).map(str)) for n, s in in_query.items() if draw(st.booleans())}
        body: Any = {n: draw(typed_for(n, s)) for n, s in fields.items() if draw(st.integers(0, 4))} if has_body else None
        kind, name = draw(st.sampled_from([("none", ""), *slots]))
        if kind == "path":
            path_values[name] = draw(spoiled_param)
        elif kind == "query":
            query[name] = draw(spoiled_param)
        elif kind == "extra query":
            query[draw(text)] = draw(text)
        elif kind == "field":
            body[name] = draw(hostile(typed_for(name, fields[name])))
        elif kind == "key":
            body[draw(st.sampled_from(["\ud800", "a\x00", "\x1b", ""]) | text)] = draw(json_any)
        elif kind == "body":
            body = draw(whole_body)
        path = template
        for n, value in path_values.items():
            path = path.replace("{" + n + "}", quote(value, safe="", errors="surrogatepass"))
        return Call(method.upper(), path, list(query.items()), body)

    return call()


def _document() -> dict[str, Any]:
    from community import openapi
    from community.app import _rooms

    _rooms()  # importing the rooms is what describes their operations
    return openapi.document()


OPERATIONS = [(method, path, op) for path, item in sorted(_document()["paths"].items()) for method, op in sorted(item.items())]
CALLS = st.fixed_dictionaries({f"{m.upper()} {p}": call_for(m, p, op) for m, p, op in OPERATIONS})


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch):
    """Argon2 at its real cost makes each sign-up ~0.1 s; this test is about input, not hashing."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
async def callers(client, users, fake_clock) -> dict[str, tuple[Any, str]]:
    """A small forum with a row of every kind an operation acts on: questions, answers, a comment,
    an edit (revisions), a flag (a review item), an escalated ticket; and a member and an admin."""
    for name in [n for n in settings.DECLARED if n.startswith("limit.") and "per_hour" in n]:
        settings.override(name, 0)  # 0 turns a limit off: a 429 is no 5xx, but it would hide what comes after
    settings.override("limit.login_failures_per_pair", 10**6)
    settings.override("limit.login_failures_per_address", 10**6)
    member = await users("member", 600)
    admin = await users("admin", 1, "admin")
    helper = await users("helper", 200)
    q = await questions.ask(member, TITLE, BODY, ["roaming"])
    q2 = await questions.ask(helper, "Top-up did not arrive on my account", BODY, ["top-up"])
    a = await questions.answer(helper, q.id, "Check that the APN is set to the network's internet APN.")
    await questions.answer(member, q2.id, "Top-ups can take fifteen minutes to show up in the app.")
    await questions.comment(member, a.id, "Thanks, that was it!")
    await revisions.edit(member, q.id, None, BODY + " It worked last week.", None, "more detail")
    await flags.raise_flag(member, a.id, "spam", None)
    fake_clock.advance(minutes=61)
    await sweeper.sweep()
    return {"anonymous": (None, ""), "member": (member, await accounts.issue_token(member)),
            "admin": (admin, await accounts.issue_token(admin))}


async def test_the_document_read_here_is_the_one_the_app_serves(client):
    served = (await client.get("/api/v1/openapi.json")).json()
    assert served == json.loads(json.dumps(_document()))
    assert len(OPERATIONS) >= 40


def _query_string(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k, safe='', errors='surrogatepass')}={quote(v, safe='', errors='surrogatepass')}" for k, v in pairs)


@hsettings.get_profile("openapi-no-5xx")
@given(calls=CALLS)
async def test_no_operation_answers_a_server_error_whatever_it_is_sent(client, callers, calls):
    await User.filter(suspended_until__not_isnull=True).update(suspended_until=None)  # an earlier example's suspension
    for name, call in calls.items():
        for who, (user, token) in list(callers.items()):
            headers = {"content-type": "application/json"}
            if token:
                if name == "DELETE /api/v1/tokens/current":  # revoke a spare, not the token the rest of the run uses
                    token = await accounts.issue_token(user)
                headers["authorization"] = f"Bearer {token}"
            url = call.path + ("?" + _query_string(call.query) if call.query else "")
            content = None if call.body is None else to_json(call.body).encode("utf-8", "surrogatepass")
            r = await client.request(call.method, url, content=content, headers=headers)
            where = f"{name} as {who}: {call.method} {url[:300]!r} body {content[:300]!r}" if content else \
                f"{name} as {who}: {call.method} {url[:300]!r}"
            assert r.status_code < 500, f"{r.status_code} from {where}\n{r.text[:500]}"
            if r.status_code == 401 and token:  # the call revoked the caller's token: a new one for what follows
                callers[who] = (user, await accounts.issue_token(user))
            if r.status_code >= 400:
                error = r.json().get("error")
                assert isinstance(error, dict) and {"code", "message", "field"} <= set(error), f"{where}: {r.text[:300]}"
                assert isinstance(error["message"], str) and error["message"], where
