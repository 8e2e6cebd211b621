"""Sessions and tokens that really end: log-out on the server, password change and reset, suspension,
role changes, token expiry and last use, and members listing and revoking their own tokens."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import itsdangerous

from community import accounts, settings
from community.models import ApiToken, MemberSession, User
from tests.conftest import login, token_for

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@asynccontextmanager
async def browser(app) -> AsyncIterator[httpx.AsyncClient]:
    """Another browser (its own cookie jar) on the same app."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


async def logged_in_as(client: httpx.AsyncClient, name: str) -> bool:
    """Whether the home page greets `name` as a member (an ended session gets the anonymous page)."""
    page = await client.get("/")
    assert page.status_code == 200
    member = "Log out" in page.text
    assert member == (f">{name} <span" in page.text)
    return member


async def _form_csrf(client: httpx.AsyncClient, path: str = "/account") -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return CSRF.search(page.text).group(1)


# Log out.


async def test_log_out_ends_the_session_so_a_replayed_cookie_is_anonymous(client, users):
    await users("nia")
    csrf = await login(client, "nia")
    cookie = client.cookies["session"]
    assert await logged_in_as(client, "nia")

    r = await client.post("/logout", data={"csrf_token": csrf})
    assert r.status_code == 303
    row = await MemberSession.get(user__username="nia")
    assert row.ended_at is not None

    # Replaying the old cookie (someone copied it, or the browser kept it) gets the anonymous page.
    client.cookies.clear()
    client.cookies.set("session", cookie)
    assert not await logged_in_as(client, "nia")
    r = await client.get("/questions")
    assert r.headers["set-cookie"].startswith("session=null;")  # the dead cookie is dropped: cached pages again
    client.cookies.set("session", cookie)
    r = await client.get("/inbox")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    r = await client.get("/api/v1/me")
    assert r.status_code == 401


async def test_a_cookie_carrying_only_the_member_id_logs_nobody_in(client, users):
    """Cookies signed before server-side sessions existed (and any without a session key) are anonymous."""
    nia = await users("nia")
    signer = itsdangerous.TimestampSigner("test-secret")
    payload = base64.b64encode(json.dumps({"uid": nia.id, "csrf": "x"}).encode())
    client.cookies.set("session", signer.sign(payload).decode())
    assert not await logged_in_as(client, "nia")
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_a_session_key_only_works_for_its_own_member(app, client, users):
    """A live session of one member named beside another member's id logs nobody in."""
    nia, omar = await users("nia"), await users("omar")
    await login(client, "nia")
    key = (await MemberSession.get(user_id=nia.id)).key
    signer = itsdangerous.TimestampSigner("test-secret")
    payload = base64.b64encode(json.dumps({"uid": omar.id, "sid": key, "csrf": "x"}).encode())
    async with browser(app) as other:
        other.cookies.set("session", signer.sign(payload).decode())
        assert not await logged_in_as(other, "omar")
    assert await logged_in_as(client, "nia")  # the key itself still works for its member


async def test_logging_in_again_in_the_same_browser_ends_the_earlier_session(app, client, users):
    await users("nia")
    await login(client, "nia")
    first = client.cookies["session"]
    await login(client, "nia")
    assert [s.ended_at is not None for s in await MemberSession.all().order_by("id")] == [True, False]
    async with browser(app) as replay:
        replay.cookies.set("session", first)
        assert not await logged_in_as(replay, "nia")


async def test_last_seen_is_written_at_most_every_few_minutes(client, users, fake_clock):
    await users("nia")
    started = fake_clock.now()
    await login(client, "nia")
    row = await MemberSession.get(user__username="nia")
    assert (row.created_at, row.last_seen_at) == (started, started)
    fake_clock.advance(minutes=4)
    await client.get("/")
    assert (await MemberSession.get(id=row.id)).last_seen_at == started  # within 5 minutes: no write
    later = fake_clock.advance(minutes=2)
    await client.get("/")
    assert (await MemberSession.get(id=row.id)).last_seen_at == later


# Password reset and change.


