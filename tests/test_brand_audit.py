"""The brand page (/admin/brand, community/brand.py) saves through the settings console's service
(community/admin/setting_changes.py): each changed brand value is in the moderation audit log with
who changed it and the old and new value; a refused value saves and records nothing."""

from __future__ import annotations

import re
from html import unescape

from community import brand, settings
from community.models import User
from moderation.models import AuditEntry
from tests.conftest import login

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _form(client) -> str:
    page = await client.get("/admin/brand")
    assert page.status_code == 200, page.text
    return CSRF.search(page.text).group(1)


async def test_a_brand_colour_change_is_in_the_moderation_log(client, users):
    await users("boss", 1, "admin")
    await login(client, "boss")
    csrf = await _form(client)
    r = await client.post("/admin/brand", data={"csrf_token": csrf, "name": brand.DEFAULT_NAME,
                                                "primary_color": "#0F766E", "time_zone": "UTC"})
    assert r.status_code == 303 and r.headers["location"] == "/admin/brand?done=saved"
    assert settings.get("brand.primary_color") == "#0f766e"

    entries = await AuditEntry.filter(action="setting").prefetch_related("actor")
    # Only what changed: the name and the time zone were sent as they were.
    assert [(e.actor.username, e.reason) for e in entries] == [
        ("boss", f'brand.primary_color: "{brand.DEFAULT_COLOR}" → "#0f766e"')]
    log = await client.get("/moderation/log?action=setting")
    assert log.status_code == 200
    text = unescape(log.text)
    assert f'brand.primary_color: "{brand.DEFAULT_COLOR}" → "#0f766e"' in text
    assert "Changed a setting" in text and "boss" in text

    # A second save with a new name and zone: two more rows, the colour untouched.
    r = await client.post("/admin/brand", data={"csrf_token": csrf, "name": "Acme Help", "primary_color": "#0f766e",
                                                "time_zone": "Europe/London"})
    assert r.status_code == 303
    reasons = [e.reason for e in await AuditEntry.filter(action="setting").order_by("id")]
    assert reasons[1:] == [f'brand.name: "{brand.DEFAULT_NAME}" → "Acme Help"', 'site.time_zone: "UTC" → "Europe/London"']


async def test_a_refused_colour_saves_and_records_nothing(client, users):
    await users("boss", 1, "admin")
    await login(client, "boss")
    csrf = await _form(client)
    r = await client.post("/admin/brand", data={"csrf_token": csrf, "name": "Acme Help", "primary_color": "#ffff66",
                                                "time_zone": "UTC"})
    assert r.status_code == 422 and "too light" in unescape(r.text)
    assert settings.get("brand.name") == brand.DEFAULT_NAME
    assert await AuditEntry.filter(action="setting").count() == 0


async def test_the_service_itself_audits_under_the_admin(database, users):
    boss = await users("boss", 1, "admin")
    await brand.save(boss, "Acme Help", "#0f766e", "UTC")
    entry = await AuditEntry.filter(action="setting", reason__startswith="brand.primary_color").first()
    assert entry is not None and entry.actor_id == (await User.get(username="boss")).id
