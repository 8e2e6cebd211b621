"""The admin console's Settings section (community/admin/settings_console.py, setting_changes.py,
community/settings.py): every setting listed with its default and group; changes validated with the
services' own rules, saved all or none, recorded in the moderation log; only admins; and a change
saved by one process taken up by another (the settings generation, `settings.refresh`/`follow`)."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from html import unescape

import pytest

from community import brand, db, settings, web
from community.models import CommunitySetting
from moderation.models import AuditEntry
from tests.conftest import PG_URL, login, token_for

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _admin(client, users) -> dict[str, str]:
    await users("boss", 1, "admin")
    return await token_for(client, "boss")


async def _generation() -> int:
    rows = await db.fetch("SELECT value FROM content_generation WHERE id = ?", [settings.GENERATION_ROW])
    return int(rows[0]["value"]) if rows else 0


# ---- the API ---------------------------------------------------------------------------------------

async def test_the_list_holds_every_setting_with_its_default_description_and_group(client, users):
    h = await _admin(client, users)
    r = await client.get("/api/v1/admin/settings", headers=h)
    assert r.status_code == 200
    items = {i["name"]: i for i in r.json()["items"]}
    assert set(items) == set(settings.DECLARED)
    assert all(set(i) == {"name", "value", "default", "description", "group"} for i in items.values())
    assert items["sla.first_answer_minutes"] == {
        "name": "sla.first_answer_minutes", "value": 60, "default": 60, "group": "support",
        "description": "Minutes a question may wait for a first answer before escalation"}
    assert items["sla.tag_minutes"]["value"] == {"billing": 15} and items["sla.business_hours"]["value"] is None
    # The groups: new members apart from the other limits; the brand with the site's time zone.
    assert items["limit.new_member_rep"]["group"] == "new_members" and items["limit.answers_per_hour"]["group"] == "limits"
    assert items["site.time_zone"]["group"] == "brand" and items["flag.hide_threshold"]["group"] == "flags"
    groups = [i["group"] for i in r.json()["items"]]
    assert groups[:groups.index("privileges")] == ["reputation"] * groups.index("privileges")  # grouped, in the console's order


async def test_an_admin_changes_settings_and_each_change_is_audited(client, users):
    h = await _admin(client, users)
    before = await _generation()
    r = await client.patch("/api/v1/admin/settings", headers=h, json={
        "sla.first_answer_minutes": 45, "sla.tag_minutes": {"billing": 10, "Outage": 5}, "priv.upvote": 15})
    assert r.status_code == 200, r.text
    assert r.json()["changed"] == [  # priv.upvote was already 15: no change, nothing recorded
        {"name": "sla.first_answer_minutes", "old": 60, "new": 45},
        {"name": "sla.tag_minutes", "old": {"billing": 15}, "new": {"billing": 10, "outage": 5}}]
    assert settings.get("sla.first_answer_minutes") == 45
    assert settings.get("sla.tag_minutes") == {"billing": 10, "outage": 5}  # tag names as tags are written
    rows = {row.name: json.loads(row.value) for row in await CommunitySetting.all()}
    assert rows == {"sla.first_answer_minutes": 45, "sla.tag_minutes": {"billing": 10, "outage": 5}}
    assert await _generation() == before + 1  # one bump: every process re-reads once
    listed = {i["name"]: i["value"] for i in r.json()["items"]}
    assert listed["sla.first_answer_minutes"] == 45

    entries = await AuditEntry.filter(action="setting").order_by("id").prefetch_related("actor")
    assert [(e.actor.username, e.reason) for e in entries] == [
        ("boss", "sla.first_answer_minutes: 60 → 45"),
        ("boss", 'sla.tag_minutes: {"billing": 15} → {"billing": 10, "outage": 5}')]
    log = await client.get("/api/v1/moderation/log?action=setting", headers=h)
    assert [e["reason"] for e in log.json()["items"]][::-1] == [e.reason for e in entries]


@pytest.mark.parametrize("bad, field, says", [
    ({"sla.first_answer_minutes": -5}, "sla.first_answer_minutes", "Give 1 or more minutes."),
    ({"sla.claim_minutes": "soon"}, "sla.claim_minutes", "takes a whole number"),
    ({"sla.tag_minutes": {"billing": 0}}, "sla.tag_minutes", "above 0"),
    ({"sla.tag_minutes": {"two words": 5}}, "sla.tag_minutes", "is not a tag name"),
    ({"sla.business_hours": {"timezone": "Mars/Olympus_Mons", "days": ["mon"], "start": "09:00", "end": "17:00"}},
     "sla.business_hours", "Unknown time zone 'Mars/Olympus_Mons'"),
    ({"sla.business_hours": {"timezone": "Europe/London", "start": "17:00", "end": "09:00"}}, "sla.business_hours",
     "a start before the end"),
    ({"sla.business_hours": {"timzone": "Europe/London"}}, "sla.business_hours", "'timzone' is not one of them"),
    ({"site.time_zone": "Atlantis/Capital"}, "site.time_zone", "not a time zone we know"),
    ({"rep.ranks": [[1, "Newcomer"], [500, "Regular"], [50, "Member"]]}, "rep.ranks", "lowest first"),
    ({"rep.post_downvoted": 2}, "rep.post_downvoted", "a loss of reputation"),
    ({"brand.primary_color": "#ffff66"}, "brand.primary_color", "too light for white text"),
    ({"digest.hour": 24}, "digest.hour", "Give at most 23."),
    ({"priv.upvote": True}, "priv.upvote", "takes a whole number"),
    ({"no.such.setting": 1}, "no.such.setting", "There is no setting called"),
])
async def test_one_refused_value_saves_nothing(client, users, bad, field, says):
    h = await _admin(client, users)
    before = await _generation()
    r = await client.patch("/api/v1/admin/settings", headers=h, json={"sla.first_answer_minutes": 30, "priv.flag": 20, **bad}
                           if field != "sla.first_answer_minutes" else {"priv.flag": 20, **bad})
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["field"] == field and says in error["message"], error
    assert settings.get("sla.first_answer_minutes") == 60 and settings.get("priv.flag") == 15
    assert await CommunitySetting.all().count() == 0
    assert await AuditEntry.filter(action="setting").count() == 0
    assert await _generation() == before


async def test_only_admins_see_or_change_settings(client, users):
    await users("mem", 20000)
    await users("mod", 1, "moderator")
    await users("agent", 1, "staff")
    for name in ("mem", "mod", "agent"):
        h = await token_for(client, name)
        assert (await client.get("/api/v1/admin/settings", headers=h)).status_code == 403
        r = await client.patch("/api/v1/admin/settings", headers=h, json={"sla.first_answer_minutes": 1})
        assert r.status_code == 403 and r.json()["error"]["message"] == "Only admins can change the community's settings."
    assert (await client.get("/api/v1/admin/settings")).status_code == 401
    assert (await client.patch("/api/v1/admin/settings", json={"sla.first_answer_minutes": 1})).status_code == 401
    assert settings.get("sla.first_answer_minutes") == 60 and await CommunitySetting.all().count() == 0
    anonymous = await client.get("/admin/settings")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    await login(client, "mod")
    page = await client.get("/admin/settings")
    assert page.status_code == 403 and "Only admins can change the community&#39;s settings." in page.text


# ---- the console's pages ----------------------------------------------------------------------------

async def test_the_front_page_shows_admins_every_section_and_moderators_the_members(client, users):
    await users("mem", 20000)
    await users("mod", 1, "moderator")
    await users("boss", 1, "admin")
    anonymous = await client.get("/admin")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    csrf = await login(client, "mem")
    assert (await client.get("/admin")).status_code == 403
    assert 'href="/admin"' not in (await client.get("/")).text
    await client.post("/logout", data={"csrf_token": csrf})
    csrf = await login(client, "mod")
    page = await client.get("/admin")
    links = re.findall(r'<h2><a href="([^"]+)">', page.text)
    assert page.status_code == 200 and links == ["/admin/members"]
    assert '<a href="/admin">Admin</a>' in (await client.get("/")).text
    await client.post("/logout", data={"csrf_token": csrf})
    await login(client, "boss")
    page = await client.get("/admin")
    assert re.findall(r'<h2><a href="([^"]+)">', page.text) == [
        "/admin/settings", "/admin/members", "/admin/delivery", "/admin/brand", "/insights"]
    assert '<a href="/admin" aria-current="page">Admin</a>' in page.text


def _value(html: str, name: str) -> str:
    tag = re.search(rf'<(?:input|textarea)[^>]*name="{re.escape(name)}"[^>]*>', html)
    assert tag, f"no field {name}"
    if tag.group(0).startswith("<textarea"):
        return unescape(re.search(rf'name="{re.escape(name)}"[^>]*>([^<]*)</textarea>', html).group(1))
    return unescape(re.search(r'value="([^"]*)"', tag.group(0)).group(1))


async def test_the_settings_page_refuses_a_bad_group_whole_and_keeps_what_was_typed(client, users):
    await users("boss", 1, "admin")
    await login(client, "boss")
    page = await client.get("/admin/settings")
    assert page.status_code == 200
    for label in ("Reputation", "Privileges", "New members", "SLA and business hours", "Flags and review", "Limits", "Mail",
                  "Brand and time zone"):
        assert f">{label}</h2>" in page.text, label
    assert "Minutes a question may wait for a first answer before escalation" in page.text
    assert _value(page.text, "sla.first_answer_minutes") == "60" and _value(page.text, "sla.tag_minutes") == '{"billing": 15}'
    csrf = CSRF.search(page.text).group(1)
    typed = {"sla.first_answer_minutes": "-10", "sla.tag_minutes": '{"billing": 5}',
             "sla.business_hours": '{"timezone": "Moon/Tranquility", "start": "09:00", "end": "17:00"}',
             "sla.claim_minutes": "30", "sla.first_reply_minutes": "90"}
    r = await client.post("/admin/settings", data={"csrf_token": csrf, "group": "support", **typed})
    assert r.status_code == 422
    assert "Nothing was saved" in r.text and "Give 1 or more minutes." in r.text and "Unknown time zone" in r.text
    for name, text in typed.items():
        assert _value(r.text, name) == text, name
    assert 'id="set-sla-first_answer_minutes" name="sla.first_answer_minutes"' in r.text
    assert 'aria-describedby="set-sla-first_answer_minutes-hint set-sla-first_answer_minutes-error" aria-invalid="true"' in r.text
    assert settings.get("sla.tag_minutes") == {"billing": 15} and settings.get("sla.first_reply_minutes") == 120
    assert await CommunitySetting.all().count() == 0 and await AuditEntry.filter(action="setting").count() == 0

    r = await client.post("/admin/settings", data={"csrf_token": csrf, "group": "support", **typed,
                                                   "sla.first_answer_minutes": "40", "sla.business_hours": ""})
    assert r.status_code == 303 and r.headers["location"] == "/admin/settings?saved=support&changed=3#support"
    shown = await client.get(r.headers["location"])
    assert "Saved 3 changes: in force everywhere within a second" in shown.text
    assert (settings.get("sla.first_answer_minutes"), settings.get("sla.tag_minutes"), settings.get("sla.first_reply_minutes")) \
        == (40, {"billing": 5}, 90)
    log = await client.get("/moderation/log?action=setting")
    assert log.text.count("Changed a setting") == 3 + 1  # three rows, and the filter's option
    assert "sla.first_answer_minutes: 60 → 40" in log.text


# ---- every process -----------------------------------------------------------------------------------

async def _write_elsewhere(database_url: str, name: str, value: object) -> None:
    """What another worker's save does, on a connection of its own: the row, then the generation."""
    statements = [("INSERT INTO community_setting (name, value) VALUES ($1, $2) "
                   "ON CONFLICT (name) DO UPDATE SET value = excluded.value", [name, json.dumps(value)]),
                  ("INSERT INTO content_generation (id, value) VALUES ($1, 1) "
                   "ON CONFLICT (id) DO UPDATE SET value = content_generation.value + 1", [settings.GENERATION_ROW])]
    if PG_URL:
        import asyncpg

        conn = await asyncpg.connect(db.normalise_url(PG_URL).replace("postgres://", "postgresql://", 1))
        try:
            async with conn.transaction():
                for sql, args in statements:
                    await conn.execute(sql, *args)
        finally:
            await conn.close()
        return
    with sqlite3.connect(database_url[len("sqlite://"):]) as conn:
        for sql, args in statements:
            conn.execute(re.sub(r"\$\d", "?", sql), args)