async def test_password_reset_ends_every_session_and_revokes_every_token(app, client, users):
    lena = await users("lena")
    headers = await token_for(client, "lena")
    await login(client, "lena")
    async with browser(app) as phone:
        await login(phone, "lena")
        assert await logged_in_as(phone, "lena")

        link = accounts.reset_token(lena, "test-secret")
        async with browser(app) as resetting:
            token = await _form_csrf(resetting, f"/reset/{link}")
            r = await resetting.post(f"/reset/{link}", data={"password": "a brand new one", "csrf_token": token})
            assert r.status_code == 303
            assert await logged_in_as(resetting, "lena")  # the reset logs in the browser that did it

        assert not await logged_in_as(phone, "lena")
        assert not await logged_in_as(client, "lena")
        r = await client.get("/api/v1/me", headers=headers)
        assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"
        assert await ApiToken.filter(user_id=lena.id, revoked_at=None).count() == 0
        assert await MemberSession.filter(user_id=lena.id, ended_at=None).count() == 1


async def test_changing_the_password_keeps_this_session_and_ends_the_others(app, client, users):
    nia = await users("nia")
    headers = await token_for(client, "nia")
    await login(client, "nia")
    async with browser(app) as laptop:
        await login(laptop, "nia")
        csrf = await _form_csrf(client)
        r = await client.post("/account/password", data={"current_password": "password123",
                                                          "new_password": "correct horse battery", "csrf_token": csrf})
        assert r.status_code == 303 and r.headers["location"] == "/account?done=password#password"
        page = await client.get(r.headers["location"])
        assert "Your password is changed" in page.text and "this browser" in page.text

        assert await logged_in_as(client, "nia")
        assert not await logged_in_as(laptop, "nia")
        assert (await client.get("/api/v1/me", headers=headers)).status_code == 401

    async with browser(app) as script:
        r = await script.post("/api/v1/tokens", json={"username": "nia", "password": "password123"})
        assert r.status_code == 422  # the old password is gone
        assert (await token_for(script, "nia", "correct horse battery"))["Authorization"].startswith("Bearer ")
    assert await MemberSession.filter(user_id=nia.id, ended_at=None).count() == 1


async def test_a_wrong_current_password_changes_nothing_and_says_which_field(app, client, users):
    nia = await users("nia")
    headers = await token_for(client, "nia")
    await login(client, "nia")
    csrf = await _form_csrf(client)
    r = await client.post("/account/password", data={"current_password": "not my password",
                                                      "new_password": "correct horse battery", "csrf_token": csrf})
    assert r.status_code == 422
    assert 'id="current_password-error"' in r.text and "not your current password" in r.text
    assert "correct horse battery" not in r.text and "not my password" not in r.text  # passwords never come back
    r = await client.post("/account/password", data={"current_password": "password123", "new_password": "short",
                                                      "csrf_token": csrf})
    assert r.status_code == 422 and 'id="new_password-error"' in r.text and "at least 8 characters" in r.text
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    assert (await User.get(id=nia.id)).password_hash == nia.password_hash
    r = await client.post("/account/password", data={"current_password": "password123",
                                                      "new_password": "correct horse battery", "csrf_token": "forged"})
    assert r.status_code == 403
    assert (await User.get(id=nia.id)).password_hash == nia.password_hash


async def test_guessing_the_current_password_is_stopped_after_a_few_tries(client, users, fake_clock):
    """A stolen session must not become the account by guessing its password on the change form."""
    nia = await users("nia")
    csrf = await login(client, "nia")
    settings.override("auth.password_change_failures", 3)

    async def change(current: str) -> httpx.Response:
        return await client.post("/account/password", data={"current_password": current,
                                                             "new_password": "taken over now", "csrf_token": csrf})

    for n in range(3):
        fake_clock.advance(minutes=10)
        assert (await change(f"guess {n}")).status_code == 422
    r = await change("password123")  # even the right one waits now
    assert r.status_code == 429 and "Too many wrong current passwords. Try again in 40 minutes" in r.text
    assert (await User.get(id=nia.id)).password_hash == nia.password_hash
    fake_clock.advance(minutes=41)  # the first guess is over an hour old
    assert (await change("password123")).status_code == 303


async def test_the_account_page_needs_a_member(client):
    r = await client.get("/account")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/account"


