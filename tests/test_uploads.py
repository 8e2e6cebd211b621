"""Image uploads (community/uploads.py, POST /api/v1/uploads, GET /uploads/NAME): re-encoded so no
metadata survives, JPEG/PNG/WebP only (by content), size and side limits, bombs refused, the same
picture stored once, served for a year with nosniff, new members held back as for links, and shown
in posts with their width and height."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import pytest
from PIL import Image, PngImagePlugin

from community import questions, settings
from community.models import Post, Upload
from tests.conftest import login, token_for


def jpeg_with_gps(size: tuple[int, int] = (64, 48)) -> bytes:
    img = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 12.5), 3: "W", 4: (0.0, 7.0, 39.0)}  # GPSInfo: where it was taken
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif, quality=95)
    return out.getvalue()


def png(size: tuple[int, int] = (40, 30), mode: str = "RGBA") -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jane Secret")
    out = io.BytesIO()
    Image.new(mode, size, (10, 120, 200, 255) if mode == "RGBA" else (10, 120, 200)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def encoded(fmt: str, size: tuple[int, int] = (20, 10)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (1, 2, 3)).save(out, fmt)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge picture: what a decompression bomb looks like before decoding."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 1000, 9)) + chunk(b"IEND", b"")


@pytest.fixture
async def member(client, users):
    await users("member", 200)
    return await token_for(client, "member")


async def _upload(client, headers, data: bytes, filename: str = "shot.png", content_type: str = "image/png", **extra):
    return await client.post("/api/v1/uploads", headers=headers, files={"file": (filename, data, content_type)}, data=extra)


def _refused(r, *words: str) -> str:
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["field"] == "file" and error["code"] == "invalid"
    for word in words:
        assert word in error["message"], error["message"]
    return error["message"]


async def test_a_jpeg_with_gps_exif_comes_back_without_any_metadata(client, app, member):
    source = jpeg_with_gps()
    assert Image.open(io.BytesIO(source)).getexif().get_ifd(0x8825)  # the test picture does carry a location
    r = await _upload(client, member, source, "holiday.jpg", "image/jpeg")
    assert r.status_code == 201, r.text
    data = r.json()
    stored = (app.state.config.upload_dir / data["name"]).read_bytes()
    assert data["name"] == hashlib.sha256(stored).hexdigest() + ".jpg"
    assert (data["content_type"], data["width"], data["height"], data["size"]) == ("image/jpeg", 64, 48, len(stored))
    assert data["url"] == f"/uploads/{data['name']}" and data["markdown"] == f"![holiday](/uploads/{data['name']})"
    img = Image.open(io.BytesIO(stored))
    assert img.format == "JPEG" and img.size == (64, 48)
    assert dict(img.getexif()) == {} and "exif" not in img.info and "icc_profile" not in img.info
    assert b"Exif" not in stored and b"SpyCam" not in stored
    assert img.convert("RGB").getpixel((32, 24))[0] > 180  # the pixels survive the re-encoding
    row = await Upload.get(name=data["name"])
    assert (row.purpose, row.width, row.height, row.size, row.content_type) == ("post", 64, 48, len(stored), "image/jpeg")


async def test_png_and_webp_are_taken_and_keep_their_kind(client, app, member):
    r = await _upload(client, member, png(), "diagram.png")
    assert r.status_code == 201, r.text
    stored = (app.state.config.upload_dir / r.json()["name"]).read_bytes()
    img = Image.open(io.BytesIO(stored))
    assert r.json()["name"].endswith(".png") and r.json()["content_type"] == "image/png"
    assert img.format == "PNG" and img.mode == "RGBA" and img.size == (40, 30)
    assert "Author" not in img.info and b"Jane Secret" not in stored  # text chunks go too
    r = await _upload(client, member, encoded("WEBP"), "x.webp", "image/webp")
    assert r.status_code == 201, r.text
    assert r.json()["name"].endswith(".webp") and r.json()["content_type"] == "image/webp"
    assert (r.json()["width"], r.json()["height"]) == (20, 10)
    # The kind comes from the bytes: a PNG sent as "photo.jpg" (image/jpeg) is stored as the PNG it is.
    r = await _upload(client, member, png((7, 7), "RGB"), "photo.jpg", "image/jpeg")
    assert r.status_code == 201 and r.json()["name"].endswith(".png")


async def test_anything_but_jpeg_png_and_webp_is_refused_with_a_message(client, app, member):
    _refused(await _upload(client, member, encoded("GIF"), "anim.gif", "image/gif"), "not a JPEG, PNG or WebP", "GIF")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'
    _refused(await _upload(client, member, svg, "logo.svg", "image/svg+xml"), "not a JPEG, PNG or WebP")
    _refused(await _upload(client, member, b"<html><script>alert(1)</script></html>", "page.png", "image/png"),
             "not a JPEG, PNG or WebP")
    _refused(await _upload(client, member, b"just some notes\n", "notes.png", "image/png"), "not a JPEG, PNG or WebP")
    _refused(await _upload(client, member, b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "broken.png"), "could not be read")
    _refused(await _upload(client, member, b"", "empty.png"), "empty")
    assert await Upload.all().count() == 0
    assert not any(app.state.config.upload_dir.glob("*")) if app.state.config.upload_dir.exists() else True


async def test_too_many_pixels_and_decompression_bombs_are_refused(client, member):
    _refused(await _upload(client, member, encoded("PNG", (5000, 20)), "wide.png"), "5000 × 20", "4,000 pixels")
    _refused(await _upload(client, member, png_claiming(4001, 4001), "big.png"), "4,000 pixels")
    _refused(await _upload(client, member, png_claiming(30000, 30000), "bomb.png"), "4,000 pixels")
    ok = await _upload(client, member, encoded("PNG", (4000, 10)), "edge.png")
    assert ok.status_code == 201, ok.text
    assert await Upload.all().count() == 1


async def test_a_file_over_10_mb_is_refused_with_the_limit(client, member):
    big = b"\xff\xd8\xff\xe0" + b"\x00" * (10 * 1024 * 1024)
    _refused(await _upload(client, member, big, "huge.jpg", "image/jpeg"), "at most 10 MB")
    r = await _upload(client, member, b"\x00" * (50 * 1024 * 1024), "fifty.jpg", "image/jpeg")
    assert r.status_code == 413, r.text
    assert r.json()["error"]["field"] == "file" and "at most 10 MB" in r.json()["error"]["message"]
    assert await Upload.all().count() == 0


async def test_the_same_picture_is_stored_once_under_its_hash(client, app, users, member):
    await users("other", 200)
    other = await token_for(client, "other")
    first = await _upload(client, member, jpeg_with_gps(), "a.jpg", "image/jpeg")
    again = await _upload(client, other, jpeg_with_gps(), "b.jpg", "image/jpeg")
    assert first.status_code == again.status_code == 201
    assert first.json()["name"] == again.json()["name"]
    assert await Upload.filter(name=first.json()["name"]).count() == 1 and await Upload.all().count() == 1
    assert [p.name for p in app.state.config.upload_dir.iterdir()] == [first.json()["name"]]


async def test_a_stored_picture_is_served_for_a_year_with_its_type_and_nosniff(client, app, member):
    name = (await _upload(client, member, png(), "diagram.png")).json()["name"]
    r = await client.get(f"/uploads/{name}")
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.content == (app.state.config.upload_dir / name).read_bytes()
    for wrong in ("0" * 64 + ".png", name.replace(".png", ".jpg"), "..%2Fcommunity.sqlite3", "secret_key", name + ".html"):
        assert (await client.get(f"/uploads/{wrong}")).status_code == 404, wrong


async def test_who_may_upload(client, users, member):
    r = await _upload(client, {}, png())
    assert r.status_code == 401
    await users("newbie", 1)
    r = await _upload(client, await token_for(client, "newbie"), png())
    assert r.status_code == 403, r.text
    assert r.json()["error"]["field"] == "file"
    assert f"takes {settings.get('limit.new_member_rep')} reputation (you have 1)" in r.json()["error"]["message"]
    settings.override("limit.new_member_rep", 1)
    assert (await _upload(client, await token_for(client, "newbie"), png())).status_code == 201
    # A browser session must send its CSRF token, as for every API write.
    await users("browser", 200)
    csrf = await login(client, "browser")
    assert (await _upload(client, {}, png((3, 3)))).status_code == 403
    assert (await _upload(client, {"X-CSRF-Token": csrf}, png((3, 3)))).status_code == 201
    # Not a multipart form at all.
    r = await client.post("/api/v1/uploads", headers=member, json={"file": "x"})
    _refused(r, "multipart/form-data")


async def test_uploads_are_rate_limited_per_member(client, member):
    settings.override("limit.uploads_per_hour", 2)
    assert (await _upload(client, member, png((2, 2)))).status_code == 201
    assert (await _upload(client, member, png((3, 3)))).status_code == 201
    r = await _upload(client, member, png((4, 4)))
    assert r.status_code == 429 and "image" in r.json()["error"]["message"]


async def test_an_uploaded_image_in_a_post_is_shown_with_its_width_and_height(client, users, member):
    name = (await _upload(client, member, jpeg_with_gps((320, 200)), "screen.jpg", "image/jpeg")).json()["name"]
    body = (f"The settings screen looks like this:\n\n![Roaming settings](/uploads/{name})\n\n"
            '<img src="https://tracker.example/pixel.png" alt="elsewhere" width="9000">\n\n'
            f'<img src="/uploads/{name}" width="1" height="1" alt="resized">')
    r = await client.post("/api/v1/questions", headers=member, json={"title": "Roaming switch is greyed out on my phone",
                                                                         "body": body, "tags": ["roaming"]})
    assert r.status_code == 201, r.text
    html = (await Post.get(id=r.json()["id"])).body_html
    assert f'<img src="/uploads/{name}" alt="Roaming settings" width="320" height="200" loading="lazy">' in html
    assert f'<img src="/uploads/{name}" alt="resized" width="320" height="200" loading="lazy">' in html  # theirs dropped
    assert "tracker.example" not in html and 'width="9000"' not in html  # images only from /uploads/
    page = await client.get(f"/questions/{r.json()['id']}", follow_redirects=True)
    assert f'width="320" height="200"' in page.text
    # Answers and edits go through the same renderer.
    member_user = await questions.get_question(r.json()["id"])
    a = await client.post(f"/api/v1/questions/{member_user.id}/answers", headers=member,
                          json={"body": f"Same here: ![mine](/uploads/{name})"})
    assert 'width="320" height="200"' in (await Post.get(id=a.json()["id"])).body_html


async def test_a_new_member_counts_pictures_with_links(client, users, member):
    """A new member may not paste pictures someone else uploaded beyond the link allowance."""
    name = (await _upload(client, member, png((8, 8)))).json()["name"]
    await users("newbie", 1)
    newbie = await token_for(client, "newbie")
    allowed = settings.get("limit.new_member_links")
    body = "My screen shows this: " + " ".join(f"![shot {i}](/uploads/{name})" for i in range(allowed + 1))
    r = await client.post("/api/v1/questions", headers=newbie,
                          json={"title": "Why does my screen look like this now", "body": body, "tags": ["roaming"]})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == "body"
    assert f"at most {allowed} links or pictures" in r.json()["error"]["message"]
    body = "My screen shows this: " + " ".join(f"![shot {i}](/uploads/{name})" for i in range(allowed))
    r = await client.post("/api/v1/questions", headers=newbie,
                          json={"title": "Why does my screen look like this now", "body": body, "tags": ["roaming"]})
    assert r.status_code == 201, r.text


async def test_api_me_tells_location_time_zone_and_avatar(client, users):
    await users("zoe", 20)
    headers = await token_for(client, "zoe")
    r = await client.patch("/api/v1/me", headers=headers, json={"location": "Leeds", "time_zone": "Europe/London"})
    assert r.status_code == 200, r.text
    me = (await client.get("/api/v1/me", headers=headers)).json()
    assert me["username"] == "zoe" and me["location"] == "Leeds" and me["time_zone"] == "Europe/London"
    assert me["avatar_url"] == r.json()["avatar_url"] and me["avatar_url"]
