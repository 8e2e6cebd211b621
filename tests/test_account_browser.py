"""Browser journey: a member opens their account page from their profile, makes an API token, sees
it listed, revokes it, logs out their other browser and changes their password, on a phone and on
a desktop. SCREENSHOTS=folder saves what each step looked like."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.browser import assert_fits_width, log_in, new_page

pytestmark = pytest.mark.browser


async def _shot(page, name: str) -> None:
    folder = os.environ.get("SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("phone", [True, False], ids=["phone", "desktop"])
async def test_account_page_tokens_sessions_and_password(live_server, browser, users, phone):
    await users("nia")
    url = live_server.url
    other = await new_page(browser)
    await log_in(other, url, "nia")
    page = await new_page(browser, phone=phone)
    await log_in(page, url, "nia")
    size = "phone" if phone else "desktop"

    await page.get_by_role("link", name="nia").first.click()
    await page.get_by_role("link", name="Account settings").click()
    await page.wait_for_url(url + "/account")
    assert await page.locator("td[data-label=Browser]").count() == 2
    await assert_fits_width(page)

    await page.get_by_label("Label").fill("Home automation")
    await page.get_by_role("button", name="Create token").click()
    token = (await page.locator("code.token-value").inner_text()).strip()
    await assert_fits_width(page)
    await _shot(page, f"account-new-token-{size}")
    r = httpx.get(url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["username"] == "nia"
    await page.goto(url + "/account")  # the token's last use shows
    assert "Home automation" in await page.locator("#tokens ~ table").inner_text()
    await assert_fits_width(page)
    await _shot(page, f"account-{size}")

    await page.get_by_role("button", name="Revoke Home automation").click()
    await page.wait_for_url(url + "/account?done=revoked#tokens")
    assert await page.get_by_text("The token is revoked").is_visible()
    assert httpx.get(url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401

    await page.get_by_role("button", name="Log out everywhere else").click()
    await page.wait_for_url(url + "/account?done=sessions#sessions")
    await other.goto(url + "/")
    assert await other.get_by_role("link", name="Log in").is_visible()

    await page.get_by_label("Current password").fill("not the password")
    await page.get_by_label("New password").fill("a much longer secret")
    await page.get_by_role("button", name="Change password").click()
    assert await page.get_by_text("That is not your current password").is_visible()
    await assert_fits_width(page)
    await _shot(page, f"account-error-{size}")
    await page.get_by_label("Current password").fill("password123")
    await page.get_by_label("New password").fill("a much longer secret")
    await page.get_by_role("button", name="Change password").click()
    await page.wait_for_url(url + "/account?done=password#password")
    assert await page.get_by_text("Your password is changed").is_visible()
    await other.context.close()
    await page.context.close()
