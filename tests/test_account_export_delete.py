"""A member's data: the ZIP export (theirs only, with their ledger) from the page and the API, and
deleting an account (by its member with their password, or by an admin): posts stay under "deleted
member", votes go with the reputation they gave, personal data, sessions and tokens go."""

from __future__ import annotations

import io
import json
import re
import zipfile

import httpx

from community import db, preferences, questions, reputation, voting, watches
from community.models import (ApiToken, MemberSession, Notification, NotificationPreference, Post, QuestionWatch,
                              ReputationEvent, TagWatch, User, Vote)
from tests.conftest import login, token_for

FILES = {"profile.json", "questions.json", "answers.json", "comments.json", "votes.json", "reputation.json"}


async def _forum(users):
    """alice asks and comments; bob answers; carol asks; alice votes bob's answer and carol's question up."""
    alice, bob, carol = await users("alice", 20), await users("bob", 30), await users("carol", 30)
    q = await questions.ask(alice, "eSIM will not activate on my new phone", "The QR code scans but the eSIM stays inactive.", "esim")
    a = await questions.answer(bob, q.id, "Restart after scanning, then toggle the line on in Settings > Mobile data.")
    other = await questions.ask(carol, "Roaming charges in Norway after Brexit", "Will I be charged to use data in Norway?", "roaming")
    await questions.comment(alice, a.id, "Thanks, restarting fixed it for me.")
    await voting.vote(alice, a.id, 1)
    await voting.vote(alice, other.id, 1)
    await voting.vote(bob, q.id, 1)
    return alice, bob, carol, q, a, other


def _unzip(content: bytes) -> dict:
    archive = zipfile.ZipFile(io.BytesIO(content))
    return {name: json.loads(archive.read(name)) for name in archive.namelist() if name.endswith(".json")}


async def test_the_export_holds_the_members_own_posts_votes_and_ledger_only(client, users):
    alice, bob, carol, q, a, other = await _forum(users)
    csrf = await login(client, "alice")
    r = await client.post("/account/export", data={"csrf_token": csrf})
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert re.fullmatch(r'attachment; filename="alice-export-\d{4}-\d\d-\d\d\.zip"', r.headers["content-disposition"])
    assert r.headers["cache-control"] == "no-store"
    files = _unzip(r.content)
    assert set(files) == FILES
    assert files["profile.json"]["username"] == "alice" and files["profile.json"]["email"] == "alice@example.com"
    assert [x["id"] for x in files["questions.json"]] == [q.id]
    assert files["questions.json"][0]["body"] == "The QR code scans but the eSIM stays inactive."
    assert files["answers.json"] == []
    assert [(c["post_id"], c["body"]) for c in files["comments.json"]] == [(a.id, "Thanks, restarting fixed it for me.")]
    assert sorted((v["post_id"], v["value"]) for v in files["votes.json"]) == sorted([(a.id, 1), (other.id, 1)])
    ledger = await ReputationEvent.filter(user_id=alice.id).order_by("id").values_list("id", "amount", "reason")
    assert [(e["id"], e["amount"], e["reason"]) for e in files["reputation.json"]] == list(ledger)
    assert ("upvoted" in {e["reason"] for e in files["reputation.json"]})  # bob's vote on her question
    text = r.content.decode("latin-1")
    assert "Norway" not in json.dumps(files) and "carol" not in json.dumps(files) and "bob@example.com" not in text


async def test_the_api_export_and_who_may_export_whom(client, users):
    alice, bob, carol, q, a, other = await _forum(users)
    admin = await users("root", 1, "admin")
    h = await token_for(client, "bob")
    r = await client.get("/api/v1/me/export", headers=h)
    assert r.status_code == 200
    files = _unzip(r.content)
    assert [x["id"] for x in files["answers.json"]] == [a.id] and files["answers.json"][0]["question_title"] == q.title
    r = await client.get(f"/api/v1/users/{alice.id}/export", headers=h)
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_allowed"
    assert (await client.get("/api/v1/me/export")).status_code == 401
    r = await client.get(f"/api/v1/users/{alice.id}/export", headers=await token_for(client, "root"))
    assert r.status_code == 200 and _unzip(r.content)["profile.json"]["id"] == alice.id
    assert (await client.get("/api/v1/users/99999/export", headers=await token_for(client, "root"))).status_code == 404
    csrf = await login(client, "bob")
    assert (await client.post(f"/users/{alice.id}/export", data={"csrf_token": csrf})).status_code == 403
    csrf = await login(client, "root")
    page = (await client.get(f"/users/{alice.id}")).text
    assert f'action="/users/{alice.id}/export"' in page and f'action="/users/{alice.id}/delete"' in page
    r = await client.post(f"/users/{alice.id}/export", data={"csrf_token": csrf})
    assert r.status_code == 200 and _unzip(r.content)["profile.json"]["username"] == "alice"
    assert admin.id


