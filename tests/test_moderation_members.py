"""Suspensions, the audit log with its filters, and the new-member limits."""

from __future__ import annotations

import pytest

from community import questions
from community.errors import Invalid, NotAllowed
from community.models import User
from moderation import flags
from tests.conftest import login, token_for

BODY = "My phone shows no signal at all since Monday, what should I do?"


async def test_a_suspended_member_reads_but_cannot_write_and_sees_why(database, users, client, fake_clock):
    member = await users("member", 200)
    await users("mod", 1, "moderator")
    mod_h, member_h = await token_for(client, "mod"), await token_for(client, "member")
    r = await client.post(f"/api/v1/users/{member.id}/suspend", headers=mod_h,
                          json={"days": 7, "reason": "Repeated rude comments to other members"})
    assert r.status_code == 200, r.text
    assert r.json()["suspension_reason"] == "Repeated rude comments to other members"
    r = await client.post("/api/v1/questions", headers=member_h, json={"title": "Can I still ask a question here", "body": BODY, "tags": ["x"]})
    assert r.status_code == 403 and "Repeated rude comments to other members" in r.json()["error"]["message"]
    assert (await client.get("/api/v1/questions", headers=member_h)).status_code == 200
    inbox = (await client.get("/api/v1/notifications", headers=member_h)).json()["items"]
    assert "Repeated rude comments" in inbox[0]["text"]
    fake_clock.advance(days=8)
    r = await client.post("/api/v1/questions", headers=member_h, json={"title": "Can I still ask a question here", "body": BODY, "tags": ["x"]})
    assert r.status_code == 201


async def test_suspension_input_is_checked(database, users, client):
    member = await users("member")
    mod = await users("mod", 1, "moderator")
    other_mod = await users("othermod", 1, "moderator")
    h = await token_for(client, "mod")
    for body, field in [({"days": "x", "reason": "a long enough reason"}, "days"), ({"days": 400, "reason": "a long enough reason"}, "days"),
                        ({"days": 3, "reason": "short"}, "reason"), ({"days": True, "reason": "a long enough reason"}, "days")]:
        r = await client.post(f"/api/v1/users/{member.id}/suspend", headers=h, json=body)
        assert r.status_code == 422 and r.json()["error"]["field"] == field, (body, r.text)
    assert (await client.post("/api/v1/users/999999/suspend", headers=h, json={"days": 1, "reason": "a long enough reason"})).status_code == 404
    assert (await client.post(f"/api/v1/users/{mod.id}/suspend", headers=h, json={"days": 1, "reason": "a long enough reason"})).status_code == 403
    assert (await client.post(f"/api/v1/users/{other_mod.id}/suspend", headers=h, json={"days": 1, "reason": "a long enough reason"})).status_code == 403
    r = await client.post(f"/api/v1/users/{member.id}/suspend", headers=h, json={"days": 2, "reason": "a long enough reason"})
    assert r.status_code == 200
    r = await client.post(f"/api/v1/users/{member.id}/suspend", headers=h, json={"days": 0})
    assert r.status_code == 200 and r.json()["suspended_until"] is None


async def test_audit_log_lists_every_action_with_filters(database, users, client):
    author = await users("author", 20)
    flagger = await users("flagger", 15)
    mod = await users("mod", 1, "moderator")
    q = await questions.ask(author, "No signal at home since Monday", BODY, "signal")
    await flags.raise_flag(flagger, q.id, "spam")
    h = await token_for(client, "mod")
    await client.post(f"/api/v1/posts/{q.id}/lock", headers=h, json={"reason": "calm down"})
    await client.post(f"/api/v1/users/{author.id}/suspend", headers=h, json={"days": 1, "reason": "posting spam links"})
    r = await client.get("/api/v1/moderation/log", headers=h)
    assert [(e["action"], e["actor"]["username"]) for e in r.json()["items"]] == [
        ("suspend", "mod"), ("lock", "mod"), ("flag", "flagger")]
    assert r.json()["items"][0]["reason"] == "1 day: posting spam links"
    r = await client.get("/api/v1/moderation/log", headers=h, params={"action": "lock"})
    assert [e["reason"] for e in r.json()["items"]] == ["calm down"]
    r = await client.get("/api/v1/moderation/log", headers=h, params={"actor": "flagger"})
    assert [e["action"] for e in r.json()["items"]] == ["flag"]
    r = await client.get("/api/v1/moderation/log", headers=h, params={"user_id": str(author.id), "post_id": str(q.id)})
    assert [e["action"] for e in r.json()["items"]] == ["lock", "flag"]
    for params, field in [({"action": "dance"}, "action"), ({"actor": "nobody"}, "actor"), ({"post_id": "x"}, "post_id")]:
        r = await client.get("/api/v1/moderation/log", headers=h, params=params)
        assert r.status_code == 422 and r.json()["error"]["field"] == field
    await login(client, "mod")
    page = await client.get("/moderation/log", params={"action": "suspend"})
    assert page.status_code == 200 and "posting spam links" in page.text and "calm down" not in page.text
    page = await client.get("/moderation/log", params={"post_id": "nope"})
    assert page.status_code == 422 and "must be a number" in page.text
    assert mod.is_moderator


async def test_new_members_are_limited_in_their_first_day(database, users, fake_clock):
    newbie = await users("newbie")
    for i in range(3):
        await questions.ask(newbie, f"Question number {i} from a new member", BODY, "signal")
    with pytest.raises(NotAllowed) as err:
        await questions.ask(newbie, "Question number 3 from a new member", BODY, "signal")
    assert "3 questions" in err.value.message
    host = await users("host", 20)
    q = await questions.ask(host, "A question that takes many answers", BODY, "signal")
    for i in range(10):
        await questions.answer(newbie, q.id, f"Answer number {i} from the same new member.")
    with pytest.raises(NotAllowed) as err:
        await questions.answer(newbie, q.id, "Answer number 10 from the same new member.")
    assert "10 answers" in err.value.message
    links = "See [one](https://a.example/1), [two](https://b.example/2) and [three](https://c.example/3)."
    with pytest.raises(Invalid) as err:
        await questions.answer(host_newbie := await users("another"), q.id, links)
    assert "at most 2 links" in err.value.message and host_newbie.reputation == 1
    await questions.answer(host_newbie, q.id, "See [one](https://a.example/1) and [two](https://b.example/2) here.")
    await questions.answer(host, q.id, links)  # established members may post more links
    fake_clock.advance(days=1, seconds=1)
    await questions.ask(newbie, "A new day brings a new question", BODY, "signal")


async def test_moderator_notes_in_the_log_are_not_for_members(database, users, client):
    await users("member", 9000)
    r = await client.get("/api/v1/moderation/log", headers=await token_for(client, "member"))
    assert r.status_code == 403
    assert (await User.get(username="member")).reputation == 9000
