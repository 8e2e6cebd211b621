"""Hand-made page cursors (a client may send anything) are refused or served, never a 500."""

from __future__ import annotations

import base64
import json

import pytest

from community import questions


def _cursor(value: object, pk: object) -> str:
    return base64.urlsafe_b64encode(json.dumps([value, pk]).encode()).decode().rstrip("=")


CRAFTED = [
    ("newest", ["2026-01-01T00:00:00", 5]),  # no time zone
    ("newest", ["9999-12-31T23:59:59+00:00", 1]),
    ("newest", ["0001-01-01T00:00:00+00:00", 1]),
    ("active", ["2026-01-01T00:00:00+14:00", 10**30]),
    ("votes", [1e308, 1]),
    ("votes", [10**30, 1]),
    ("votes", [-(10**30), -(10**30)]),
    ("votes", ["NaN", 1]),
    ("votes", [3, "x"]),
    ("unsolved", [None, None]),
    ("newest", [{"a": 1}, [1]]),
]


@pytest.mark.parametrize(("sort", "raw"), CRAFTED)
async def test_crafted_cursors_never_break_the_list(client, users, sort, raw):
    author = await users("author", 100)
    await questions.ask(author, "A question to page through", "Some body text that is long enough.", ["x"])
    cursor = _cursor(*raw)
    r = await client.get(f"/api/v1/questions?sort={sort}&cursor={cursor}")
    assert r.status_code in (200, 422), r.text
    if r.status_code == 422:
        assert r.json()["error"]["field"] == "cursor"
    page = await client.get(f"/questions?sort={sort}&cursor={cursor}")
    assert page.status_code in (200, 422), page.text[:300]
