"""The deflection rate before and after a date: events recorded through the public endpoints (the
ask page's suggestions, "This solved my problem", posting anyway) at known times, then exact
figures from the service, the API and the page.

The history (range 2026-03-02 Mon .. 2026-03-05 Thu, compare at 2026-03-04; UTC):
  before (Mon, Tue):  ask page views b1 b2 b3 show suggestions (b1 twice: one view); "solved my
                      problem" Mon 09:10 and Tue 23:59:59; cora posts anyway after b2 (Mon) and b3
                      (Tue); dan asks Tue without suggestions.
                      -> shown 3, deflections 2, asked after suggestions 2, asked 3, rate 2/5 = 40.0%
  after (Wed, Thu):   view a1 and a deflection at Wed 00:00:00 exactly; views a2 a3 a4, deflections
                      after a2 and a3; cora posts anyway after a4 (Thu).
                      -> shown 4, deflections 3, asked after suggestions 1, asked 1, rate 3/4 = 75.0%
  change: +35.0 percentage points. Outside the range (Sun 23:59:59 and Fri 00:00:00) a view, a
  deflection and a question each, counted nowhere.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

import pytest

from community import acceptance, questions
from community.errors import Invalid
from community.insights.deflection_compare import compare_deflection, parse_compare
from community.insights.periods import Period
from search.indexer import Indexer
from search.web import search_backend
from tests.conftest import login, token_for

PERIOD = Period(date(2026, 3, 2), date(2026, 3, 5))
RANGE = "from=2026-03-02&to=2026-03-05"
BEFORE = {"first": "2026-03-02", "last": "2026-03-03", "days": 2, "suggestions_shown": 3, "deflections": 2,
          "asked_after_suggestions": 2, "questions": 3, "deflection_rate": 40.0}
AFTER = {"first": "2026-03-04", "last": "2026-03-05", "days": 2, "suggestions_shown": 4, "deflections": 3,
         "asked_after_suggestions": 1, "questions": 1, "deflection_rate": 75.0}


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, second, tzinfo=timezone.utc)


async def build_history(app, client, users, fake_clock) -> dict:
    """The history above, through the public endpoints (the ask page's JSON calls and form)."""
    fake_clock.set(datetime(2026, 2, 20, 9, tzinfo=timezone.utc))
    alice, bob = await users("alice", 200), await users("bob", 200)
    await users("cora", 200)
    dan = await users("dan", 200)
    await users("boss", 1, "admin")
    await users("ann", 200)
    esim = await questions.ask(alice, "eSIM not activating after switching phones",
                               "I moved my eSIM to a new iPhone and activation failed with error 33.", "esim")
    fake_clock.advance(minutes=30)
    answer = await questions.answer(bob, esim.id, "Delete the eSIM profile, restart, and scan the QR code again.")
    await acceptance.accept(alice, esim.id, answer.id)
    await Indexer(search_backend(app)).drain()
    csrf = await login(client, "cora")
    asked = 0

    async def shown(view: str, when: datetime) -> None:
        fake_clock.set(when)
        r = await client.get("/api/v1/similar", params={"title": "eSIM activation failed", "view": view})
        assert r.status_code == 200 and r.json()["items"], r.text

    async def solved(view: str, when: datetime) -> None:
        fake_clock.set(when)
        r = await client.post("/api/v1/deflections", json={"question_id": esim.id, "view": view},
                              headers={"X-CSRF-Token": csrf})
        assert r.status_code == 201, r.text

    async def ask_anyway(view: str, when: datetime) -> None:
        nonlocal asked
        asked += 1
        fake_clock.set(when)
        r = await client.post("/questions/ask", data={
            "title": f"My eSIM still will not activate, attempt number {asked}", "csrf_token": csrf,
            "body": "I tried the QR code again and the activation still fails.", "tags": "esim",
            "suggestions_shown": view})
        assert r.status_code == 303, r.text

    # Outside the range, before it.
    await shown("x0", at(1, 23, 59, 59))
    await solved("x0", at(1, 23, 59, 59))
    await ask_anyway("x0", at(1, 23, 59, 59))
    # Before.
    for view in ("b1", "b2", "b3", "b1"):
        await shown(view, at(2, 9))
    await solved("b1", at(2, 9, 10))
    await ask_anyway("b2", at(2, 10))
    await ask_anyway("b3", at(3, 11))
    fake_clock.set(at(3, 12))
    await questions.ask(dan, "Roaming in Spain shows no service at all", "No service in Madrid with roaming on.", "roaming")
    await solved("b3", at(3, 23, 59, 59))
    # After.
    await shown("a1", at(4, 0))
    await solved("a1", at(4, 0))
    for view in ("a2", "a3", "a4"):
        await shown(view, at(4, 10))
    await solved("a2", at(4, 10, 5))
    await solved("a3", at(4, 10, 6))
    await ask_anyway("a4", at(5, 15))
    # Outside the range, after it.
    await shown("x9", at(6, 0))
    await solved("x9", at(6, 0))
    await ask_anyway("x9", at(6, 0))
    fake_clock.set(at(6, 12))
    return {"esim": esim.id}


async def test_the_service_splits_the_period_at_the_date(app, client, users, fake_clock):
    await build_history(app, client, users, fake_clock)
    c = await compare_deflection(PERIOD, date(2026, 3, 4))
    assert c is not None and c.date == date(2026, 3, 4)
    assert c.before.as_json() == BEFORE
    assert c.after.as_json() == AFTER
    assert c.change_points == 35.0
    # The last day as the date: after is that one day (no deflection, no question: no rate).
    c = await compare_deflection(PERIOD, date(2026, 3, 5))
    assert (c.before.days, c.before.suggestions_shown, c.before.deflections, c.before.questions) == (3, 7, 5, 3)
    assert c.before.deflection_rate == 62.5  # 5 / (5 + 3)
    assert (c.after.days, c.after.suggestions_shown, c.after.deflections, c.after.asked_after_suggestions,
            c.after.questions, c.after.deflection_rate) == (1, 0, 0, 1, 1, 0.0)
    assert c.change_points == -62.5


async def test_the_compare_date_is_checked(database, fake_clock):
    assert parse_compare(None, PERIOD) is None and parse_compare("", PERIOD) is None
    assert parse_compare(" 2026-03-03 ", PERIOD) == date(2026, 3, 3)
    for bad in ("2026-13-01", "yesterday", "03/04/2026", ["2026-03-04"]):
        with pytest.raises(Invalid) as err:
            parse_compare(bad, PERIOD)
        assert err.value.field == "compare"
    for outside in ("2026-03-02", "2026-03-06", "2025-03-04", "9999-01-01"):
        with pytest.raises(Invalid) as err:
            parse_compare(outside, PERIOD)
        assert err.value.field == "compare" and "inside the period" in err.value.message
        assert "2026-03-02" in err.value.message and "2026-03-05" in err.value.message


async def test_the_api_gives_both_sides_and_refuses_a_bad_date(app, client, users, fake_clock):
    await build_history(app, client, users, fake_clock)
    client.cookies.clear()
    admin = await token_for(client, "boss")
    r = await client.get(f"/api/v1/insights/summary?{RANGE}&compare=2026-03-04", headers=admin)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["deflection_compare"] == {"date": "2026-03-04", "before": BEFORE, "after": AFTER, "change_points": 35.0}
    assert (data["questions"], data["deflections"], data["suggestions_shown"], data["deflection_rate"]) == (4, 5, 7, 55.6)
    r = await client.get(f"/api/v1/insights/summary?{RANGE}", headers=admin)
    assert r.status_code == 200 and "deflection_compare" not in r.json()
    for compare, words in (("2026-02-30", "is not a date"), ("soon", "is not a date"),
                           ("2026-03-02", "inside the period"), ("2026-03-06", "inside the period")):
        r = await client.get(f"/api/v1/insights/summary?{RANGE}&compare={compare}", headers=admin)
        assert r.status_code == 422, (compare, r.text)
        error = r.json()["error"]
        assert error["field"] == "compare" and words in error["message"], (compare, error)
    r = await client.get(f"/api/v1/insights/summary?{RANGE}&compare=2026-03-04", headers=await token_for(client, "ann"))
    assert r.status_code == 403


def _table(html: str) -> dict[str, list[str]]:
    """The comparison table's rows: row header -> [before, after]."""
    table = html.split('id="deflection-compare"', 1)[1].split("</table>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr><th scope=\"row\">(.*?)</th><td>(.*?)</td><td>(.*?)</td></tr>", table):
        rows[row[0]] = [row[1], row[2]]
    return rows


async def test_the_page_shows_the_table_and_keeps_a_bad_date(app, client, users, fake_clock):
    await build_history(app, client, users, fake_clock)
    client.cookies.clear()
    await login(client, "boss")
    page = await client.get(f"/insights?{RANGE}&compare=2026-03-04")
    assert page.status_code == 200
    assert _table(page.text) == {
        "Ask pages that showed suggestions": ["3", "4"],
        "\"This solved my problem\" (questions not asked)": ["2", "3"],
        "Questions asked after seeing suggestions": ["2", "1"],
        "Questions asked": ["3", "1"],
        "Deflection rate": ["40.0%", "75.0%"],
    }
    spans = [re.sub(r"<[^>]+>", "", s) for s in re.findall(r'<span class="compare-span">(.*?)</span>', page.text)]
    assert spans == ["2026-03-02 to 2026-03-03 (2 days)", "2026-03-04 to 2026-03-05 (2 days)"]
    change = page.text.split('id="compare-change">', 1)[1].split("</p>", 1)[0]
    assert "<strong>+35.0 percentage points</strong> (40.0% before, 75.0% after)" in change
    assert 'id="compare" name="compare" type="date" value="2026-03-04"' in page.text
    plain = await client.get(f"/insights?{RANGE}")
    assert plain.status_code == 200 and "deflection-compare" not in plain.text and "compare-change" not in plain.text
    for compare, words in (("2026-3-4x", "is not a date"), ("2026-03-09", "inside the period")):
        bad = await client.get(f"/insights?{RANGE}&compare={compare}")
        assert bad.status_code == 422 and words in bad.text
        assert f'value="{compare}"' in bad.text and 'id="compare-error"' in bad.text
