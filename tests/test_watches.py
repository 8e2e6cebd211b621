"""Watching questions and tags: the API (GET/PUT /api/v1/me/watches, PUT/DELETE .../watch), the
Watch buttons on the thread and tag pages, the watched tags on a member's own profile, watching
that starts by itself when a member asks, answers or comments (and stays stopped once stopped), and
the `watched_answer` notification an answer brings the question's watchers."""

from __future__ import annotations

import re

from community import preferences, questions, watches
from community.models import Notification, Post, QuestionWatch, TagWatch, User
from tests.conftest import login, token_for

TITLE = "Data roaming stopped working in Spain"
BODY = "I switched roaming on but the phone shows no data connection at all."
ANSWER = "Check that the APN is set to the network's internet APN, then restart."
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _watched(user: User) -> dict:
    return await watches.watches(await User.get(id=user.id))


async def _forum(users):
    asker = await users("asker")
    helper = await users("helper", 100)
    q = await questions.ask(asker, TITLE, BODY, ["roaming", "data"])
    q2 = await questions.ask(helper, "Top-up did not arrive on my account", BODY, ["top-up"])
    return asker, helper, q, q2


# ---- the API -------------------------------------------------------------------------------------------


async def test_watches_round_trip_through_the_api(client, users):
    asker, helper, q, q2 = await _forum(users)
    reader = await users("reader")
    auth = await token_for(client, "reader")

    r = await client.get("/api/v1/me/watches", headers=auth)
    assert r.status_code == 200
    assert r.json() == {"questions": [], "tags": []}

    r = await client.put("/api/v1/me/watches", headers=auth, json={"questions": [q.id, q2.id], "tags": ["Roaming", "top-up"]})
    assert r.status_code == 200, r.text
    expected = {"questions": [{"id": q2.id, "title": "Top-up did not arrive on my account"}, {"id": q.id, "title": TITLE}],
                "tags": ["roaming", "top-up"]}
    assert r.json() == expected
    assert (await client.get("/api/v1/me/watches", headers=auth)).json() == expected

    # What GET answered can be sent back as it is; a list left out is kept.
    r = await client.put("/api/v1/me/watches", headers=auth, json={"questions": [{"id": q.id, "title": TITLE}]})
    assert r.status_code == 200
    assert r.json() == {"questions": [{"id": q.id, "title": TITLE}], "tags": ["roaming", "top-up"]}
    assert await QuestionWatch.filter(user_id=reader.id, question_id=q2.id).values_list("active", flat=True) == [False]

    r = await client.put("/api/v1/me/watches", headers=auth, json={"tags": []})
    assert r.json() == {"questions": [{"id": q.id, "title": TITLE}], "tags": []}
    assert await TagWatch.filter(user_id=reader.id).count() == 0


async def test_watches_api_refuses_what_it_cannot_store(client, users):
    asker, helper, q, q2 = await _forum(users)
    await users("reader")
    auth = await token_for(client, "reader")
    await client.put("/api/v1/me/watches", headers=auth, json={"tags": ["roaming"]})

    cases = [
        ({"tags": ["roaming", "no-such-tag"]}, "tags", "There is no tag 'no-such-tag'."),
        ({"tags": "roaming"}, "tags", None),
        ({"tags": [7]}, "tags", "Each tag is a name (text)."),
        # Longer than any tag can be: the database is never asked (Tortoise refuses such a filter value).
        ({"tags": ["data roaming stopped working in spain"]}, "tags",
         "There is no tag 'data roaming stopped working in spain': tag names are at most 35 characters."),
        ({"questions": [q.id, 999999]}, "questions", "There is no question with id 999999."),
        ({"questions": ["one"]}, "questions", "Each question is an id (a whole number)."),
        ({"questions": [2**40]}, "questions", "Each question is an id (a whole number)."),
    ]
    for body, field, message in cases:
        r = await client.put("/api/v1/me/watches", headers=auth, json=body)
        assert r.status_code == 422, (body, r.text)
        error = r.json()["error"]
        assert error["code"] == "invalid" and error["field"] == field, (body, error)
        if message:
            assert error["message"] == message
    # A refused PUT changed nothing.
    assert (await client.get("/api/v1/me/watches", headers=auth)).json() == {"questions": [], "tags": ["roaming"]}
    r = await client.put("/api/v1/tags/" + "x" * 40 + "/watch", headers=auth)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


