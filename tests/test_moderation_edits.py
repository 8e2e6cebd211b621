"""Edits with history: revisions with comments and diffs, rollback, locks, deletion and the edit pages."""

from __future__ import annotations

import pytest

from community import questions
from community.errors import Invalid, NotAllowed
from community.models import Post, Tag, User
from moderation import revisions
from moderation.models import AuditEntry, Revision, ReviewItem
from tests.conftest import login, token_for

BODY = "My phone shows no signal at all since Monday.\nI restarted it twice.\nStill nothing."


async def ask(user: User, title: str = "No signal at home since Monday") -> Post:
    return await questions.ask(user, title, BODY, "signal")


async def test_every_edit_is_a_revision_with_the_original_stored_lazily(database, users, client):
    author = await users("author")
    editor = await users("editor", 2000)
    q = await ask(author)
    assert await Revision.filter(post_id=q.id).count() == 0
    r = await client.get(f"/api/v1/posts/{q.id}/revisions")
    assert [i["number"] for i in r.json()["items"]] == [1]
    r = await client.patch(f"/api/v1/posts/{q.id}", headers=await token_for(client, "author"),
                           json={"body": BODY.replace("twice", "three times"), "comment": "more detail"})
    assert r.status_code == 200 and r.json()["status"] == "edited"
    r = await client.patch(f"/api/v1/posts/{q.id}", headers=await token_for(client, "editor"),
                           json={"title": "No mobile signal at home since Monday", "tags": ["signal", "coverage"],
                                 "comment": "clearer title"})
    assert r.status_code == 200, r.text
    items = (await client.get(f"/api/v1/posts/{q.id}/revisions")).json()["items"]
    assert [(i["number"], i["editor"]["username"], i["comment"]) for i in items] == [
        (3, "editor", "clearer title"), (2, "author", "more detail"), (1, "author", "Original")]
    assert {"kind": "removed", "text": "I restarted it twice."} in items[1]["diff"]
    assert {"kind": "added", "text": "I restarted it three times."} in items[1]["diff"]
    assert items[0]["title_before"] == "No signal at home since Monday" and items[0]["tags"] == ["signal", "coverage"]
    # An edit by someone else is a moderation action; the author's own edit is not.
    assert await AuditEntry.filter(action="edit", post_id=q.id).count() == 1
    page = await client.get(f"/posts/{q.id}/revisions")
    assert page.status_code == 200 and "<ins>" in page.text and "I restarted it three times." in page.text
    assert editor.reputation == 2000


async def test_rollback_to_any_revision(database, users, client):
    author = await users("author")
    other = await users("other", 1999)
    q = await ask(author)
    await revisions.edit(author, q.id, body=BODY + "\nEdit one.", comment="one")
    await revisions.edit(author, q.id, body=BODY + "\nEdit two.", comment="two")
    r = await client.post(f"/api/v1/posts/{q.id}/rollback", headers=await token_for(client, "other"), json={"revision": 1})
    assert r.status_code == 403 and "edit any post" in r.json()["error"]["message"] and "2000" in r.json()["error"]["message"]
    r = await client.post(f"/api/v1/posts/{q.id}/rollback", headers=await token_for(client, "author"), json={"revision": 1})
    assert r.status_code == 200, r.text
    assert (await Post.get(id=q.id)).body == BODY
    last = await Revision.filter(post_id=q.id).order_by("-number").first()
    assert (last.number, last.comment) == (4, "Rolled back to revision 1")
    r = await client.post(f"/api/v1/posts/{q.id}/rollback", headers=await token_for(client, "author"), json={"revision": 1})
    assert r.status_code == 422  # already reads as revision 1
    r = await client.post(f"/api/v1/posts/{q.id}/rollback", headers=await token_for(client, "author"), json={"revision": 99})
    assert r.status_code == 422 and r.json()["error"]["field"] == "revision"
    r = await client.post(f"/api/v1/posts/{q.id}/rollback", headers=await token_for(client, "author"), json={"revision": "x"})
    assert r.status_code == 422
    assert await AuditEntry.filter(action="rollback", post_id=q.id).count() == 1
    assert other.reputation == 1999


