"""Browser journey: sign in with a real OpenID provider on localhost (tests/oidc_provider.py), the
account is created with its role from the claim, sign out through the provider's end-session endpoint,
sign in again and find the same member. The log-in page at 390 px is saved to /tmp/shots15/ and it
and the sign-in methods page are checked by axe-core."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from community.models import MemberSession, User, UserIdentity
from tests.browser import assert_fits_width, start_server, stop_server
from tests.oidc_provider import TestProvider
from tests.test_look_browser import _axe_source

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/shots15")


@pytest.fixture(scope="module")
def provider() -> Iterator[TestProvider]:
    p = TestProvider().start()
    yield p
    p.stop()


@pytest.fixture
def live_server_env(provider: TestProvider) -> dict[str, str]:
    provider.reset()
    provider.now = time.time  # the live server runs on the real clock
    settings = provider.settings(role_claim="groups", role_map={"agents": "staff"})
    return {"OIDC_PROVIDERS": json.dumps([settings])}


async def _axe(page, name: str) -> None:
    source = _axe_source()
    if source is None:
        pytest.fail("axe-core is not installed: `npm install axe-core` at the repository root, or set AXE_CORE_JS")
    await page.evaluate(source)
    result = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    found = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]
    assert found == [], f"{name}: {found}"


async def _through_provider(page, url: str, username: str) -> None:
    await page.goto(url + "/login")
    await page.get_by_role("link", name="Sign in with Acme account").click()
    await page.get_by_label("Provider username").fill(username)
    await page.get_by_label("Provider password").fill("secret-pass")
    await page.get_by_role("button", name="Continue").click()
    await page.wait_for_url(url + "/")


async def test_sign_in_with_the_provider_sign_out_and_back_in(live_server, browser, provider):
    url = live_server.url
    provider.client.redirect_uris = [f"{url}/login/oidc/acme/callback"]
    provider.client.post_logout_redirect_uris = [f"{url}/"]
    provider.add_account("alice", sub="acme-alice", preferred_username="alice", name="Alice Agent",
                         email="alice@acme.example", email_verified=True, groups=["agents"])

    # The log-in page on a phone: the provider's button, fits 390 px, axe finds nothing.
    phone = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                      bypass_csp=True)
    page = await phone.new_page()
    page.set_default_timeout(15000)
    await page.goto(url + "/login")
    await assert_fits_width(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / "login-phone.png"), full_page=True)
    await _axe(page, "log-in page (phone)")
    await phone.close()

    desk = await browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = await desk.new_page()
    page.set_default_timeout(15000)
    await _through_provider(page, url, "alice")
    await page.locator(".profile-link", has_text="alice").wait_for()
    alice = await User.get(username="alice")
    assert alice.role == "staff" and alice.display_name == "Alice Agent" and alice.email_confirmed_at is not None
    assert (await UserIdentity.get(user_id=alice.id)).subject == "acme-alice"

    await page.goto(url + "/account/sign-in")
    await page.get_by_role("heading", name="Acme account").wait_for()
    await _axe(page, "sign-in methods")

    # Sign out: the forum's session ends and the provider's end-session endpoint sends the browser home.
    await page.locator(".desk-logout").get_by_role("button", name="Log out").click()
    await page.wait_for_url(url + "/")
    await page.get_by_role("link", name="Log in").wait_for()
    assert provider.ended and provider.ended[0]["sub"] == "acme-alice"

    # Sign in again: the same member, found by provider and subject.
    await _through_provider(page, url, "alice")
    await page.locator(".profile-link", has_text="alice").wait_for()
    assert await User.all().count() == 1 and (await User.get(username="alice")).id == alice.id
    await desk.close()


async def test_sso_only_log_in_page_on_a_phone(database, tmp_path, browser, provider):
    """SSO_ONLY: the log-in page holds only the provider's button (and the admins' way in); /admin/login works."""
    provider.reset()
    folder = tmp_path / "sso"
    folder.mkdir()
    server = start_server(database, folder, {"OIDC_PROVIDERS": json.dumps([provider.settings()]), "SSO_ONLY": "1"})
    try:
        context = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                            bypass_csp=True)
        page = await context.new_page()
        page.set_default_timeout(15000)
        await page.goto(server.url + "/login")
        await page.get_by_role("link", name="Sign in with Acme account").wait_for()
        assert await page.locator("input[type=password]").count() == 0
        assert await page.get_by_role("link", name="Sign up").count() == 0
        await assert_fits_width(page)
        SHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SHOTS / "login-sso-only-phone.png"), full_page=True)
        await _axe(page, "log-in page under SSO_ONLY (phone)")
        await page.get_by_role("link", name="emergency log-in").click()
        await page.get_by_label("Password").wait_for()
        await assert_fits_width(page)
        await _axe(page, "administrators' log-in (phone)")
        await context.close()
    finally:
        stop_server(server)


async def test_sso_only_a_password_member_links_at_the_first_sign_in(database, tmp_path, browser, provider, users):
    """SSO_ONLY with a member who had a password: the provider's sign-in (same verified address) asks for
    the forum password once, on a phone; a wrong one is refused, the right one links and signs in."""
    provider.reset()
    provider.now = time.time
    carol = await users("carol")  # carol@example.com, password123
    provider.add_account("carol.b", sub="acme-carol", preferred_username="carol.b", email="carol@example.com",
                         email_verified=True)
    folder = tmp_path / "sso-link"
    folder.mkdir()
    server = start_server(database, folder, {"OIDC_PROVIDERS": json.dumps([provider.settings()]), "SSO_ONLY": "1"})
    provider.client.redirect_uris = [f"{server.url}/login/oidc/acme/callback"]
    try:
        context = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                            bypass_csp=True)
        page = await context.new_page()
        page.set_default_timeout(15000)
        await page.goto(server.url + "/login")
        await page.get_by_role("link", name="Sign in with Acme account").click()
        await page.get_by_label("Provider username").fill("carol.b")
        await page.get_by_label("Provider password").fill("secret-pass")
        await page.get_by_role("button", name="Continue").click()
        await page.wait_for_url(server.url + "/login/oidc/acme/existing")
        await page.get_by_role("heading", name="Link your existing account").wait_for()
        await assert_fits_width(page)
        SHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SHOTS / "link-existing-phone.png"), full_page=True)
        await _axe(page, "link an existing account (phone)")
        await page.get_by_label("Forum password").fill("not-my-password")
        await page.get_by_role("button", name="Link and sign in").click()
        await page.get_by_text("That is not the forum password of carol").wait_for()
        assert await UserIdentity.all().count() == 0
        await _axe(page, "link an existing account, wrong password (phone)")
        await page.get_by_label("Forum password").fill("password123")
        await page.get_by_role("button", name="Link and sign in").click()
        await page.wait_for_url(server.url + "/")
        assert (await UserIdentity.get(subject="acme-carol")).user_id == carol.id
        assert await User.all().count() == 1
        assert await MemberSession.filter(user_id=carol.id, ended_at=None).count() == 1
        await context.close()
    finally:
        stop_server(server)
