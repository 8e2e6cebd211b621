"""Pages that look like a product (community/brand.py, community/times.py, community/counts.py): the
brand an admin sets at /admin/brand and /brand.css made from it; times read "3 min ago" in the
reader's time zone with the exact time in <time datetime title>; counts with their plurals; the
escalated badge and previous and next pages in lists; the current navigation item marked."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone
from html import unescape
from pathlib import Path

import httpx
import pytest
from PIL import Image

from community import brand, counts, questions, settings, times, web
from community.config import Config
from community.models import Post, Upload, User
from community.support import tickets
from tests.conftest import login

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)  # the fake clock's start


async def _brand_form(client: httpx.AsyncClient) -> str:
    page = await client.get("/admin/brand")
    assert page.status_code == 200, page.text
    return CSRF.search(page.text).group(1)


def _field(html: str, name: str) -> str:
    found = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html) or \
        re.search(rf'<input[^>]*value="([^"]*)"[^>]*name="{name}"', html)
    assert found, f"no {name} field"
    return unescape(found.group(1))


# ---- the brand -------------------------------------------------------------------------------------

async def test_only_admins_see_or_change_the_brand(client, users):
    await users("mem", 5000)
    await users("mod", 1, "moderator")
    await users("agent", 1, "staff")
    await users("boss", 1, "admin")
    anonymous = await client.get("/admin/brand")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    for name in ("mem", "mod", "agent"):
        csrf = await login(client, name)
        page = await client.get("/admin/brand")
        assert page.status_code == 403 and "Only admins can change the community&#39;s brand." in page.text
        sent = await client.post("/admin/brand", data={"csrf_token": csrf, "name": "Taken over", "primary_color": "#000000",
                                                       "time_zone": "UTC"})
        assert sent.status_code == 403
        assert 'href="/admin/brand"' not in (await client.get("/")).text  # no way to the brand in their header
        # Moderators reach the console's member pages; members and agents see no Admin item.
        assert ('<a href="/admin">Admin</a>' in (await client.get("/")).text) == (name == "mod")
        await client.post("/logout", data={"csrf_token": csrf})
    assert settings.get("brand.name") == brand.DEFAULT_NAME
    await login(client, "boss")
    home = (await client.get("/")).text
    assert '<a href="/admin">Admin</a>' in home  # the console, which leads to the brand
    page = await client.get("/admin/brand")
    assert page.status_code == 200 and _field(page.text, "primary_color") == brand.DEFAULT_COLOR


async def test_admin_changes_the_brand_and_every_page_shows_it(client, users):
    await users("boss", 1, "admin")
    await login(client, "boss")
    before = (await client.get("/")).text
    old_css = re.search(r'<link rel="stylesheet" href="(/brand\.css\?v=[0-9a-f]+)">', before).group(1)
    csrf = await _brand_form(client)
    r = await client.post("/admin/brand", data={"csrf_token": csrf, "name": "  Lumen   Mobile Community ",
                                                "primary_color": "#0F766E", "time_zone": "Europe/London"})
    assert r.status_code == 303 and r.headers["location"] == "/admin/brand?done=saved"
    assert "Saved: every page now shows the new brand." in (await client.get(r.headers["location"])).text

    # Stored: a fresh process reads the same brand from the settings table.
    settings.reset_overrides()
    await settings.load()
    assert (settings.get("brand.name"), settings.get("brand.primary_color"), settings.get("site.time_zone")) == \
        ("Lumen Mobile Community", "#0f766e", "Europe/London")

    for path in ("/", "/tags", "/privileges", "/no-such-page"):
        page = (await client.get(path)).text
        assert '<span class="brand-name">Lumen Mobile Community</span>' in page, path
        assert re.search(r"<title>[^<]* · Lumen Mobile Community</title>", page), path
    new_css = re.search(r'<link rel="stylesheet" href="(/brand\.css\?v=[0-9a-f]+)">', (await client.get("/")).text).group(1)
    assert new_css != old_css  # a new address: browsers fetch the new colours at once

    css = await client.get(new_css)
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "--accent: #0f766e;" in css.text and "--brand: #0f766e;" in css.text
    assert "@media (prefers-color-scheme: dark)" in css.text
    home = await client.get("/")  # the colour comes from a stylesheet: the policy still allows no inline style
    assert "style-src 'self';" in home.headers["content-security-policy"] and "unsafe-inline" not in home.headers["content-security-policy"]
    assert " style=" not in home.text and "<style" not in home.text
    stale = await client.get(old_css)  # an old version's address is answered with today's colours, not kept
    assert stale.headers["cache-control"] == "no-cache" and "--accent: #0f766e;" in stale.text

    mark = await client.get(re.search(r'<img class="logo" src="([^"]+)"', (await client.get("/")).text).group(1))
    assert mark.status_code == 200 and mark.headers["content-type"].startswith("image/svg+xml")
    assert 'fill="#0f766e"' in mark.text and ">L</text>" in mark.text


def test_brand_stylesheet_keeps_text_readable_in_both_schemes():
    for color in ("#0f766e", "#0b5cad", "#6d28d9", "#b91c1c", "#000000", "#595959"):
        css = brand.stylesheet(color)
        light, dark = css.split("@media (prefers-color-scheme: dark)")
        value = lambda block, name: re.search(rf"{name}: (#[0-9a-f]{{6}});", block).group(1)  # noqa: E731
        for bg in brand.LIGHT_BACKGROUNDS + (value(light, "--brand-soft"),):
            assert brand.contrast(value(light, "--link"), bg) >= 4.5, (color, bg)
        assert brand.contrast(value(light, "--brand-soft-ink"), value(light, "--brand-soft")) >= 4.5
        for bg in brand.DARK_BACKGROUNDS + (value(dark, "--brand-soft"),):
            assert brand.contrast(value(dark, "--link"), bg) >= 4.5, (color, bg)
        assert brand.contrast(value(dark, "--brand-soft-ink"), value(dark, "--brand-soft")) >= 4.5
        assert brand.contrast("#ffffff", value(light, "--brand-deep")) >= 4.5  # the header's white text
        assert brand.contrast("#ffffff", value(dark, "--brand-deep")) >= 4.5


async def test_a_refused_brand_says_why_and_keeps_what_was_typed(client, users):
    await users("boss", 1, "admin")
    await login(client, "boss")
    csrf = await _brand_form(client)

    r = await client.post("/admin/brand", data={"csrf_token": csrf, "name": "My typed name", "primary_color": "teal",
                                                "time_zone": "Europe/Paris"})
    assert r.status_code == 422
    assert "Give the colour as # and six hexadecimal digits, such as #0f766e." in r.text
    assert _field(r.text, "name") == "My typed name" and _field(r.text, "primary_color") == "teal"
    assert "<option selected>Europe/Paris</option>" in r.text

    r = await client.post("/admin/brand", data={"csrf_token": csrf, "name": "My typed name", "primary_color": "#7dd3fc",
                                                "time_zone": "UTC"})
    assert r.status_code == 422 and _field(r.text, "primary_color") == "#7dd3fc"
    message = unescape(re.search(r'<p class="field-error" id="primary_color-error" role="alert">([^<]+)</p>', r.text).group(1))
    assert message.startswith("#7dd3fc is too light for white text on buttons: the contrast is 1.")
    assert "WCAG AA needs at least 4.5:1" in message
    suggested = re.search(r"that passes: (#[0-9a-f]{6})\.$", message).group(1)
    assert 4.5 <= brand.contrast(suggested, "#ffffff") < 5
    assert 'aria-invalid="true"' in r.text and 'aria-describedby="brand-color-hint primary_color-error"' in r.text

    # Every field's message at once; nothing is saved.
    r = await client.post("/admin/brand", data={"csrf_token": csrf, "name": "   ", "primary_color": "#abcdef0",
                                                "time_zone": "Mars/Olympus"})
    assert r.status_code == 422
    for field in ("name", "primary_color", "time_zone"):
        assert f'id="{field}-error"' in r.text, field
    assert "Nothing was saved: the fields below need a change." in r.text
    assert (settings.get("brand.name"), settings.get("brand.primary_color")) == (brand.DEFAULT_NAME, brand.DEFAULT_COLOR)

    no_token = await client.post("/admin/brand", data={"name": "X", "primary_color": "#000000", "time_zone": "UTC"})
    assert no_token.status_code == 403 and settings.get("brand.name") == brand.DEFAULT_NAME


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (15, 118, 110)).save(out, "PNG")
    return out.getvalue()


async def test_admin_uploads_a_logo_and_can_remove_it(client, users, config):
    await users("boss", 1, "admin")
    await login(client, "boss")
    csrf = await _brand_form(client)
    fields = {"csrf_token": csrf, "name": "Lumen", "primary_color": "#0f766e", "time_zone": "UTC"}
    bad = await client.post("/admin/brand", data=fields, files={"logo": ("logo.png", b"<svg>not a picture</svg>", "image/png")})
    assert bad.status_code == 422 and "This file is not a JPEG, PNG or WebP image" in bad.text
    assert _field(bad.text, "name") == "Lumen" and settings.get("brand.logo") == ""

    ok = await client.post("/admin/brand", data=fields, files={"logo": ("wide.png", _png(300, 100), "image/png")})
    assert ok.status_code == 303
    name = settings.get("brand.logo")
    row = await Upload.get(name=name)
    assert (row.purpose, row.width, row.height) == ("logo", brand.LOGO_SIDE, brand.LOGO_SIDE)  # fitted in a square
    assert (Path(config.upload_dir) / name).is_file()
    home = (await client.get("/")).text
    assert f'<img class="logo" src="/uploads/{name}" width="32" height="32" alt="">' in home
    assert (await client.get(f"/uploads/{name}")).headers["content-type"] == "image/png"

    page = (await client.get("/admin/brand")).text
    assert 'name="remove_logo"' in page
    r = await client.post("/admin/brand", data={**fields, "csrf_token": CSRF.search(page).group(1), "remove_logo": "1"})
    assert r.status_code == 303 and settings.get("brand.logo") == ""
    assert '<img class="logo" src="/brand-mark.svg?v=' in (await client.get("/")).text


async def test_a_brand_change_reaches_pages_kept_for_visitors(tmp_path, database_url, database, users):
    from community.app import create_app

    web.page_cache.clear()
    config = Config(var_dir=tmp_path / "var", database_url=database_url, secret_key="test-secret", index_dir=tmp_path / "index",
                    demo_data=False, page_cache=True, run_indexer=False, run_sweeper=False)
    app = create_app(config, manage_db=False, background=False)
    boss = await users("boss", 1, "admin")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as visitor:
        await visitor.get("/")
        assert (await visitor.get("/")).headers.get("x-cache") == "hit"
        await brand.save(boss, "Lumen Mobile Community", "#0f766e", "UTC")
        page = await visitor.get("/")
        assert page.headers.get("x-cache") is None and "Lumen Mobile Community" in page.text
    web.page_cache.clear()


# ---- times -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("delta, zone, text", [
    (timedelta(seconds=20), "UTC", "just now"),
    (timedelta(minutes=3, seconds=10), "UTC", "3 min ago"),
    (timedelta(minutes=59, seconds=59), "UTC", "59 min ago"),
    (timedelta(hours=1, minutes=5), "UTC", "1 hour ago"),
    (timedelta(hours=8), "UTC", "8 hours ago"),
    (timedelta(hours=9, minutes=30), "UTC", "yesterday"),  # 23:30 the day before
    (timedelta(hours=9, minutes=30), "Asia/Tokyo", "9 hours ago"),  # 08:30 the same day in Tokyo
    (timedelta(hours=10), "America/New_York", "yesterday"),
    (timedelta(days=3), "UTC", "2 Jan"),
    (timedelta(days=40), "UTC", "26 Nov 2025"),
    (-timedelta(minutes=25), "UTC", "in 25 min"),
    (-timedelta(hours=20), "UTC", "tomorrow at 05:00"),
])
def test_ago_reads_like_a_person_in_the_readers_zone(fake_clock, delta, zone, text):
    when = NOW - delta
    html = str(times.ago(when, zone))
    iso = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert re.fullmatch(rf'<time datetime="{iso}" title="[^"]+">{re.escape(text)}</time>', html), html
    if delta > timedelta(0):  # what the thread's kept posts show is the same
        assert times.fill(str(times.mark(when)).encode(), zone, NOW).decode() == html


def test_the_exact_time_is_in_the_readers_zone(fake_clock):
    when = datetime(2026, 1, 4, 23, 30, tzinfo=timezone.utc)
    assert str(times.ago(when, "Asia/Tokyo")) == \
        '<time datetime="2026-01-04T23:30:00Z" title="5 Jan 2026, 08:30 JST">9 hours ago</time>'
    assert str(times.exact(when, "Europe/London")) == \
        '<time datetime="2026-01-04T23:30:00Z" title="4 Jan 2026, 23:30 GMT">4 Jan 2026, 23:30 GMT</time>'
    assert str(times.day("2025-07-01T22:00:00+00:00", "Europe/Berlin")) == \
        '<time datetime="2025-07-01T22:00:00Z" title="2 Jul 2025, 00:00 CEST">2 Jul 2025</time>'
    assert str(times.ago(None)) == "" and str(times.ago("not a time")) == ""


async def _thread_with_times(users, fake_clock) -> tuple[Post, User]:
    asker = await users("asker", 100)
    helper = await users("helper", 100)
    fake_clock.set(datetime(2026, 1, 4, 23, 30, tzinfo=timezone.utc))
    q = await questions.ask(asker, "Roaming data stopped in Lisbon", "No data since I landed, calls work.", ["roaming"])
    fake_clock.set(NOW - timedelta(minutes=3))
    await questions.answer(helper, q.id, "Switch data roaming on in the phone's mobile network settings.")
    fake_clock.set(NOW)
    return q, asker


async def test_pages_show_times_in_the_members_zone(client, users, fake_clock):
    q, asker = await _thread_with_times(users, fake_clock)
    await User.filter(id=asker.id).update(time_zone="Asia/Tokyo")
    thread = f"/questions/{q.id}"

    page = (await client.get(thread, follow_redirects=True)).text  # a visitor: the community's zone, UTC
    assert '<time datetime="2026-01-04T23:30:00Z" title="4 Jan 2026, 23:30 UTC">yesterday</time>' in page
    assert '<time datetime="2026-01-05T08:57:00Z" title="5 Jan 2026, 08:57 UTC">3 min ago</time>' in page
    assert times.MARK not in page
    home = (await client.get("/")).text
    assert 'asked <time datetime="2026-01-04T23:30:00Z" title="4 Jan 2026, 23:30 UTC">yesterday</time>' in home

    await login(client, "asker")  # Tokyo
    page = (await client.get(thread, follow_redirects=True)).text
    assert '<time datetime="2026-01-04T23:30:00Z" title="5 Jan 2026, 08:30 JST">9 hours ago</time>' in page
    assert 'title="5 Jan 2026, 17:57 JST">3 min ago</time>' in page
    inbox = (await client.get("/inbox")).text  # the answer's notification
    assert 'title="5 Jan 2026, 17:57 JST">3 min ago</time>' in inbox
    profile = (await client.get(f"/users/{asker.id}")).text
    assert re.search(r'member since <time datetime="[^"]+" title="[^"]+ JST">5 Jan 2026</time>', profile)

    fake_clock.advance(hours=2)  # the same kept posts, read later
    page = (await client.get(thread, follow_redirects=True)).text
    assert 'title="5 Jan 2026, 17:57 JST">2 hours ago</time>' in page


async def test_the_community_zone_is_the_visitors(client, users, fake_clock):
    q, _ = await _thread_with_times(users, fake_clock)
    settings.override("site.time_zone", "America/New_York")
    page = (await client.get(f"/questions/{q.id}", follow_redirects=True)).text
    assert '<time datetime="2026-01-04T23:30:00Z" title="4 Jan 2026, 18:30 EST">yesterday</time>' in page


async def test_kept_thread_posts_get_each_readers_times(tmp_path, database_url, database, users, fake_clock):
    """With the page cache on, a thread's posts are rendered once and shared: the times still follow
    the reader's zone and the clock."""
    from community.app import create_app

    web.page_cache.clear()
    config = Config(var_dir=tmp_path / "var", database_url=database_url, secret_key="test-secret", index_dir=tmp_path / "index",
                    demo_data=False, page_cache=True, run_indexer=False, run_sweeper=False)
    app = create_app(config, manage_db=False, background=False)
    q, asker = await _thread_with_times(users, fake_clock)
    await User.filter(id=asker.id).update(time_zone="Asia/Tokyo")
    await users("london", 1)
    await User.filter(username="london").update(time_zone="Europe/London")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as tokyo, \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as london:
        await login(tokyo, "asker")
        await login(london, "london")
        for _ in range(2):
            assert 'title="5 Jan 2026, 08:30 JST">9 hours ago</time>' in (await tokyo.get(f"/questions/{q.id}", follow_redirects=True)).text
            assert 'title="4 Jan 2026, 23:30 GMT">yesterday</time>' in (await london.get(f"/questions/{q.id}", follow_redirects=True)).text
        fake_clock.advance(minutes=10)
        assert 'title="5 Jan 2026, 08:57 GMT">13 min ago</time>' in (await london.get(f"/questions/{q.id}", follow_redirects=True)).text
    web.page_cache.clear()


