"""Browser journey: an admin opens /insights, changes the range, sees the charts change, and
downloads the CSV; the page fits a phone and works without JavaScript."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from community import questions
from tests.browser import assert_fits_width

pytestmark = pytest.mark.browser

START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def live_server_env() -> dict[str, str]:
    # The test writes its history while the server runs: keep the server's background writers
    # (search indexer, escalation sweeper) off so SQLite's single writer is the test.
    return {"RUN_INDEXER": "0", "RUN_SWEEPER": "0"}


async def _history(users, fake_clock) -> None:
    """Ten days: day i has i + 1 questions, the first of each answered within twenty minutes."""
    fake_clock.set(START - timedelta(days=3))
    await users("boss", 1, "admin")
    asker, helper = await users("asker"), await users("helper")
    for day in range(10):
        for n in range(day + 1):
            fake_clock.set(START + timedelta(days=day, minutes=5 * n))
            q = await questions.ask(asker, f"Question {n} asked on day {day} of the journey", "Details of the problem I have here.", "esim")
            if n == 0:
                fake_clock.advance(minutes=20)
                await questions.answer(helper, q.id, "Restart the phone and reset the network settings.")


async def _chart(page, chart_id: str) -> tuple[str, int]:
    desc = await page.locator(f"#{chart_id}-desc").text_content()
    bars = await page.locator(f"#{chart_id} rect.bar").count()
    return desc, bars


async def test_admin_changes_the_range_and_downloads_the_csv(live_server, phone_page, users, fake_clock, tmp_path):
    await _history(users, fake_clock)
    page, url = phone_page, live_server.url
    await page.goto(url + "/login")
    await page.get_by_label("Username").fill("boss")
    await page.get_by_label("Password").fill("password123")
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(url + "/")

    await page.goto(url + "/insights")
    assert await page.get_by_role("heading", name="Insights", level=1).is_visible()
    await page.get_by_label("From", exact=True).fill("2026-01-05")
    await page.get_by_label("To", exact=True).fill("2026-01-14")
    await page.get_by_role("button", name="Show").click()
    await page.wait_for_url(re.compile(r".*/insights\?from=2026-01-05&to=2026-01-14.*"))
    desc, bars = await _chart(page, "chart-asked")
    assert bars == 10 and "total 55" in desc  # 1 + 2 + ... + 10
    assert (await page.locator("#figure-questions").text_content()).strip() == "55"
    await assert_fits_width(page)

    await page.get_by_label("From", exact=True).fill("2026-01-12")
    await page.get_by_label("SLA to try (minutes)").fill("15")
    await page.get_by_role("button", name="Show").click()
    await page.wait_for_url(re.compile(r".*from=2026-01-12.*"))
    desc, bars = await _chart(page, "chart-asked")
    assert bars == 3 and "total 27" in desc  # 8 + 9 + 10
    assert (await page.locator("#figure-questions").text_content()).strip() == "27"
    whatif = await page.locator("#whatif-sentence").text_content()
    assert "15 minutes" in " ".join(whatif.split()) and "27 questions" in whatif
    await assert_fits_width(page)

    async with page.expect_download() as info:
        await page.get_by_role("link", name="Download CSV").click()
    download = await info.value
    target = tmp_path / "insights.csv"
    await download.save_as(target)
    lines = target.read_text().splitlines()
    assert lines[0].startswith("day,questions,answered,answered_within_hour")
    assert lines[0].endswith("would_escalate_at_15_min_sla")
    # Day 7 (2026-01-12) had 8 questions, one answered after 20 minutes: late for a 15-minute SLA.
    assert lines[1:] == ["2026-01-12,8,1,1,12.5,0,8", "2026-01-13,9,1,1,11.1,0,9", "2026-01-14,10,1,1,10.0,0,10"]

    await page.get_by_label("From", exact=True).fill("2026-01-20")
    await page.get_by_role("button", name="Show").click()
    assert await page.get_by_text("The start date is after the end date").is_visible()
