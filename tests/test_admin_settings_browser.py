"""Browser journey through the admin console's Settings: an admin refuses to be let save a negative SLA
or an unknown time zone (the page keeps what was typed, nothing is saved), then shortens the
first-answer SLA and gives a tag its own; a new question then escalates on the new SLAs (the sweeper
run here, on the fake clock, after this process takes up the change as every worker does); the
moderation log shows the changes; the pages fit a phone and axe-core finds nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from community import questions, settings, slugs
from community.models import CommunitySetting
from community.support import sweeper
from community.support.models import Ticket
from tests.browser import assert_fits_width, log_in, new_page
from tests.test_look_browser import _axe_source

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots15")
BODY = "Since this morning the phone shows full signal but no page loads at all."
FIRST = "Minutes a question may wait for a first answer before escalation"
PER_TAG = "Per-tag first-answer SLA overrides, in minutes"
HOURS = "Business hours during which the SLA clock runs, or none"
ZONE = "The community's time zone: times for visitors and for members who chose none"


@pytest.fixture
def live_server_env() -> dict[str, str]:
    return {"RUN_SWEEPER": "0", "RUN_INDEXER": "0"}  # this test sweeps, on its fake clock


async def _tickets() -> set[int]:
    return {t.question_id for t in await Ticket.all()}


async def test_admin_changes_the_sla_and_a_new_question_escalates_on_it(live_server, browser, users, fake_clock):
    await users("boss", 1, "admin")
    customer = await users("customer", 1000)
    url = live_server.url
    admin = await new_page(browser)
    await log_in(admin, url, "boss")
    await admin.get_by_role("link", name="Admin", exact=True).click()
    await admin.get_by_role("link", name="Settings", exact=True).click()
    await admin.wait_for_url(url + "/admin/settings")

    # Refused: a negative SLA and business hours in a time zone that does not exist. Kept as typed.
    typed_hours = '{"timezone": "Mars/Olympus_Mons", "days": ["mon", "tue"], "start": "09:00", "end": "17:00"}'
    await admin.get_by_label(FIRST).fill("-5")
    await admin.get_by_label(HOURS).fill(typed_hours)
    await admin.get_by_role("button", name="Save SLA and business hours").click()
    await admin.wait_for_load_state()
    assert await admin.locator("#set-sla-first_answer_minutes-error").inner_text() == "Give 1 or more minutes."
    assert "Unknown time zone 'Mars/Olympus_Mons'" in await admin.locator("#set-sla-business_hours-error").inner_text()
    assert await admin.get_by_label(FIRST).input_value() == "-5"
    assert await admin.get_by_label(HOURS).input_value() == typed_hours
    assert "Nothing was saved" in await admin.get_by_role("alert").first.inner_text()

    await admin.get_by_label(ZONE).fill("Atlantis/Capital")
    await admin.get_by_role("button", name="Save brand and time zone").click()
    await admin.wait_for_load_state()
    assert "is not a time zone we know" in await admin.locator("#set-site-time_zone-error").inner_text()
    assert await admin.get_by_label(ZONE).input_value() == "Atlantis/Capital"
    assert await CommunitySetting.all().count() == 0

    # Saved: 30 minutes for every question, 5 for roaming ones (billing keeps its 15).
    await admin.get_by_label(FIRST).fill("30")
    await admin.get_by_label(HOURS).fill("")
    await admin.get_by_label(PER_TAG).fill('{"billing": 15, "roaming": 5}')
    await admin.get_by_role("button", name="Save SLA and business hours").click()
    await admin.wait_for_url(re.compile(r".*/admin/settings\?saved=support&changed=2#support$"))
    assert "Saved 2 changes" in await admin.get_by_role("status").inner_text()
    assert await admin.get_by_label(FIRST).input_value() == "30"

    # This process follows the table as every worker does (settings.follow); then a new question.
    assert settings.get("sla.first_answer_minutes") == 60
    await settings.refresh(force=True)
    assert (settings.get("sla.first_answer_minutes"), settings.get("sla.tag_minutes")) == (30, {"billing": 15, "roaming": 5})
    roaming = await questions.ask(customer, "Roaming stopped working in Spain", BODY, ["roaming"])
    plain = await questions.ask(customer, "Mobile data stopped after the update", BODY, ["data"])
    fake_clock.advance(minutes=6)
    await sweeper.sweep()
    assert await _tickets() == {roaming.id}  # past its tag's 5 minutes; the old rules gave it an hour
    fake_clock.advance(minutes=25)
    await sweeper.sweep()
    assert await _tickets() == {roaming.id, plain.id}  # 31 minutes: past the new 30, long before the old 60

    await admin.goto(url + slugs.question_path(roaming))
    assert await admin.get_by_text("Escalated to our support team").count() >= 1

    await admin.goto(url + "/moderation/log?action=setting")
    rows = await admin.locator("table.audit-log tbody tr").all_inner_texts()
    assert len(rows) == 2 and all("boss" in r and "Changed a setting" in r for r in rows)
    assert any("sla.first_answer_minutes: 60 → 30" in r for r in rows)
    assert any('sla.tag_minutes: {"billing": 15} → {"billing": 15, "roaming": 5}' in r for r in rows)
    await admin.context.close()


async def test_the_console_fits_a_phone_and_axe_finds_nothing(live_server, browser, phone_page, users):
    await users("boss", 1, "admin")
    url = live_server.url
    SHOTS.mkdir(parents=True, exist_ok=True)
    await log_in(phone_page, url, "boss")
    await phone_page.goto(url + "/admin")
    await assert_fits_width(phone_page)
    await phone_page.screenshot(path=str(SHOTS / "admin-phone.png"), full_page=True)
    await phone_page.goto(url + "/admin/settings")
    await phone_page.get_by_label(FIRST).fill("-5")
    await phone_page.get_by_role("button", name="Save SLA and business hours").click()
    await phone_page.wait_for_load_state()
    error = phone_page.locator("#set-sla-first_answer_minutes-error")
    assert await error.inner_text() == "Give 1 or more minutes."
    await assert_fits_width(phone_page)
    await phone_page.get_by_label(FIRST).scroll_into_view_if_needed()
    await phone_page.screenshot(path=str(SHOTS / "settings-phone-refused.png"))

    source = _axe_source()
    if source is None:
        pytest.fail("axe-core is not installed: `npm install axe-core` at the repository root, or set AXE_CORE_JS")
    for phone in (False, True):
        context = await browser.new_context(viewport={"width": 390, "height": 844} if phone else {"width": 1280, "height": 900},
                                            is_mobile=phone, bypass_csp=True)
        page = await context.new_page()
        await log_in(page, url, "boss")
        for path in ("/admin", "/admin/settings", "refused"):
            if path == "refused":  # the page as it comes back with messages by its fields
                await page.get_by_label(FIRST).fill("-5")
                await page.get_by_role("button", name="Save SLA and business hours").click()
                await page.wait_for_load_state()
            else:
                await page.goto(url + path)
            await page.evaluate(source)
            await page.screenshot(path=str(SHOTS / f"{path.strip('/').replace('/', '-')}-{'phone' if phone else 'desktop'}-axe.png"))
            result = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
            found = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]
            assert found == [], f"{path} ({'phone' if phone else 'desktop'}): {found}"
        await context.close()