async def test_a_change_saved_by_another_process_is_taken_up_here(database, client, users):
    await settings.refresh(force=True)
    assert settings.get("sla.first_answer_minutes") == 60
    await _write_elsewhere(database, "sla.first_answer_minutes", 25)
    assert settings.get("sla.first_answer_minutes") == 60  # this process has not looked yet
    web.page_cache.entries["/?"] = (0, b"a page made with the old values", "text/html", float("inf"))
    assert await settings.refresh(force=True) is True
    assert settings.get("sla.first_answer_minutes") == 25
    assert "/?" not in web.page_cache.entries  # this worker's kept pages are made again with the new values
    assert await settings.refresh(force=True) is False  # nothing new: one small query, nothing re-read

    # The loop every worker runs (settings_console.startup, run.py's commands) takes up the next change itself.
    follower = asyncio.create_task(settings.follow(every=0.01))
    try:
        await _write_elsewhere(database, "brand.name", "Lumen Mobile Community")
        for _ in range(500):
            if settings.get("brand.name") == "Lumen Mobile Community":
                break
            await asyncio.sleep(0.01)
        assert brand.current().name == "Lumen Mobile Community"
    finally:
        follower.cancel()

    # The brand page's save reaches other workers the same way: a fresh process's view after it.
    await users("boss", 1, "admin")
    from community.models import User

    await brand.save(await User.get(username="boss"), "Acme Help", "#0f766e", "Europe/Paris")
    settings.reset_overrides()  # a process that has read nothing yet
    await settings.refresh()
    assert (brand.current().name, brand.current().color, settings.get("site.time_zone")) == ("Acme Help", "#0f766e", "Europe/Paris")


async def test_brand_settings_keep_the_brand_pages_rules(database):
    from community.errors import Invalid

    with pytest.raises(Invalid) as refused:
        await settings.put("brand.primary_color", "#f0f0f0")
    assert refused.value.field == "brand.primary_color" and "4.5:1" in refused.value.message
    assert await settings.put("brand.primary_color", " #0F766E ") == "#0f766e"