# Suspension and role changes.


async def test_suspension_ends_the_members_sessions(app, client, users):
    spammer = await users("spammer", 50)
    await users("mod", 1, "moderator")
    spam_token = await token_for(client, "spammer")
    mod = await token_for(client, "mod")
    await login(client, "spammer")

    r = await client.post(f"/api/v1/users/{spammer.id}/suspend", headers=mod,
                          json={"days": 3, "reason": "Posting the same advert in every thread."})
    assert r.status_code == 200, r.text
    assert not await logged_in_as(client, "spammer")
    # Tokens stay, so the member's programs read the reason instead of a bare 401; they cannot write.
    r = await client.post("/api/v1/questions", headers=spam_token, json={"title": "Buy cheap eSIMs here today", "body": "x" * 40})
    assert r.status_code == 403 and "the same advert" in r.json()["error"]["message"]

    # Lifting it (0 days) ends nothing: the member logs in again and stays in.
    await login(client, "spammer")
    r = await client.post(f"/api/v1/users/{spammer.id}/suspend", headers=mod, json={"days": 0})
    assert r.status_code == 200
    assert await logged_in_as(client, "spammer")


async def test_suspending_from_the_moderator_page_ends_sessions_too(app, client, users):
    member = await users("member")
    await users("mod", 1, "moderator")
    await login(client, "member")
    async with browser(app) as mod:
        csrf = await login(mod, "mod")
        r = await mod.post(f"/users/{member.id}/suspend", data={"days": "1", "reason": "Rude replies to everyone today.",
                                                                 "csrf_token": csrf})
        assert r.status_code == 303, r.text
    assert (await User.get(id=member.id)).suspended_until is not None
    assert not await logged_in_as(client, "member")


async def test_a_role_change_ends_the_members_sessions(app, client, users):
    await users("ann")
    headers = await token_for(client, "ann")
    await login(client, "ann")
    await accounts.set_role("ann", "member")  # no change: nothing ends
    assert await logged_in_as(client, "ann")
    await accounts.set_role("ann", "moderator")
    assert not await logged_in_as(client, "ann")
    assert (await client.get("/api/v1/me", headers=headers)).json()["role"] == "moderator"  # tokens stay (the role is read per request)
    await login(client, "ann")
    page = await client.get("/")
    assert 'href="/review"' in page.text  # a new session under the new role


# API tokens: expiry, last use, label.


