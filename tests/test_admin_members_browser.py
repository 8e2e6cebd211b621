"""The admin console's Members and Delivery pages in a real browser: a moderator on a 390 px phone finds a
member by email and suspends them with a reason, and the member page then shows the suspension; an admin
on a desktop changes a member's role and looks at the delivery outboxes. Every page fits the phone and
axe-core finds nothing. Screenshots go to SCREENSHOTS (default /tmp/shots15)."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest

from community import clock, mail
from community.models import OutgoingMail, User
from tests.browser import assert_fits_width, log_in, new_page

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("SCREENSHOTS", "/tmp/shots15"))
REASON = "Posting the same referral link in every thread"


def _axe_source() -> str:
    for candidate in (os.environ.get("AXE_CORE_JS", ""), str(ROOT / "node_modules" / "axe-core" / "axe.min.js")):
        if candidate and Path(candidate).is_file():
            return Path(candidate).read_text()
    pytest.fail("axe-core is not installed: run `npm install axe-core` at the repository root, or set AXE_CORE_JS")


async def _check(page, name: str) -> None:
    """Fits the viewport, axe finds no violation, and a screenshot to look at."""
    await assert_fits_width(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    await page.evaluate(_axe_source())
    result = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    found = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]
    assert found == [], f"{name}: {found}"


async def _community(users) -> dict[str, User]:
    made = {"boss": await users("boss", 1, "admin"), "mod": await users("mod", 1, "moderator")}
    made["lena"] = await users("lena", 35)
    await User.filter(id=made["lena"].id).update(email="lena.k@customer.example", display_name="Lena Kowalski")
    made["omar"] = await users("omar", 1200)
    for n in range(3):
        await users(f"reader{n}")
    bounced = await users("gone")
    await User.filter(id=bounced.id).update(email_bouncing_at=clock.now() - timedelta(days=2),
                                            email_bounce_reason="550 5.1.1 No such mailbox here")
    row = await mail.queue("omar@example.com", "Your answer was accepted", "Well done.", "notification")
    await OutgoingMail.filter(id=row.id).update(attempts=6, failed_at=clock.now(), last_error="SMTPConnectError: connection refused")
    return made


async def test_a_moderator_suspends_by_email_on_a_phone_and_an_admin_changes_a_role(live_server, browser, users):
    made = await _community(users)
    url = live_server.url

    phone = await new_page(browser, phone=True)
    await log_in(phone, url, "mod")
    await phone.goto(url + "/admin/members")
    await _check(phone, "members-phone")
    await phone.get_by_label("Search by username, display name or email").fill("LENA.K@customer")
    await phone.get_by_role("button", name="Search", exact=True).last.click()
    await phone.wait_for_url(re.compile(r"/admin/members\?q=LENA\.K%40customer$"))
    rows = phone.locator("table.member-list tbody tr")
    assert await rows.count() == 1
    assert "lena.k@customer.example" in await rows.first.inner_text()
    await _check(phone, "members-search-phone")
    await phone.get_by_role("link", name="Lena Kowalski").click()
    await phone.wait_for_url(f"{url}/admin/members/{made['lena'].id}")
    assert not await phone.get_by_role("button", name="Change role").count()  # roles are an admin's
    await phone.get_by_label("Days").fill("3")
    await phone.get_by_label("Reason").fill("spam")  # too short: refused, and kept
    await phone.get_by_role("button", name="Suspend", exact=True).click()
    assert "at least 10 characters" in await phone.locator("#reason-error").inner_text()
    assert await phone.get_by_label("Reason").input_value() == "spam"
    await phone.get_by_label("Reason").fill(REASON)
    await phone.get_by_role("button", name="Suspend", exact=True).click()
    await phone.wait_for_url(f"{url}/admin/members/{made['lena'].id}?done=suspend")
    assert "The member is suspended" in await phone.get_by_role("status").inner_text()
    facts = await phone.locator(".member-facts").inner_text()
    assert "Suspended" in facts and REASON in facts
    assert await phone.get_by_role("button", name="Lift the suspension").is_visible()
    await _check(phone, "member-suspended-phone")
    lena = await User.get(id=made["lena"].id)
    assert lena.suspended_until is not None and lena.suspension_reason == REASON

    desk = await new_page(browser)
    await log_in(desk, url, "boss")
    await desk.goto(url + "/admin/members?q=omar")
    await desk.get_by_role("link", name="omar", exact=True).click()
    await desk.get_by_label("New role").select_option(label="Support agent")
    await desk.get_by_role("button", name="Change role").click()
    await desk.wait_for_url(f"{url}/admin/members/{made['omar'].id}?done=role")
    assert "The role is changed" in await desk.get_by_role("status").inner_text()
    assert "Support agent" in await desk.locator(".member-facts").inner_text()
    assert "Member → Support agent" in await desk.locator("#log-heading + table").inner_text()
    await _check(desk, "member-role-desktop")
    assert (await User.get(id=made["omar"].id)).role == "staff"
    await desk.goto(url + "/admin/members")
    await _check(desk, "members-desktop")

    await desk.goto(url + "/admin/delivery")
    assert "connection refused" in await desk.locator("#mail-heading ~ table").inner_text()
    await _check(desk, "delivery-desktop")
    await desk.get_by_role("button", name="Clear the bounce of gone@example.com").click()
    await desk.wait_for_url(url + "/admin/delivery?cleared=1")
    assert "No address is bouncing." in await desk.locator("#bounce-heading ~ p").first.inner_text()
    admin_phone = await new_page(browser, phone=True)
    await log_in(admin_phone, url, "boss")
    await admin_phone.goto(url + "/admin/delivery")
    await _check(admin_phone, "delivery-phone")