async def test_locked_posts_take_no_votes_answers_or_edits(database, users, client):
    author = await users("author")
    voter = await users("voter", 100)
    mod = await users("mod", 1, "moderator")
    q = await ask(author)
    headers = await token_for(client, "mod")
    r = await client.post(f"/api/v1/posts/{q.id}/lock", headers=headers, json={"reason": "edit war"})
    assert r.status_code == 200 and r.json()["locked"] is True
    r = await client.post(f"/api/v1/posts/{q.id}/lock", headers=headers, json={})
    assert r.status_code == 409
    r = await client.post(f"/api/v1/posts/{q.id}/lock", headers=headers, json={"locked": "yes"})
    assert r.status_code == 422
    with pytest.raises(NotAllowed):
        await questions.answer(voter, q.id, "An answer to a locked question must be refused.")
    r = await client.post(f"/api/v1/posts/{q.id}/vote", headers=await token_for(client, "voter"), json={"value": 1})
    assert r.status_code == 403
    r = await client.patch(f"/api/v1/posts/{q.id}", headers=await token_for(client, "author"), json={"body": BODY + " more"})
    assert r.status_code == 403
    page = await client.get(f"/questions/{q.id}", follow_redirects=True)
    assert "Locked." in page.text
    await login(client, "voter")  # a member sees the score, and no vote buttons that would only be refused
    page = await client.get(f"/questions/{q.id}", follow_redirects=True)
    assert page.status_code == 200 and f'action="/posts/{q.id}/vote"' not in page.text
    r = await client.post(f"/api/v1/posts/{q.id}/lock", headers=headers, json={"locked": False})
    assert r.status_code == 200 and r.json()["locked"] is False
    page = await client.get(f"/questions/{q.id}", follow_redirects=True)
    assert f'action="/posts/{q.id}/vote"' in page.text
    assert [e.action for e in await AuditEntry.filter(post_id=q.id).order_by("id")] == ["lock", "unlock"]
    assert mod.is_moderator


async def test_deleted_posts_leave_lists_and_come_back(database, users, client):
    author = await users("author")
    helper = await users("helper")
    await users("mod", 1, "moderator")
    q = await ask(author)
    a = await questions.answer(helper, q.id, "Try switching the phone to 4G only in the settings.")
    headers = await token_for(client, "mod")
    r = await client.request("DELETE", f"/api/v1/posts/{a.id}", headers=headers, json={"reason": "not an answer"})
    assert r.status_code == 200 and r.json()["deleted"] is True
    assert (await Post.get(id=q.id)).answer_count == 0
    r = await client.request("DELETE", f"/api/v1/posts/{a.id}", headers=headers)
    assert r.status_code == 409
    r = await client.delete(f"/api/v1/posts/{q.id}", headers=headers)
    assert r.status_code == 200
    assert (await Tag.get(name="signal")).question_count == 0
    assert q.id not in [i["id"] for i in (await client.get("/api/v1/questions")).json()["items"]]
    assert (await client.get(f"/api/v1/questions/{q.id}")).status_code == 404
    assert (await client.get(f"/api/v1/questions/{q.id}", headers=headers)).status_code == 200
    r = await client.post(f"/api/v1/posts/{q.id}/undelete", headers=headers, json={})
    assert r.status_code == 200 and r.json()["deleted"] is False
    assert (await Tag.get(name="signal")).question_count == 1
    r = await client.post(f"/api/v1/posts/{q.id}/undelete", headers=headers, json={})
    assert r.status_code == 409
    r = await client.delete("/api/v1/posts/99999999999", headers=headers)
    assert r.status_code == 404


async def test_edit_page_suggests_for_members_under_the_edit_privilege(database, users, client):
    author = await users("author")
    await users("helper", 60)
    q = await ask(author)
    csrf = await login(client, "helper")
    page = await client.get(f"/questions/{q.id}", follow_redirects=True)
    assert f'href="/posts/{q.id}/edit">Suggest edit</a>' in page.text and f'href="/posts/{q.id}/flag">Flag</a>' in page.text
    r = await client.post(f"/posts/{q.id}/edit", data={"title": "No signal at home since Monday", "body": BODY + "\nModel: A52",
                                                      "tags": "signal", "comment": "phone model", "csrf_token": csrf})
    assert r.status_code == 202 and "waits for review" in r.text
    assert await ReviewItem.filter(queue="suggested_edit", post_id=q.id).count() == 1
    r = await client.post(f"/posts/{q.id}/edit", data={"title": "short", "body": BODY, "tags": "signal", "csrf_token": csrf})
    assert r.status_code == 422 and "at least 15 characters" in r.text


async def test_revision_comment_is_checked(database, users):
    author = await users("author")
    q = await ask(author)
    with pytest.raises(Invalid):
        await revisions.edit(author, q.id, body=BODY + " x", comment="x" * 301)
    with pytest.raises(Invalid):
        await revisions.edit(author, q.id, body=BODY + " x", comment=["not", "text"])
