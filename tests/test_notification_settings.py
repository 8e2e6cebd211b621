"""Notification settings: GET/PUT /api/v1/me/notification-settings, and the page
/account/notifications (a row of choices per kind, the watched tags as text, the watched questions
with a Stop button each) that keeps what the member typed when it refuses a form."""

from __future__ import annotations

import re

from community import preferences, questions, watches
from community.mail_links import Site
from community.models import Notification, NotificationPreference, OutgoingMail, User
from community.notification_mail import compose_due
from tests.conftest import login, token_for

TITLE = "Data roaming stopped working in Spain"
BODY = "I switched roaming on but the phone shows no data connection at all."
ANSWER = "Check that the APN is set to the network's internet APN, then restart."
DEFAULTS = {kind: default for kind, (_, default) in preferences.KINDS.items()}
ON_A_MEMBERS_PAGE = {k: v for k, v in DEFAULTS.items() if k != "ticket_assigned"}  # support tickets reach staff alone


def _checked(page: str) -> dict[str, str]:
    """The radio button checked in each kind's row of the settings page."""
    return dict(re.findall(r'name="delivery\.([a-z_]+)" value="([a-z]+)" checked', page))


def _tags_field(page: str) -> str:
    return re.search(r'<input id="tags" name="tags" value="([^"]*)"', page).group(1)


# ---- the API -------------------------------------------------------------------------------------------


async def test_settings_round_trip_through_the_api(client, users):
    member = await users("member")
    auth = await token_for(client, "member")

    r = await client.get("/api/v1/me/notification-settings", headers=auth)
    assert r.status_code == 200
    data = r.json()
    assert data["settings"] == DEFAULTS
    assert data["settings"]["answer"] == "now" and data["settings"]["tag_question"] == "daily"
    assert data["deliveries"] == ["now", "daily", "weekly", "never"]
    assert {"kind": "tag_question", "label": "A new question in a tag you watch", "default": "daily"} in data["kinds"]
    assert [k["kind"] for k in data["kinds"]] == list(preferences.KINDS)

    r = await client.put("/api/v1/me/notification-settings", headers=auth,
                         json={"settings": {"answer": "daily", "tag_question": "never", "comment": "now"}})
    assert r.status_code == 200, r.text
    assert r.json()["settings"] == {**DEFAULTS, "answer": "daily", "tag_question": "never"}
    assert (await client.get("/api/v1/me/notification-settings", headers=auth)).json()["settings"] == \
        {**DEFAULTS, "answer": "daily", "tag_question": "never"}
    # Only choices that differ from the default are rows.
    rows = await NotificationPreference.filter(user_id=member.id).order_by("kind").values_list("kind", "delivery")
    assert rows == [("answer", "daily"), ("tag_question", "never")]

    # Back to the default: the row goes.
    r = await client.put("/api/v1/me/notification-settings", headers=auth, json={"settings": {"answer": "now"}})
    assert r.json()["settings"] == {**DEFAULTS, "tag_question": "never"}
    assert await NotificationPreference.filter(user_id=member.id).count() == 1


async def test_settings_api_refusals_name_the_field(client, users):
    member = await users("member")
    auth = await token_for(client, "member")
    await client.put("/api/v1/me/notification-settings", headers=auth, json={"settings": {"comment": "weekly"}})
    cases = [
        ({"settings": {"answer": "hourly"}}, "answer", "Choose one of now, daily, weekly, never for 'answer'."),
        ({"settings": {"answer": "daily", "gossip": "now"}}, "gossip", None),
        ({"settings": {"answer": 1}}, "answer", None),
        ({"settings": "answer=now"}, "settings", None),
        ({"settings": ["answer"]}, "settings", None),
        ({}, "settings", None),
    ]
    for body, field, message in cases:
        r = await client.put("/api/v1/me/notification-settings", headers=auth, json=body)
        assert r.status_code == 422, (body, r.text)
        error = r.json()["error"]
        assert error["code"] == "invalid" and error["field"] == field, (body, error)
        if message:
            assert error["message"] == message
    assert "There is no notification kind 'gossip'" in (await client.put(
        "/api/v1/me/notification-settings", headers=auth, json={"settings": {"gossip": "now"}})).json()["error"]["message"]
    # Nothing of a refused PUT was saved, not even its valid part.
    assert await preferences.get(member) == {**DEFAULTS, "comment": "weekly"}


