"""The moderation pages work as plain forms (no JavaScript): flag, close, tools, suspend, review, rollback."""

from __future__ import annotations

from community import pages, questions
from community.models import Post, User
from moderation import closing, flags, review
from moderation.models import AuditEntry, Flag, ReviewItem
from tests.conftest import login

BODY = "My phone shows no signal at all since Monday, what should I do?"


async def test_flag_form_keeps_the_text_and_explains(database, users, client):
    author = await users("author")
    await users("flagger", 15)
    q = await questions.ask(author, "No signal at home since Monday", BODY, "signal")
    csrf = await login(client, "flagger")
    page = await client.get(f"/posts/{q.id}/flag")
    assert page.status_code == 200 and '<label for="reason-spam">Spam</label>' in page.text
    r = await client.post(f"/posts/{q.id}/flag", data={"reason": "moderator", "message": "short", "csrf_token": csrf})
    assert r.status_code == 422 and "at least 10 characters" in r.text and ">short</textarea>" in r.text
    r = await client.post(f"/posts/{q.id}/flag", data={"reason": "spam", "csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == f"/questions/{q.id}#post-{q.id}"
    assert (await Flag.get(post_id=q.id)).reason == "spam"
    r = await client.post(f"/posts/{q.id}/flag", data={"reason": "spam", "csrf_token": "wrong"})
    assert r.status_code == 403


async def test_close_form_and_duplicate_notice(database, users, client):
    author = await users("author")
    await users("mod", 1, "moderator")
    original = await questions.ask(author, "How do I set up voicemail on my phone", BODY, "voicemail")
    q = await questions.ask(author, "Voicemail set up does not work for me", BODY, "voicemail")
    csrf = await login(client, "mod")
    r = await client.post(f"/questions/{q.id}/close", data={"reason": "duplicate", "duplicate_of": "", "csrf_token": csrf})
    assert r.status_code == 422 and "Say which question" in r.text
    r = await client.post(f"/questions/{q.id}/close", data={"reason": "duplicate", "duplicate_of": str(original.id), "csrf_token": csrf})
    assert r.status_code == 303
    page = await client.get(f"/questions/{q.id}", follow_redirects=True)
    assert "Closed as a duplicate" in page.text and "takes no new answers" in page.text
    assert f'href="/questions/{q.id}/close">Reopen</a>' in page.text
    r = await client.post(f"/questions/{q.id}/reopen", data={"csrf_token": csrf})
    assert r.status_code == 303 and (await Post.get(id=q.id)).closed_reason is None


async def test_moderator_tools_and_suspend_forms(database, users, client):
    author = await users("author")
    await users("mod", 1, "moderator")
    q = await questions.ask(author, "No signal at home since Monday", BODY, "signal")
    csrf = await login(client, "mod")
    page = await client.get(f"/questions/{q.id}", follow_redirects=True)
    assert f'href="/posts/{q.id}/moderate">Delete</a>' in page.text and f'href="/posts/{q.id}/moderate">Lock</a>' in page.text
    tools = await client.get(f"/posts/{q.id}/moderate")
    assert tools.status_code == 200 and f'action="/posts/{q.id}/delete"' in tools.text
    r = await client.post(f"/posts/{q.id}/lock", data={"reason": "heated", "csrf_token": csrf})
    assert r.status_code == 303 and (await Post.get(id=q.id)).locked
    r = await client.post(f"/posts/{q.id}/delete", data={"reason": "off topic chatter", "csrf_token": csrf})
    assert r.status_code == 303 and (await Post.get(id=q.id)).deleted_at is not None
    page = await client.get(f"/questions/{q.id}", follow_redirects=True)
    assert page.status_code == 200 and "This question was deleted." in page.text
    r = await client.post(f"/posts/{q.id}/undelete", data={"csrf_token": csrf})
    assert r.status_code == 303 and (await Post.get(id=q.id)).deleted_at is None
    r = await client.post(f"/users/{author.id}/suspend", data={"days": "x", "reason": "spamming links", "csrf_token": csrf})
    assert r.status_code == 422 and "spamming links" in r.text
    r = await client.post(f"/users/{author.id}/suspend", data={"days": "3", "reason": "spamming links everywhere", "csrf_token": csrf})
    assert r.status_code == 303
    assert (await User.get(id=author.id)).suspension_reason == "spamming links everywhere"
    assert [e.action for e in await AuditEntry.all().order_by("id")] == ["lock", "delete", "undelete", "suspend"]
    assert (await client.get("/users/abc/suspend")).status_code == 404


async def test_review_page_tells_the_slower_reviewer(database, users, client):
    author = await users("author", 20)
    flagger = await users("flagger", 15)
    first = await users("first", 500)
    await users("second", 500)
    q = await questions.ask(author, "No signal at home since Monday", BODY, "signal")
    await flags.raise_flag(flagger, q.id, "spam")
    item = await ReviewItem.get(post_id=q.id)
    csrf = await login(client, "second")
    page = await client.get("/review?queue=flagged")
    assert f'action="/review/{item.id}"' in page.text
    await review.decide(first, item.id, "decline")
    r = await client.post(f"/review/{item.id}", data={"decision": "spam", "csrf_token": csrf})
    assert r.status_code == 409 and "first already decided this item (Decline the flags)" in r.text
    assert (await Post.get(id=q.id)).deleted_at is None


async def test_rollback_form_on_the_revisions_page(database, users, client):
    author = await users("author")
    q = await questions.ask(author, "No signal at home since Monday", BODY, "signal")
    csrf = await login(client, "author")
    r = await client.post(f"/posts/{q.id}/edit", data={"title": q.title, "body": BODY + " Update: still broken.", "tags": "signal",
                                                      "comment": "update", "csrf_token": csrf})
    assert r.status_code == 303
    page = await client.get(f"/posts/{q.id}/revisions")
    assert "Roll back to revision 1" in page.text and "Update: still broken." in page.text
    r = await client.post(f"/posts/{q.id}/rollback", data={"revision": "1", "csrf_token": csrf})
    assert r.status_code == 303 and (await Post.get(id=q.id)).body == BODY


async def test_other_rooms_banners_and_links_sit_beside_moderations(database, users, client, monkeypatch):
    async def other_room(question, viewer):
        return {"thread_banners": ['<p class="notice">Escalated to support</p>'],
                "post_links": lambda p: [f'<a href="/other/{p.id}">Other</a>']}

    monkeypatch.setattr(pages, "THREAD_EXTRAS", [*pages.THREAD_EXTRAS, other_room])
    author = await users("author")
    await users("mod", 1, "moderator")
    q = await questions.ask(author, "No signal at home since Monday", BODY, "signal")
    await closing.vote(await User.get(username="mod"), q.id, "close", "off_topic")
    page = await client.get(f"/questions/{q.id}", follow_redirects=True)
    assert "Escalated to support" in page.text and "Closed as off-topic" in page.text
    await login(client, "mod")
    page = await client.get(f"/questions/{q.id}", follow_redirects=True)
    assert f'href="/other/{q.id}">Other</a>' in page.text and f'href="/posts/{q.id}/moderate">Lock</a>' in page.text
