"""Browser check: an admin picks a date on /insights and sees the deflection rate before and after
it; the comparison fits a 390 px phone and a desktop window (screenshots in /tmp/shots16/)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser import assert_fits_width, log_in, new_page
from tests.test_insights_deflection_compare import RANGE, build_history

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots16")


@pytest.fixture
def live_server_env() -> dict[str, str]:
    # The test writes its history beside the running server: keep its background writers off.
    return {"RUN_INDEXER": "0", "RUN_SWEEPER": "0"}


async def test_admin_compares_deflection_before_and_after_a_date(live_server, browser, app, client, users, fake_clock):
    await build_history(app, client, users, fake_clock)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name, phone in (("phone", True), ("desktop", False)):
        page = await new_page(browser, phone=phone)
        await log_in(page, live_server.url, "boss")
        await page.goto(f"{live_server.url}/insights?{RANGE}")
        assert await page.locator("#deflection-compare").count() == 0
        await page.get_by_label("Compare before and after").fill("2026-03-04")
        await page.locator("form.insights-form").screenshot(path=str(SHOTS / f"insights-compare-{name}-form.png"))
        await page.get_by_role("button", name="Show").click()
        await page.wait_for_url(re.compile(r".*compare=2026-03-04.*"))
        table = page.get_by_role("table", name="Deflection before and after 2026-03-04")
        rate = table.get_by_role("row", name=re.compile("^Deflection rate"))
        assert [c.strip() for c in await rate.get_by_role("cell").all_text_contents()] == ["40.0%", "75.0%"]
        change = " ".join((await page.locator("#compare-change").text_content()).split())
        assert "+35.0 percentage points" in change
        await assert_fits_width(page)
        box = await table.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]
        await table.scroll_into_view_if_needed()
        await page.screenshot(path=str(SHOTS / f"insights-compare-{name}.png"))
        await page.context.close()