async def test_a_token_stops_working_when_it_expires(client, users, fake_clock):
    await users("omar")
    r = await client.post("/api/v1/tokens", json={"username": "omar", "password": "password123", "label": "backup script"})
    assert r.status_code == 201
    body = r.json()
    assert body["label"] == "backup script" and body["expires_at"] == "2026-04-05T09:00:00+00:00"  # 90 days on
    headers = {"Authorization": f"Bearer {body['token']}"}
    fake_clock.advance(days=89, hours=23)
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    fake_clock.advance(hours=1)
    r = await client.get("/api/v1/me", headers=headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"


async def test_token_lifetime_is_a_setting_and_old_tokens_without_expiry_expire_too(client, users, fake_clock):
    omar = await users("omar")
    settings.override("auth.token_days", 7)
    headers = await token_for(client, "omar")
    row = await ApiToken.get(user_id=omar.id)
    assert row.expires_at == fake_clock.now() + timedelta(days=7)
    legacy = "legacy-token-from-before-expiry"
    await ApiToken.create(user=omar, digest=accounts._digest(legacy), created_at=fake_clock.now())
    legacy_headers = {"Authorization": f"Bearer {legacy}"}
    assert (await client.get("/api/v1/me", headers=legacy_headers)).status_code == 200
    fake_clock.advance(days=7, seconds=1)
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
    assert (await client.get("/api/v1/me", headers=legacy_headers)).status_code == 401


async def test_last_use_is_written_at_most_every_few_minutes(client, users, fake_clock):
    omar = await users("omar")
    headers = await token_for(client, "omar")
    assert (await ApiToken.get(user_id=omar.id)).last_used_at is None
    first = fake_clock.advance(minutes=1)
    await client.get("/api/v1/me", headers=headers)
    assert (await ApiToken.get(user_id=omar.id)).last_used_at == first
    fake_clock.advance(minutes=4)
    await client.get("/api/v1/me", headers=headers)
    assert (await ApiToken.get(user_id=omar.id)).last_used_at == first
    later = fake_clock.advance(minutes=2)
    await client.get("/api/v1/me", headers=headers)
    assert (await ApiToken.get(user_id=omar.id)).last_used_at == later


async def test_a_label_is_checked(client, users):
    await users("omar")
    r = await client.post("/api/v1/tokens", json={"username": "omar", "password": "password123", "label": "x" * 61})
    assert r.status_code == 422 and r.json()["error"]["field"] == "label"
    r = await client.post("/api/v1/tokens", json={"username": "omar", "password": "password123", "label": ["a"]})
    assert r.status_code == 422 and r.json()["error"]["field"] == "label"
    assert await ApiToken.all().count() == 0


# Listing and revoking tokens: API.


async def test_list_and_revoke_tokens_through_the_api(client, users, fake_clock):
    await users("omar")
    r = await client.post("/api/v1/tokens", json={"username": "omar", "password": "password123", "label": "laptop"})
    laptop = {"Authorization": f"Bearer {r.json()['token']}"}
    laptop_id = r.json()["id"]
    fake_clock.advance(minutes=10)
    r = await client.post("/api/v1/tokens", json={"username": "omar", "password": "password123", "label": "ci"})
    ci = {"Authorization": f"Bearer {r.json()['token']}"}

    r = await client.get("/api/v1/tokens", headers=laptop)
    assert r.status_code == 200
    items = r.json()["items"]
    assert [(t["label"], t["current"]) for t in items] == [("ci", False), ("laptop", True)]
    assert items[1] == {"id": laptop_id, "label": "laptop", "created_at": "2026-01-05T09:00:00+00:00",
                        "last_used_at": "2026-01-05T09:10:00+00:00", "expires_at": "2026-04-05T09:00:00+00:00",
                        "current": True}
    assert "token" not in json.dumps(items).replace("tokens", "")  # the secret is never listed

    r = await client.delete(f"/api/v1/tokens/{laptop_id}", headers=ci)
    assert r.status_code == 204
    assert (await client.get("/api/v1/me", headers=laptop)).status_code == 401
    assert [t["label"] for t in (await client.get("/api/v1/tokens", headers=ci)).json()["items"]] == ["ci"]
    r = await client.delete(f"/api/v1/tokens/{laptop_id}", headers=ci)
    assert r.status_code == 404  # already revoked
    for bad in ("abc", "99999999999999999999", "0", "-1"):
        assert (await client.delete(f"/api/v1/tokens/{bad}", headers=ci)).status_code == 404
    assert (await client.delete("/api/v1/tokens/current", headers=ci)).status_code == 204  # still there
    assert (await client.get("/api/v1/tokens", headers=ci)).status_code == 401
    assert (await client.get("/api/v1/tokens")).status_code == 401


async def test_another_member_cannot_revoke_your_token(app, client, users):
    await users("omar")
    await users("eve")
    r = await client.post("/api/v1/tokens", json={"username": "omar", "password": "password123"})
    omar, omar_id = {"Authorization": f"Bearer {r.json()['token']}"}, r.json()["id"]
    eve = await token_for(client, "eve")
    r = await client.delete(f"/api/v1/tokens/{omar_id}", headers=eve)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert [t["id"] for t in (await client.get("/api/v1/tokens", headers=eve)).json()["items"]] != [omar_id]

    async with browser(app) as eve_browser:
        csrf = await login(eve_browser, "eve")
        r = await eve_browser.post(f"/account/tokens/{omar_id}/revoke", data={"csrf_token": csrf})
        assert r.status_code == 404
    assert (await client.get("/api/v1/me", headers=omar)).status_code == 200


async def test_cookie_callers_of_the_token_api_need_the_csrf_header(client, users):
    omar = await users("omar")
    await token_for(client, "omar")
    csrf = await login(client, "omar")
    row = await ApiToken.get(user_id=omar.id)
    assert (await client.get("/api/v1/tokens")).json()["items"][0]["id"] == row.id
    assert (await client.delete(f"/api/v1/tokens/{row.id}")).status_code == 403
    assert (await client.delete(f"/api/v1/tokens/{row.id}", headers={"X-CSRF-Token": csrf})).status_code == 204


# Listing and revoking tokens: the account page.


async def test_create_list_and_revoke_tokens_on_the_account_page(client, users, fake_clock):
    await users("nia")
    await login(client, "nia")
    page = await client.get("/account")
    assert page.status_code == 200 and "You have no API tokens." in page.text
    assert page.headers["cache-control"] == "no-store"

    r = await client.post("/account/tokens", data={"label": "  home   assistant ", "csrf_token": CSRF.search(page.text).group(1)})
    assert r.status_code == 200
    token = re.search(r'<code class="token-value">([^<]+)</code>', r.text).group(1)
    assert "it is not shown again" in r.text and "“home assistant”" in r.text
    headers = {"Authorization": f"Bearer {token}"}
    fake_clock.advance(hours=2)
    assert (await client.get("/api/v1/me", headers=headers)).json()["username"] == "nia"

    page = await client.get("/account")
    assert token not in page.text  # shown once only
    row = re.search(r'<tr>\s*<td data-label="Label"><span>home assistant</span></td>.*?</tr>', page.text, re.S).group(0)
    cells = re.findall(r'<td data-label="[^"]+"><span>(.*?)</span></td>', row, re.S)
    assert cells == ["home assistant", "2026-01-05 09:00", "2026-01-05 11:00", "2026-04-05"]
    r = await client.post(f"/account/tokens/{(await ApiToken.get(label='home assistant')).id}/revoke",
                          data={"csrf_token": CSRF.search(page.text).group(1)})
    assert r.status_code == 303 and r.headers["location"] == "/account?done=revoked#tokens"
    page = await client.get(r.headers["location"])
    assert "The token is revoked" in page.text and "home assistant" not in page.text
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401


async def test_a_rejected_label_comes_back_with_the_text(client, users):
    await users("nia")
    csrf = await login(client, "nia")
    r = await client.post("/account/tokens", data={"label": "y" * 70, "csrf_token": csrf})
    assert r.status_code == 422 and "Keep the label to 60 characters" in r.text and 'value="' + "y" * 70 + '"' in r.text
    assert await ApiToken.all().count() == 0


async def test_an_expired_token_is_marked_on_the_page(client, users, fake_clock):
    await users("nia")
    await token_for(client, "nia")
    fake_clock.advance(days=91)
    await login(client, "nia")
    page = await client.get("/account")
    assert '<span class="expired">Expired 2026-04-05</span>' in page.text


async def test_log_out_everywhere_else_from_the_account_page(app, client, users):
    await users("nia")
    await login(client, "nia")
    async with browser(app) as phone:
        await login(phone, "nia")
        page = await client.get("/account")
        assert page.text.count('data-label="Browser"') == 2 and page.text.count("this browser") == 1
        r = await client.post("/account/sessions/end-others", data={"csrf_token": CSRF.search(page.text).group(1)})
        assert r.status_code == 303
        assert not await logged_in_as(phone, "nia")
        assert await logged_in_as(client, "nia")
        page = await client.get("/account")
        assert page.text.count('data-label="Browser"') == 1 and "Log out everywhere else" not in page.text


async def test_the_profile_links_its_owner_to_the_account_page(client, users):
    nia, omar = await users("nia"), await users("omar")
    await login(client, "nia")
    assert 'href="/account"' in (await client.get(f"/users/{nia.id}")).text
    assert 'href="/account"' not in (await client.get(f"/users/{omar.id}")).text


async def test_the_openapi_document_describes_the_token_operations(client):
    paths = (await client.get("/api/v1/openapi.json")).json()["paths"]
    assert paths["/api/v1/tokens"]["get"]["security"] == [{"bearer": []}]
    assert "label" in paths["/api/v1/tokens"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]
    op = paths["/api/v1/tokens/{token_id}"]["delete"]
    assert {"name": "token_id", "in": "path", "required": True, "schema": {"type": "integer"}} in op["parameters"]
    assert "204" in op["responses"]