async def test_visitors_kept_pages_are_made_again_as_their_times_age(tmp_path, database_url, database, users, monkeypatch):
    from community.app import create_app

    web.page_cache.clear()
    config = Config(var_dir=tmp_path / "var", database_url=database_url, secret_key="test-secret", index_dir=tmp_path / "index",
                    demo_data=False, page_cache=True, run_indexer=False, run_sweeper=False)
    app = create_app(config, manage_db=False, background=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as visitor:
        await visitor.get("/tags")
        assert (await visitor.get("/tags")).headers.get("x-cache") == "hit"
        later = web.time.monotonic() + web.PageCache.FRESH_SECONDS + 1
        monkeypatch.setattr(web.time, "monotonic", lambda: later)
        assert (await visitor.get("/tags")).headers.get("x-cache") is None
        assert (await visitor.get("/tags")).headers.get("x-cache") == "hit"
    web.page_cache.clear()


# ---- lists -----------------------------------------------------------------------------------------

def test_counts_take_their_plural():
    assert [counts.counted(n, "answer") for n in (0, 1, 2, 1204)] == ["0 answers", "1 answer", "2 answers", "1,204 answers"]
    assert [counts.plural(n, "vote") for n in (-1, -2, 1)] == ["vote", "votes", "vote"]
    assert counts.counted(3, "reply", "replies") == "3 replies" and counts.counted(1, "reply", "replies") == "1 reply"


async def test_list_counts_are_labelled_and_escalated_questions_marked(client, users):
    asker = await users("asker", 100)
    voter = await users("voter", 100)
    agent = await users("agent", 1, "staff")
    one = await questions.ask(asker, "Voicemail greeting resets every week", "It goes back to the default.", ["voicemail"])
    two = await questions.ask(asker, "eSIM transfer to a new iPhone fails", "It says the transfer failed.", ["esim"])
    await questions.answer(voter, one.id, "Record it again after the update, it keeps it then.")
    from community import voting

    await voting.vote(voter, one.id, 1)
    helper = await users("helper", 100)
    await questions.answer(helper, two.id, "Ask for a new eSIM QR code from your account page.")
    await questions.answer(voter, two.id, "Restart both phones and keep them close together.")
    await tickets.escalate(agent, two.id, "Waiting customer")

    page = (await client.get("/questions")).text
    rows = {title: row for row in page.split('<li class="qrow">')[1:]
            for title in [re.search(r'<h3><a href="[^"]+">([^<]+)</a>', row).group(1)]}
    first, second = rows["Voicemail greeting resets every week"], rows["eSIM transfer to a new iPhone fails"]
    assert "<strong>1</strong> vote</span>" in first and "<strong>1</strong> answer</span>" in first
    assert "<strong>0</strong> votes</span>" in second and "<strong>2</strong> answers</span>" in second
    assert ">Escalated</span>" in second and ">Escalated</span>" not in first
    thread = (await client.get(f"/questions/{two.id}", follow_redirects=True)).text
    assert '<h2 id="answers-heading">2 answers</h2>' in thread


async def test_lists_link_to_the_previous_and_next_pages(client, users, fake_clock):
    author = await users("author", 100)
    made = []
    for i in range(questions.PAGE_SIZE * 2 + 5):
        made.append((await questions.ask(author, f"Question {i:02d} about my bill this month", "Details of my bill, please help.", ["billing"])).id)
        fake_clock.advance(minutes=1)
    newest_first = made[::-1]
    ids = re.compile(r'<h3><a href="/questions/(\d+)/')

    async def page(url: str) -> tuple[list[int], str | None, str | None]:
        text = (await client.get(url)).text
        prev = re.search(r'<a rel="prev" href="([^"]+)">← Previous page</a>', text)
        nxt = re.search(r'<a rel="next" href="([^"]+)">Next page →</a>', text)
        return [int(x) for x in ids.findall(text)], unescape(prev.group(1)) if prev else None, unescape(nxt.group(1)) if nxt else None

    for base in ("/questions", "/tags/billing"):
        one, prev, nxt = await page(f"{base}?sort=newest")
        assert one == newest_first[:20] and prev is None and nxt
        two, prev, nxt = await page(base + nxt)
        assert two == newest_first[20:40] and prev == "?sort=newest"
        three, prev3, last = await page(base + nxt)
        assert three == newest_first[40:] and last is None
        back, _, _ = await page(base + prev3)  # previous from the third page is exactly the second
        assert back == two
        first_again, _, _ = await page(base + prev)
        assert first_again == one
    tagged = (await client.get("/questions?tag=billing&sort=newest")).text  # a tag given as a parameter stays in the links
    assert re.search(r'<a rel="next" href="\?sort=newest&amp;cursor=[^"&]+&amp;tag=billing">', tagged)


async def test_the_current_navigation_item_is_marked(client, users):
    admin = await users("boss", 1, "admin")
    q = await questions.ask(admin, "Where do I find my PUK code", "My SIM asks for a PUK.", ["sim"])
    anonymous = {"/": '<a href="/questions" aria-current="page">Questions</a>',
                 "/tags": '<a href="/tags" aria-current="page">Tags</a>',
                 "/tags/sim": '<a href="/tags" aria-current="true">Tags</a>',
                 "/login": '<a href="/login" aria-current="page">Log in</a>'}
    for path, link in anonymous.items():
        page = (await client.get(path)).text
        assert link in page, path
        assert page.count("aria-current=") == 1 + (path in ("/", "/tags/sim")), path  # (+ the sort tabs' current item)
    thread = (await client.get(f"/questions/{q.id}", follow_redirects=True)).text
    assert '<a href="/questions" aria-current="true">Questions</a>' in thread
    await login(client, "boss")
    assert '<a href="/admin" aria-current="true">Admin</a>' in (await client.get("/admin/brand")).text
    assert '<a href="/questions/ask" class="button" aria-current="page">Ask</a>' in (await client.get("/questions/ask")).text
    inbox = (await client.get("/inbox")).text
    assert re.search(r'<a href="/inbox" class="inbox-link" title="Inbox" data-unread-poll="\d+" aria-current="page">', inbox)
    assert f'<a class="profile-link" aria-current="page" href="/users/{admin.id}">' in (await client.get(f"/users/{admin.id}")).text