async def test_deleting_keeps_the_posts_and_removes_votes_personal_data_and_sessions(app, client, users, config):
    alice, bob, carol, q, a, other = await _forum(users)
    await watches.set_tag(alice, "esim", True)
    await preferences.put(alice, {"answer": "daily"})
    rep_before = {u.id: (await User.get(id=u.id)).reputation for u in (bob, carol)}
    score_before = (await Post.get(id=a.id)).score
    token = await token_for(client, "alice")
    csrf = await login(client, "alice")
    other_browser = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
    await login(other_browser, "alice")
    cookie = client.cookies["session"]

    r = await client.post("/account/delete", data={"csrf_token": csrf, "confirm": "delete", "delete_password": "wrong one"})
    assert r.status_code == 422 and "That is not your current password" in r.text and 'value="delete"' in r.text
    r = await client.post("/account/delete", data={"csrf_token": csrf, "confirm": "yes", "delete_password": "password123"})
    assert r.status_code == 422 and "Type “delete” to confirm" in r.text
    assert (await User.get(id=alice.id)).deleted_at is None

    r = await client.post("/account/delete", data={"csrf_token": csrf, "confirm": "delete", "delete_password": "password123"})
    assert r.status_code == 200 and "Your account is deleted" in r.text and "Log in" in r.text

    row = await User.get(id=alice.id)
    assert row.deleted_at is not None
    assert (row.username, row.display_name, row.email, row.password_hash) == (f"deleted-{alice.id}", "deleted member", "", None)
    assert (row.about, row.location, row.avatar, row.time_zone, row.pending_email) == ("", "", "", "", "")
    # Her posts stay, hers by id, and read as a deleted member's with no link to a profile.
    assert (await Post.get(id=q.id)).author_id == alice.id
    thread = (await client.get(f"/questions/{q.id}", follow_redirects=True)).text
    assert "deleted member" in thread and f'href="/users/{alice.id}"' not in thread
    assert "Thanks, restarting fixed it for me." in thread and "The QR code scans" in thread
    assert 'src="/avatars/member.svg"' in thread
    listing = (await client.get("/questions")).text
    assert "deleted member" in listing and f'href="/users/{alice.id}"' not in listing
    assert (await client.get(f"/users/{alice.id}")).status_code == 404
    # Her votes are gone and the reputation they gave is undone; the ledger still adds up.
    assert not await Vote.filter(voter_id=alice.id).exists()
    assert (await Post.get(id=a.id)).score == score_before - 1
    assert (await User.get(id=bob.id)).reputation == rep_before[bob.id] - 10
    assert (await User.get(id=carol.id)).reputation == rep_before[carol.id] - 10
    cached = dict(await User.all().values_list("id", "reputation"))
    await reputation.recompute_all()
    assert dict(await User.all().values_list("id", "reputation")) == cached
    # Watches, settings, sessions and tokens are gone.
    for model in (TagWatch, QuestionWatch, NotificationPreference, Notification):
        assert not await model.filter(user_id=alice.id).exists(), model
    assert not await MemberSession.filter(user_id=alice.id, ended_at=None).exists()
    assert not await ApiToken.filter(user_id=alice.id, revoked_at=None).exists()
    assert (await client.get("/api/v1/me", headers=token)).status_code == 401
    client.cookies.set("session", cookie)
    assert (await client.get("/account")).status_code == 303
    assert (await other_browser.get("/account")).status_code == 303
    await other_browser.aclose()
    client.cookies.clear()
    # Nobody can log in as her; her old name is free for a new member, "deleted-<id>" is not.
    r = await client.post("/api/v1/tokens", json={"username": f"deleted-{alice.id}", "password": "password123"})
    assert r.status_code == 422 and "do not match" in r.json()["error"]["message"]
    r = await client.post("/api/v1/users", json={"username": "alice", "email": "new-alice@example.com", "password": "password123"})
    assert r.status_code == 201 and r.json()["id"] != alice.id
    r = await client.post("/api/v1/users", json={"username": "deleted-77", "email": "x@example.com", "password": "password123"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "username"


async def test_deleting_through_the_api_needs_the_password_and_the_word(client, users):
    alice = await users("alice")
    h = await token_for(client, "alice")
    r = await client.request("DELETE", "/api/v1/me", json={"password": "password123"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "confirm"
    r = await client.request("DELETE", "/api/v1/me", json={"password": "nope", "confirm": "delete"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "delete_password"
    r = await client.request("DELETE", "/api/v1/me", json={"password": "password123", "confirm": "delete"}, headers=h)
    assert r.status_code == 200 and r.json()["id"] == alice.id and r.json()["deleted_at"]
    assert (await client.get("/api/v1/me", headers=h)).status_code == 401


async def test_an_admin_deletes_a_member_and_members_cannot_delete_each_other(client, users):
    alice, bob, carol, q, a, other = await _forum(users)
    root = await users("root", 1, "admin")
    h_bob, h_root = await token_for(client, "bob"), await token_for(client, "root")
    r = await client.request("DELETE", f"/api/v1/users/{alice.id}", json={"confirm": "delete"}, headers=h_bob)
    assert r.status_code == 403 and (await User.get(id=alice.id)).deleted_at is None
    csrf = await login(client, "bob")
    assert (await client.post(f"/users/{alice.id}/delete", data={"csrf_token": csrf, "confirm": "delete"})).status_code == 403
    assert (await User.get(id=alice.id)).deleted_at is None

    csrf = await login(client, "root")
    r = await client.post(f"/users/{alice.id}/delete", data={"csrf_token": csrf, "confirm": "nope"})
    assert r.status_code == 422 and (await User.get(id=alice.id)).deleted_at is None
    r = await client.post(f"/users/{alice.id}/delete", data={"csrf_token": csrf, "confirm": "delete"})
    assert r.status_code == 200 and "The account is deleted" in r.text
    assert (await User.get(id=alice.id)).username == f"deleted-{alice.id}"
    assert not await Vote.filter(voter_id=alice.id).exists()
    r = await client.post(f"/users/{alice.id}/delete", data={"csrf_token": csrf, "confirm": "delete"})
    assert r.status_code == 409
    client.cookies.clear()
    r = await client.request("DELETE", f"/api/v1/users/{bob.id}", json={"confirm": "delete"}, headers=h_root)
    assert r.status_code == 200 and (await User.get(id=bob.id)).deleted_at is not None
    r = await client.request("DELETE", f"/api/v1/users/{root.id}", json={"confirm": "delete"}, headers=h_root)
    assert r.status_code == 403  # their own goes through /account, with the password
    r = await client.request("DELETE", "/api/v1/me", json={"confirm": "delete", "password": "password123"}, headers=h_root)
    assert r.status_code == 409 and "only admin" in r.json()["error"]["message"]
    assert (await User.get(id=root.id)).deleted_at is None


async def test_a_deleted_members_uploaded_picture_goes(client, users, config):
    from tests.test_account_settings import _jpeg_with_gps, _upload

    alice = await users("alice")
    csrf = await login(client, "alice")
    assert (await _upload(client, csrf, _jpeg_with_gps())).status_code == 303
    name = (await User.get(id=alice.id)).avatar
    assert (config.upload_dir / name).exists()
    r = await client.post("/account/delete", data={"csrf_token": csrf, "confirm": "delete", "delete_password": "password123"})
    assert r.status_code == 200
    assert not (config.upload_dir / name).exists()
    assert (await db.fetch("SELECT COUNT(*) AS n FROM upload WHERE name = ?", [name]))[0]["n"] == 0
