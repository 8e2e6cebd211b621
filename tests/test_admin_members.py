"""The admin console's Members section (community/admin/members.py, members_console.py): search by name or
email with cursor paging, each member's status and sign-in methods, and the actions (role, suspension,
reset link, end sessions) as pages and API, each with its effect in the database, its permission and its
audit row."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx

from community import clock
from community.models import ApiToken, MemberSession, OutgoingMail, User, UserIdentity
from moderation.models import AuditEntry
from tests.conftest import login, token_for

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def other_client(app) -> httpx.AsyncClient:
    """A second browser (its own cookies) on the same app."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def audit_actions(user_id: int) -> list[tuple[str, str]]:
    rows = await AuditEntry.filter(user_id=user_id).order_by("id").prefetch_related("actor")
    return [(e.action, e.actor.username if e.actor else "") for e in rows]


async def test_search_by_name_display_name_and_email_in_any_case(database, client, users):
    await users("boss", 1, "admin")
    alice = await users("alice", 120)
    await User.filter(id=alice.id).update(display_name="Alice Liddell")
    bob = await users("bob")
    await User.filter(id=bob.id).update(email="Robert.Smith@Corp.Example")
    await users("carol")
    h = await token_for(client, "boss")

    async def found(q: str) -> list[str]:
        r = await client.get("/api/v1/admin/users", params={"q": q}, headers=h)
        assert r.status_code == 200, r.text
        assert r.json()["next"] is None
        return [u["username"] for u in r.json()["items"]]

    assert await found("ALI") == ["alice"]  # username and display name
    assert await found("liddell") == ["alice"]  # display name only
    assert await found("corp.example") == ["bob"]  # email only
    assert await found("robert.smith@corp") == ["bob"]
    assert await found("%") == []  # LIKE's wildcards are taken literally
    assert await found("_") == []
    assert await found("") == ["carol", "bob", "alice", "boss"]  # everyone, newest first
    item = (await client.get("/api/v1/admin/users", params={"q": "alice"}, headers=h)).json()["items"][0]
    assert item == {"id": alice.id, "username": "alice", "display_name": "Alice Liddell", "email": "alice@example.com",
                    "role": "member", "reputation": 120, "status": "active", "last_seen_at": None,
                    "sign_in_methods": ["password"], "created_at": alice.created_at.isoformat(), "suspended_until": None,
                    "suspension_reason": "", "email_bouncing_at": None, "email_bounce_reason": ""}

    await login(client, "boss")
    page = await client.get("/admin/members", params={"q": "corp.EXAMPLE"})
    assert page.status_code == 200
    assert 'href="/admin/members/%d"' % bob.id in page.text and "Robert.Smith@Corp.Example" in page.text
    assert f'href="/admin/members/{alice.id}"' not in page.text
    page = await client.get("/admin/members", params={"q": "nobody-here"})
    assert page.status_code == 200 and "No member’s username, display name or email contains “nobody-here”" in page.text