async def test_watch_endpoints_need_a_member(client, users):
    asker, helper, q, q2 = await _forum(users)
    for method, path in [("GET", "/api/v1/me/watches"), ("PUT", "/api/v1/me/watches"),
                         ("PUT", f"/api/v1/questions/{q.id}/watch"), ("DELETE", f"/api/v1/questions/{q.id}/watch"),
                         ("PUT", "/api/v1/tags/roaming/watch"), ("DELETE", "/api/v1/tags/roaming/watch")]:
        r = await client.request(method, path, json={} if method == "PUT" else None)
        assert r.status_code == 401, (method, path, r.text)
        assert r.json()["error"]["code"] == "not_authenticated"
    assert await TagWatch.all().count() == 0


async def test_cookie_callers_send_the_csrf_header(client, users):
    asker, helper, q, q2 = await _forum(users)
    await users("reader")
    csrf = await login(client, "reader")
    r = await client.put("/api/v1/tags/roaming/watch")
    assert r.status_code == 403
    assert await TagWatch.all().count() == 0
    r = await client.put("/api/v1/tags/roaming/watch", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json() == {"tag": "roaming", "watching": True}
    assert (await client.get("/api/v1/me/watches")).json()["tags"] == ["roaming"]


async def test_watch_one_question_and_one_tag(client, users):
    asker, helper, q, q2 = await _forum(users)
    reader = await users("reader")
    auth = await token_for(client, "reader")

    r = await client.put(f"/api/v1/questions/{q.id}/watch", headers=auth)
    assert r.status_code == 200 and r.json() == {"question_id": q.id, "watching": True}
    assert await watches.question_watchers(q.id) == [asker.id, reader.id]
    r = await client.delete(f"/api/v1/questions/{q.id}/watch", headers=auth)
    assert r.json() == {"question_id": q.id, "watching": False}
    assert await watches.question_watchers(q.id) == [asker.id]

    r = await client.put("/api/v1/tags/ROAMING/watch", headers=auth)
    assert r.status_code == 200 and r.json() == {"tag": "roaming", "watching": True}
    r = await client.put("/api/v1/tags/roaming/watch", headers=auth)  # again: still one watch
    assert await TagWatch.filter(user_id=reader.id).count() == 1
    r = await client.delete("/api/v1/tags/roaming/watch", headers=auth)
    assert r.json() == {"tag": "roaming", "watching": False}
    assert await TagWatch.filter(user_id=reader.id).count() == 0

    r = await client.put("/api/v1/tags/no-such-tag/watch", headers=auth)
    assert r.status_code == 404 and r.json()["error"]["message"] == "There is no tag 'no-such-tag'."
    for path in ["/api/v1/questions/999999/watch", "/api/v1/questions/abc/watch", f"/api/v1/questions/{2**40}/watch"]:
        r = await client.put(path, headers=auth)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["error"]["code"] == "not_found"
    # An answer is not a question to watch.
    a = await questions.answer(helper, q.id, ANSWER)
    assert (await client.put(f"/api/v1/questions/{a.id}/watch", headers=auth)).status_code == 404


async def test_a_hidden_question_cannot_be_watched_by_those_who_cannot_see_it(client, users):
    asker, helper, q, q2 = await _forum(users)
    await users("reader")
    auth = await token_for(client, "reader")
    await Post.filter(id=q.id).update(hidden=True)
    r = await client.put(f"/api/v1/questions/{q.id}/watch", headers=auth)
    assert r.status_code == 404
    r = await client.put("/api/v1/me/watches", headers=auth, json={"questions": [q.id]})
    assert r.status_code == 422 and r.json()["error"]["field"] == "questions"
    assert await QuestionWatch.filter(question_id=q.id).exclude(user_id=asker.id).count() == 0


# ---- watching by taking part, and the notifications it brings ------------------------------------------


async def test_asking_answering_and_commenting_start_watching(database, users):
    asker, helper, q, q2 = await _forum(users)
    commenter = await users("commenter", 100)
    assert await watches.question_watchers(q.id) == [asker.id]
    await questions.answer(helper, q.id, ANSWER)
    await questions.comment(commenter, q.id, "Which phone model is this on?")
    assert await watches.question_watchers(q.id) == sorted([asker.id, helper.id, commenter.id])
    assert (await _watched(commenter))["questions"] == [{"id": q.id, "title": TITLE}]


async def test_an_answer_notifies_watchers_as_watched_answer_and_the_asker_as_answer(database, users):
    asker, helper, q, q2 = await _forum(users)
    watcher = await users("watcher")
    other = await users("other")
    await watches.set_question(watcher, q.id, True)
    await watches.set_question(other, q.id, True)
    await watches.set_question(other, q.id, False)

    a = await questions.answer(helper, q.id, ANSWER)

    got = {(n.user_id, n.kind) for n in await Notification.filter(question_id=q.id)}
    assert got == {(asker.id, "answer"), (watcher.id, "watched_answer")}
    row = await Notification.get(user_id=watcher.id)
    assert (row.post_id, row.question_id, row.actor_id) == (a.id, q.id, helper.id)
    assert row.text == f"helper answered: {TITLE}"
    assert row.mail_due_at is not None  # watched_answer is mailed at once by default
    # The answerer now watches too, and is not told of their own answer.
    assert helper.id in await watches.question_watchers(q.id)
    assert not await Notification.filter(user_id=helper.id, question_id=q.id).exists()


async def test_many_watchers_each_get_one_entry_with_their_own_delivery(database, users, fake_clock):
    from datetime import timedelta

    from community import settings

    settings.override("mail.fold_minutes", 5)
    asker, helper, q, q2 = await _forum(users)
    crowd = [await users(f"watcher{n}") for n in range(12)]
    choices = ["now", "daily", "weekly", "never"]
    for n, member in enumerate(crowd):
        await watches.set_question(member, q.id, True)
        await preferences.put(member, {"watched_answer": choices[n % 4]})
    # w0 was mailed about this thread two minutes ago: its entry waits for the fold window.
    await Notification.create(user_id=crowd[0].id, kind="comment", text="earlier", url="/", created_at=fake_clock.now(),
                              question_id=q.id, mailed_at=fake_clock.now() - timedelta(minutes=2))

    await questions.answer(helper, q.id, ANSWER)

    rows = {n.user_id: n for n in await Notification.filter(question_id=q.id, kind="watched_answer")}
    assert sorted(rows) == sorted(m.id for m in crowd)  # one each, the asker (told as "answer") and the answerer not
    now = fake_clock.now()
    for n, member in enumerate(crowd):
        row, choice = rows[member.id], choices[n % 4]
        assert row.digest == (choice if choice in ("daily", "weekly") else ""), member.username
        if choice != "now":
            assert row.mail_due_at is None, member.username
        elif n == 0:
            assert row.mail_due_at == now + timedelta(minutes=3)
        else:
            assert row.mail_due_at == now, member.username


async def test_stopped_by_the_button_stays_stopped_when_the_member_comments(client, users):
    asker, helper, q, q2 = await _forum(users)
    member = await users("member", 100)
    csrf = await login(client, "member")

    page = await client.get(f"/questions/{q.id}", follow_redirects=True)
    assert '<button type="submit" class="secondary small">Watch</button>' in page.text
    r = await client.post(f"/questions/{q.id}/watch", data={"csrf_token": csrf, "watching": "1"})
    assert r.status_code == 303 and r.headers["location"] == f"/questions/{q.id}"
    page = await client.get(f"/questions/{q.id}", follow_redirects=True)
    assert "You watch this question." in page.text and ">Stop watching</button>" in page.text
    assert member.id in await watches.question_watchers(q.id)

    r = await client.post(f"/questions/{q.id}/watch", data={"csrf_token": csrf, "watching": "0"})
    assert r.status_code == 303
    assert member.id not in await watches.question_watchers(q.id)

    r = await client.post(f"/posts/{q.id}/comments", data={"csrf_token": csrf, "body": "Does it work on wifi calling?"})
    assert r.status_code == 303
    assert member.id not in await watches.question_watchers(q.id)
    await questions.answer(helper, q.id, ANSWER)
    assert not await Notification.filter(user_id=member.id, kind="watched_answer").exists()
    page = await client.get(f"/questions/{q.id}", follow_redirects=True)
    assert '<button type="submit" class="secondary small">Watch</button>' in page.text


async def test_watch_button_refusals(client, users):
    asker, helper, q, q2 = await _forum(users)
    await users("member")
    csrf = await login(client, "member")
    r = await client.post(f"/questions/{q.id}/watch", data={"watching": "1"})  # no CSRF token
    assert r.status_code == 403
    r = await client.post(f"/questions/{q.id}/watch", data={"csrf_token": csrf, "watching": "maybe"})
    assert r.status_code == 422 and "Send watching=1 to watch or watching=0 to stop." in r.text
    r = await client.post("/questions/999999/watch", data={"csrf_token": csrf, "watching": "1"})
    assert r.status_code == 404
    r = await client.post("/tags/no-such-tag/watch", data={"csrf_token": csrf, "watching": "1"})
    assert r.status_code == 404 and "There is no tag" in r.text
    assert await QuestionWatch.exclude(user_id__in=[asker.id, helper.id]).count() == 0


async def test_anonymous_readers_see_no_watch_button_and_are_sent_to_log_in(client, users):
    asker, helper, q, q2 = await _forum(users)
    page = await client.get(f"/questions/{q.id}", follow_redirects=True)
    assert page.status_code == 200 and "/watch" not in page.text
    page = await client.get("/tags/roaming")
    assert page.status_code == 200 and "/watch" not in page.text
    r = await client.post(f"/questions/{q.id}/watch", data={"watching": "1"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_watch_tag_button_on_the_tag_page(client, users):
    asker, helper, q, q2 = await _forum(users)
    member = await users("member")
    csrf = await login(client, "member")
    page = await client.get("/tags/roaming")
    assert 'action="/tags/roaming/watch"' in page.text and ">Watch tag</button>" in page.text
    r = await client.post("/tags/roaming/watch", data={"csrf_token": csrf, "watching": "1"})
    assert r.status_code == 303 and r.headers["location"] == "/tags/roaming"
    assert await watches.watched_tags(member) == ["roaming"]
    page = await client.get("/tags/roaming")
    assert "You watch this tag." in page.text and ">Stop watching</button>" in page.text

    # A new question in the tag reaches the watcher (at once, as they chose; the default is the daily digest).
    await preferences.put(member, {"tag_question": "now"})
    q3 = await questions.ask(helper, "Roaming in Portugal charges me daily", BODY, ["roaming"])
    n = await Notification.get(user_id=member.id, kind="tag_question")
    assert (n.question_id, n.reason) == (q3.id, "you watch the tag roaming")

    r = await client.post("/tags/roaming/watch", data={"csrf_token": csrf, "watching": "0"})
    assert r.status_code == 303
    assert await watches.watched_tags(member) == []
    assert ">Watch tag</button>" in (await client.get("/tags/roaming")).text


async def test_profile_shows_watched_tags_to_the_member_and_admins_only(client, users):
    asker, helper, q, q2 = await _forum(users)
    member = await users("member")
    await users("admin", 1, "admin")
    await watches.replace(member, {"tags": ["roaming", "top-up"]})

    await login(client, "member")
    page = (await client.get(f"/users/{member.id}")).text
    assert "Watched tags" in page and '<a class="tag" href="/tags/roaming">roaming</a>' in page
    assert '<a class="tag" href="/tags/top-up">top-up</a>' in page and 'href="/account/notifications"' in page

    await login(client, "helper")
    page = (await client.get(f"/users/{member.id}")).text
    assert "Watched tags" not in page and "/tags/top-up" not in page

    await login(client, "admin")
    page = (await client.get(f"/users/{member.id}")).text
    assert "Watched tags" in page and '<a class="tag" href="/tags/top-up">top-up</a>' in page

    client.cookies.clear()
    page = (await client.get(f"/users/{member.id}")).text
    assert "Watched tags" not in page