async def test_settings_api_needs_a_member(client, users):
    await users("member")
    assert (await client.get("/api/v1/me/notification-settings")).status_code == 401
    r = await client.put("/api/v1/me/notification-settings", json={"settings": {"answer": "never"}})
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"
    assert await NotificationPreference.all().count() == 0
    await login(client, "member")
    r = await client.put("/api/v1/me/notification-settings", json={"settings": {"answer": "never"}})
    assert r.status_code == 403  # a cookie caller without the X-CSRF-Token header
    assert await NotificationPreference.all().count() == 0


async def test_a_choice_decides_how_the_next_answer_arrives(database, users):
    asker = await users("asker")
    helper = await users("helper")
    q = await questions.ask(asker, TITLE, BODY, ["roaming"])
    await preferences.put(asker, {"answer": "never"})
    await questions.answer(helper, q.id, ANSWER)
    n = await Notification.get(user_id=asker.id, kind="answer")
    assert (n.mail_due_at, n.digest) == (None, "")  # in the inbox only
    await preferences.put(asker, {"answer": "weekly"})
    await questions.answer(await users("third"), q.id, ANSWER + " Or reset the network settings.")
    n = await Notification.filter(user_id=asker.id, kind="answer").order_by("-id").first()
    assert (n.mail_due_at, n.digest) == (None, "weekly")


# ---- the page ------------------------------------------------------------------------------------------


async def test_settings_page_shows_the_choices_and_saves_them(client, users):
    asker = await users("asker")
    member = await users("member")
    await questions.ask(asker, TITLE, BODY, ["roaming", "data"])
    await questions.ask(asker, "Top-up did not arrive on my account", BODY, ["top-up"])
    csrf = await login(client, "member")

    assert 'href="/account/notifications"' in (await client.get("/account")).text
    page = await client.get("/account/notifications")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert _checked(page.text) == ON_A_MEMBERS_PAGE
    for label in ("At once", "Daily digest", "Weekly digest", "Never", "An answer on your question",
                  "A new question in a tag you watch"):
        assert label in page.text
    assert _tags_field(page.text) == ""

    form = {"csrf_token": csrf, **{f"delivery.{k}": v for k, v in DEFAULTS.items()},
            "delivery.answer": "daily", "delivery.mention": "never", "tags": "Roaming  top-up, data"}
    r = await client.post("/account/notifications", data=form)
    assert r.status_code == 303 and r.headers["location"] == "/account/notifications?done=saved"
    member = await User.get(id=member.id)
    assert await preferences.get(member) == {**DEFAULTS, "answer": "daily", "mention": "never"}
    assert await watches.watched_tags(member) == ["data", "roaming", "top-up"]

    page = await client.get(r.headers["location"])
    assert "Your notification settings are saved." in page.text
    assert _checked(page.text) == {**ON_A_MEMBERS_PAGE, "answer": "daily", "mention": "never"}
    assert _tags_field(page.text) == "data roaming top-up"

    # A new question in a watched tag now waits for the member's daily digest (the default for it).
    await questions.ask(asker, "Roaming in Portugal charges me daily", BODY, ["roaming"])
    assert not await Notification.filter(user_id=member.id, kind="tag_question").exists()

    # Emptying the field stops watching every tag.
    r = await client.post("/account/notifications", data={**form, "tags": "  "})
    assert r.status_code == 303
    assert await watches.watched_tags(member) == []