async def test_search_pages_with_a_cursor_and_refuses_a_broken_one(database, client, users):
    await users("boss", 1, "admin")
    for n in range(30):
        await User.create(username=f"paged{n:02d}", email=f"paged{n:02d}@example.com", created_at=clock.now())
    h = await token_for(client, "boss")
    seen, cursor, pages = [], None, 0
    while True:
        r = await client.get("/api/v1/admin/users", params={"q": "PAGED", **({"cursor": cursor} if cursor else {})}, headers=h)
        assert r.status_code == 200, r.text
        seen += [u["username"] for u in r.json()["items"]]
        pages += 1
        cursor = r.json()["next"]
        if cursor is None:
            break
    assert pages == 2 and seen == [f"paged{n:02d}" for n in reversed(range(30))]
    r = await client.get("/api/v1/admin/users", params={"cursor": "not-a-cursor"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "cursor"
    r = await client.get("/api/v1/admin/users", params={"q": "x" * 101}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "q"
    await login(client, "boss")
    page = await client.get("/admin/members", params={"q": "paged"})
    nxt = re.search(r'rel="next" href="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    page2 = await client.get(nxt)
    assert page2.status_code == 200 and "paged04" in page2.text and "paged05" not in page2.text
    broken = await client.get("/admin/members", params={"cursor": "!!"})
    assert broken.status_code == 422 and "That page link is broken" in broken.text


async def test_status_last_seen_and_sign_in_methods(database, client, users, fake_clock, app):
    await users("boss", 1, "admin")
    active = await users("active")
    suspended = await users("suspended")
    await User.filter(id=suspended.id).update(suspended_until=clock.now() + timedelta(days=3), suspension_reason="Spam links in answers")
    lapsed = await users("lapsed")
    await User.filter(id=lapsed.id).update(suspended_until=clock.now() - timedelta(days=1), suspension_reason="old")
    bouncing = await users("bouncing")
    await User.filter(id=bouncing.id).update(email_bouncing_at=clock.now(), email_bounce_reason="550 no such mailbox")
    gone = await users("gone")
    await User.filter(id=gone.id).update(deleted_at=clock.now(), username="deleted-1", email="")
    sso = await User.create(username="sso", email="sso@acme.example", created_at=clock.now())  # no password
    for provider in ("contoso", "acme"):
        await UserIdentity.create(user=sso, provider=provider, subject=f"{provider}-42", created_at=clock.now())
    await UserIdentity.create(user=active, provider="acme", subject="acme-7", created_at=clock.now())

    member_client = await other_client(app)
    async with member_client:
        await login(member_client, "active")  # a session, seen now
    fake_clock.advance(hours=2)
    h = await token_for(client, "boss")
    items = {u["username"]: u for u in (await client.get("/api/v1/admin/users", headers=h)).json()["items"]}
    assert {n: items[n]["status"] for n in ("active", "suspended", "lapsed", "bouncing", "deleted-1", "sso")} == {
        "active": "active", "suspended": "suspended", "lapsed": "active", "bouncing": "bouncing", "deleted-1": "deleted", "sso": "active"}
    assert items["suspended"]["suspended_until"] == (fake_clock.now() - timedelta(hours=2) + timedelta(days=3)).isoformat()
    assert items["suspended"]["suspension_reason"] == "Spam links in answers"
    assert items["bouncing"]["email_bounce_reason"] == "550 no such mailbox"
    assert items["sso"]["sign_in_methods"] == ["acme", "contoso"]
    assert items["active"]["sign_in_methods"] == ["password", "acme"]
    assert items["bouncing"]["sign_in_methods"] == ["password"]
    assert items["active"]["last_seen_at"] == (fake_clock.now() - timedelta(hours=2)).isoformat()
    assert items["sso"]["last_seen_at"] is None
    assert items["boss"]["last_seen_at"] == fake_clock.now().isoformat()  # the token just used counts

    await login(client, "boss")
    page = (await client.get("/admin/members")).text
    for text in ("Suspended", "Address bouncing", "Deleted", "password, acme", "acme, contoso"):
        assert text in page, text
    page = (await client.get(f"/admin/members/{suspended.id}")).text
    assert "Spam links in answers" in page and "Lift the suspension" in page


async def test_an_admin_changes_a_role_and_the_members_old_cookie_stops_working(database, client, users, app):
    await users("boss", 1, "admin")
    member = await users("member")
    member_client = await other_client(app)
    async with member_client:
        await login(member_client, "member")
        assert (await member_client.get("/api/v1/me")).status_code == 200
        csrf = await login(client, "boss")
        page = await client.get(f"/admin/members/{member.id}")
        assert page.status_code == 200 and "Change role" in page.text
        r = await client.post(f"/admin/members/{member.id}/role", data={"role": "moderator", "csrf_token": csrf})
        assert r.status_code == 303 and r.headers["location"] == f"/admin/members/{member.id}?done=role"
        assert (await User.get(id=member.id)).role == "moderator"
        assert (await member_client.get("/api/v1/me")).status_code == 401  # logged in under the old role: ended
    assert await audit_actions(member.id) == [("role", "boss")]
    assert (await AuditEntry.get(user_id=member.id)).reason == "Member → Moderator"
    page = await client.get(f"/admin/members/{member.id}?done=role")
    assert "The role is changed" in page.text and "Member → Moderator" in page.text

    r = await client.post(f"/admin/members/{member.id}/role", data={"role": "overlord", "csrf_token": csrf})
    assert r.status_code == 422 and "Choose one of the roles" in r.text and 'aria-invalid="true"' in r.text
    assert (await User.get(id=member.id)).role == "moderator"
    boss = await User.get(username="boss")
    r = await client.post(f"/admin/members/{boss.id}/role", data={"role": "member", "csrf_token": csrf})
    assert r.status_code == 403 and "cannot change your own role" in r.text
    assert (await User.get(id=boss.id)).role == "admin"


async def test_suspend_and_lift_through_the_member_page(database, client, users, fake_clock):
    await users("mod", 1, "moderator")
    member = await users("member")
    csrf = await login(client, "mod")
    r = await client.post(f"/admin/members/{member.id}/suspend", data={"days": "3", "reason": "short", "csrf_token": csrf})
    assert r.status_code == 422 and "at least 10 characters" in r.text and ">short</textarea>" in r.text  # kept what was typed
    assert (await User.get(id=member.id)).suspended_until is None
    r = await client.post(f"/admin/members/{member.id}/suspend",
                          data={"days": "3", "reason": "Posting the same link in every thread", "csrf_token": csrf})
    assert r.status_code == 303
    row = await User.get(id=member.id)
    assert row.suspended_until == fake_clock.now() + timedelta(days=3)
    assert row.suspension_reason == "Posting the same link in every thread"
    page = await client.get(f"/admin/members/{member.id}?done=suspend")
    assert "The member is suspended" in page.text and "Posting the same link in every thread" in page.text
    r = await client.post(f"/admin/members/{member.id}/lift", data={"csrf_token": csrf})
    assert r.status_code == 303 and (await User.get(id=member.id)).suspended_until is None
    r = await client.post(f"/admin/members/{member.id}/lift", data={"csrf_token": csrf})
    assert r.status_code == 409 and "is not suspended" in r.text
    assert await audit_actions(member.id) == [("suspend", "mod"), ("unsuspend", "mod")]
    assert (await AuditEntry.filter(user_id=member.id, action="suspend").first()).reason == "3 days: Posting the same link in every thread"


async def test_a_reset_link_is_queued_and_sessions_end(database, client, users, config, app):
    await users("boss", 1, "admin")
    member = await users("member")
    csrf = await login(client, "boss")
    r = await client.post(f"/admin/members/{member.id}/reset", data={"csrf_token": csrf})
    assert r.status_code == 409 and "Mail is not set up" in r.text  # no SMTP_URL: nothing queued
    assert await OutgoingMail.all().count() == 0
    config.smtp_url = "smtp://127.0.0.1:2525"
    r = await client.post(f"/admin/members/{member.id}/reset", data={"csrf_token": csrf})
    assert r.status_code == 303
    (sent,) = await OutgoingMail.all()
    assert (sent.to_address, sent.kind, sent.subject) == ("member@example.com", "password_reset", "Reset your password")
    link = re.search(r"(/reset/\S+)", sent.body_text).group(1)
    assert "Choose a new password for member" in (await client.get(link)).text

    member_client = await other_client(app)
    async with member_client:
        token = await token_for(member_client, "member")  # before logging in: a cookie-less API call
        await login(member_client, "member")
        assert (await member_client.get("/api/v1/me")).status_code == 200
        r = await client.post(f"/admin/members/{member.id}/end", data={"csrf_token": csrf})
        assert r.status_code == 303
        assert (await member_client.get("/api/v1/me")).status_code == 401  # the old cookie no longer logs in
        assert (await client.get("/api/v1/me", headers=token)).status_code == 401  # nor the token
    assert await MemberSession.filter(user_id=member.id, ended_at=None).count() == 0
    assert await ApiToken.filter(user_id=member.id, revoked_at=None).count() == 0
    assert await audit_actions(member.id) == [("reset_link", "boss"), ("end_sessions", "boss")]
    assert (await AuditEntry.get(user_id=member.id, action="end_sessions")).reason == "1 session ended, 1 token revoked"


async def test_the_api_patch_acts_and_names_the_refused_field(database, client, users, config):
    await users("boss", 1, "admin")
    member = await users("member")
    h = await token_for(client, "boss")
    url = f"/api/v1/admin/users/{member.id}"
    for body, field in [({"role": "overlord"}, "role"), ({"role": 3}, "role"), ({"suspend_days": 0, "suspension_reason": "x" * 20}, "suspend_days"),
                        ({"suspend_days": "7", "suspension_reason": "x" * 20}, "suspend_days"),
                        ({"suspend_days": 400, "suspension_reason": "a long enough reason"}, "suspend_days"),
                        ({"suspend_days": 3, "suspension_reason": "short"}, "suspension_reason"),
                        ({"suspension_reason": "a long enough reason"}, "suspend_days"),
                        ({"end_sessions": "yes"}, "end_sessions"), ({"colour": "red"}, "colour"),
                        ({"role": "moderator", "suspend_days": 3, "suspension_reason": "short"}, "suspension_reason")]:
        r = await client.patch(url, json=body, headers=h)
        assert r.status_code == 422 and r.json()["error"]["field"] == field, (body, r.text)
    assert (await User.get(id=member.id)).role == "member"  # the last one changed nothing, the role included
    assert await AuditEntry.all().count() == 0
    r = await client.patch(url, json={}, headers=h)
    assert r.status_code == 422 and "Nothing to change" in r.json()["error"]["message"]
    r = await client.patch(url, json={"send_reset": True}, headers=h)
    assert r.status_code == 409 and r.json()["error"]["field"] == "send_reset"

    config.smtp_url = "smtp://127.0.0.1:2525"
    r = await client.patch(url, json={"role": "staff", "suspend_days": 2, "suspension_reason": "Cooling off after a row",
                                      "end_sessions": True, "send_reset": True}, headers=h)
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["role"], got["status"], got["suspension_reason"]) == ("staff", "suspended", "Cooling off after a row")
    assert await OutgoingMail.filter(kind="password_reset", to_address="member@example.com").count() == 1
    assert [a for a, _ in await audit_actions(member.id)] == ["suspend", "role", "end_sessions", "reset_link"]
    r = await client.patch(url, json={"lift_suspension": True}, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "active"
    assert (await client.patch("/api/v1/admin/users/999999", json={"end_sessions": True}, headers=h)).status_code == 404
    assert (await client.patch("/api/v1/admin/users/99999999999", json={"end_sessions": True}, headers=h)).status_code == 404


async def test_who_may_do_what(database, client, users):
    boss = await users("boss", 1, "admin")
    await users("mod", 1, "moderator")
    other_mod = await users("othermod", 1, "moderator")
    await users("agent", 1, "staff")
    member = await users("member", 5000)
    target = await users("target")
    mod, plain = await token_for(client, "mod"), await token_for(client, "member")
    reason = "Rude replies to several members"

    r = await client.patch(f"/api/v1/admin/users/{target.id}", json={"suspend_days": 1, "suspension_reason": reason}, headers=mod)
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    r = await client.patch(f"/api/v1/admin/users/{target.id}", json={"role": "moderator"}, headers=mod)
    assert r.status_code == 403 and "Only admins can change a member's role" in r.json()["error"]["message"]
    for victim in (boss, other_mod):
        for body in ({"suspend_days": 1, "suspension_reason": reason}, {"end_sessions": True}):
            r = await client.patch(f"/api/v1/admin/users/{victim.id}", json=body, headers=mod)
            assert r.status_code == 403 and "Only an admin can" in r.json()["error"]["message"], (victim.username, body)
    assert (await User.get(id=boss.id)).suspended_until is None
    assert (await client.get("/api/v1/admin/users", headers=mod)).status_code == 200
    assert (await client.get(f"/api/v1/admin/users/{target.id}", headers=mod)).json()["email"] == "target@example.com"

    for h in (plain, await token_for(client, "agent")):
        assert (await client.get("/api/v1/admin/users", headers=h)).status_code == 403
        assert (await client.patch(f"/api/v1/admin/users/{target.id}", json={"end_sessions": True}, headers=h)).status_code == 403
    assert (await client.get("/api/v1/admin/users")).status_code == 401
    assert (await client.patch(f"/api/v1/admin/users/{target.id}", json={"end_sessions": True})).status_code == 401
    r = await client.get("/admin/members")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    r = await client.get(f"/admin/members/{target.id}")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")

    csrf = await login(client, "mod")
    page = await client.get(f"/admin/members/{boss.id}")
    assert page.status_code == 200 and "Only admins change roles." in page.text and "Only an admin can suspend" in page.text
    assert 'action="/admin/members/%d/suspend"' % boss.id not in page.text
    r = await client.post(f"/admin/members/{boss.id}/suspend", data={"days": "1", "reason": reason, "csrf_token": csrf})
    assert r.status_code == 403 and "Only an admin can suspend a moderator or an admin" in r.text
    r = await client.post(f"/admin/members/{target.id}/role", data={"role": "admin", "csrf_token": csrf})
    assert r.status_code == 403 and (await User.get(id=target.id)).role == "member"
    await login(client, "member")
    assert (await client.get("/admin/members")).status_code == 403
    assert [a for a, _ in await audit_actions(target.id)] == ["suspend"]
    assert await audit_actions(boss.id) == []