async def test_an_unknown_tag_keeps_the_typed_text_and_saves_nothing(client, users):
    asker = await users("asker")
    member = await users("member")
    await questions.ask(asker, TITLE, BODY, ["roaming"])
    await watches.replace(member, {"tags": ["roaming"]})
    csrf = await login(client, "member")

    form = {"csrf_token": csrf, "delivery.answer": "weekly", "delivery.tag_question": "now", "tags": "roaming romaing"}
    r = await client.post("/account/notifications", data=form)
    assert r.status_code == 422
    assert '<p class="field-error" id="tags-error" role="alert">There is no tag &#39;romaing&#39;.</p>' in r.text
    assert _tags_field(r.text) == "roaming romaing"
    assert 'aria-invalid="true"' in r.text
    checked = _checked(r.text)
    assert (checked["answer"], checked["tag_question"], checked["comment"]) == ("weekly", "now", "now")
    # Nothing was saved: neither the tags nor the choices sent with them.
    assert await watches.watched_tags(member) == ["roaming"]
    assert await preferences.get(member) == DEFAULTS


async def test_a_tampered_choice_is_refused_with_a_message_in_its_row(client, users):
    member = await users("member")
    csrf = await login(client, "member")
    r = await client.post("/account/notifications", data={"csrf_token": csrf, "delivery.answer": "hourly", "tags": "x"})
    assert r.status_code == 422
    assert 'id="answer-error" role="alert">Choose one of now, daily, weekly, never for &#39;answer&#39;.</p>' in r.text
    assert _tags_field(r.text) == "x"
    r = await client.post("/account/notifications", data={"csrf_token": csrf, "delivery.gossip": "now", "tags": ""})
    assert r.status_code == 422 and "There is no notification kind &#39;gossip&#39;" in r.text
    r = await client.post("/account/notifications", data={"delivery.answer": "never", "tags": ""})  # no CSRF token
    assert r.status_code == 403
    assert await preferences.get(member) == DEFAULTS


async def test_the_page_needs_a_member(client, users):
    r = await client.get("/account/notifications")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/account/notifications"


async def test_watched_questions_listed_with_a_stop_button(client, users):
    asker = await users("asker")
    member = await users("member", 100)
    q = await questions.ask(asker, TITLE, BODY, ["roaming"])
    q2 = await questions.ask(asker, "Top-up did not arrive on my account", BODY, ["top-up"])
    await questions.comment(member, q.id, "Which phone model is this on?")
    await watches.set_question(member, q2.id, True)
    csrf = await login(client, "member")

    page = (await client.get("/account/notifications")).text
    assert f'<a href="/questions/{q.id}/data-roaming-stopped-working-in-spain">{TITLE}</a>' in page
    assert f'aria-label="Stop watching {TITLE}"' in page
    assert 'aria-label="Stop watching Top-up did not arrive on my account"' in page

    r = await client.post(f"/questions/{q.id}/watch",
                          data={"csrf_token": csrf, "watching": "0", "next": "/account/notifications"})
    assert r.status_code == 303 and r.headers["location"] == "/account/notifications?done=stopped#questions"
    page = (await client.get(r.headers["location"])).text
    assert "You no longer watch that question." in page
    assert f'aria-label="Stop watching {TITLE}"' not in page
    assert await watches.question_watchers(q.id) == [asker.id]
    # Any other "next" goes back to the thread, never elsewhere.
    r = await client.post(f"/questions/{q2.id}/watch", data={"csrf_token": csrf, "watching": "0", "next": "https://evil.example/"})
    assert r.headers["location"] == f"/questions/{q2.id}"


async def test_every_notification_mail_links_to_the_settings_page(database, users):
    asker = await users("asker")
    helper = await users("helper")
    q = await questions.ask(asker, TITLE, BODY, ["roaming"])
    await questions.answer(helper, q.id, ANSWER)
    assert await compose_due(Site("https://forum.example", "secret")) == 1
    row = await OutgoingMail.get(user_id=asker.id)
    assert "All your mail settings: https://forum.example/account/notifications" in row.body_text
    assert 'href="https://forum.example/account/notifications"' in row.body_html
