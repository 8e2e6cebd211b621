"""My account: the profile (display name, about, location, time zone) through the page and the API,
the uploaded avatar (checked from its content, GPS and all metadata gone, a centred 256 px square),
the generated default avatars and where avatars show."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from community import questions
from community.models import Upload, User
from tests.conftest import login, token_for


def _jpeg_with_gps(size: tuple[int, int] = (600, 300)) -> bytes:
    """A photo as a phone makes it: bands of red, green, blue, and EXIF that says where it was taken."""
    img = Image.new("RGB", size, (0, 160, 0))
    third = size[0] // 4
    img.paste((200, 0, 0), (0, 0, third, size[1]))
    img.paste((0, 0, 200), (size[0] - third, 0, size[0], size[1]))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (51.0, 30.0, 12.5), 3: "W", 4: (0.0, 7.0, 39.0)})
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif, quality=90)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)  # the test photo really carries GPS
    return data


async def _upload(client, csrf: str, data: bytes, filename: str = "me.jpg", content_type: str = "image/jpeg"):
    return await client.post("/account/avatar", data={"csrf_token": csrf},
                             files={"avatar": (filename, data, content_type)})


async def test_profile_round_trip_through_the_page_and_the_profile(client, users):
    alice = await users("alice")
    csrf = await login(client, "alice")
    r = await client.post("/account/profile", data={
        "csrf_token": csrf, "display_name": "Alice Martín", "location": "Valencia, Spain",
        "time_zone": "Europe/Madrid", "about": "Roaming questions are my thing.\n\nAsk me about eSIMs."})
    assert r.status_code == 303 and r.headers["location"] == "/account?done=profile#profile"
    row = await User.get(id=alice.id)
    assert (row.display_name, row.location, row.time_zone) == ("Alice Martín", "Valencia, Spain", "Europe/Madrid")
    assert row.about == "Roaming questions are my thing.\n\nAsk me about eSIMs."
    page = (await client.get("/account?done=profile")).text
    assert "Your profile is saved." in page
    assert 'value="Alice Martín"' in page and "<option selected>Europe/Madrid</option>" in page
    profile = (await client.get(f"/users/{alice.id}")).text
    assert "<h1>Alice Martín</h1>" in profile and "Valencia, Spain" in profile
    assert "<p>Ask me about eSIMs.</p>" in profile
    assert f'src="/avatars/{alice.id}.svg?v=' in profile and 'width="96" height="96" alt="Picture of Alice Martín"' in profile


async def test_every_wrong_field_is_named_at_once_and_the_text_is_kept(client, users):
    alice = await users("alice")
    csrf = await login(client, "alice")
    r = await client.post("/account/profile", data={
        "csrf_token": csrf, "display_name": "A" * 81, "location": "Lisbon", "time_zone": "Mars/Olympus_Mons",
        "about": "I keep this text."})
    assert r.status_code == 422
    assert "Keep the display name to 80 characters (it has 81)." in r.text
    assert "“Mars/Olympus_Mons” is not a time zone we know." in r.text
    assert 'value="' + "A" * 81 + '"' in r.text and 'value="Lisbon"' in r.text and ">I keep this text.</textarea>" in r.text
    assert 'aria-describedby="display_name-error"' in r.text
    row = await User.get(id=alice.id)
    assert (row.display_name, row.location, row.time_zone, row.about) == ("", "", "", "")  # nothing was saved

    r = await client.post("/account/profile", data={"csrf_token": csrf, "display_name": "Deleted Member",
                                                     "about": "x" * 2001})
    assert r.status_code == 422
    assert "how deleted accounts are shown" in r.text and "Keep the about text to 2000 characters" in r.text


async def test_profile_through_the_api(client, users):
    await users("alice")
    h = await token_for(client, "alice")
    r = await client.patch("/api/v1/me", json={"display_name": "Alice", "time_zone": "America/Sao_Paulo"}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["display_name"] == "Alice" and r.json()["time_zone"] == "America/Sao_Paulo"
    r = await client.patch("/api/v1/me", json={"time_zone": "Nowhere/Special"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "time_zone"
    r = await client.patch("/api/v1/me", json={"location": ["not", "text"]}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "location"
    r = await client.patch("/api/v1/me", json={"time_zone": None}, headers=h)
    assert r.status_code == 200 and r.json()["time_zone"] is None and r.json()["display_name"] == "Alice"
    assert (await client.patch("/api/v1/me", json={"about": "hi"})).status_code == 401


async def test_an_uploaded_avatar_loses_its_gps_and_becomes_a_centred_256_square(client, users, config):
    alice = await users("alice")
    csrf = await login(client, "alice")
    r = await _upload(client, csrf, _jpeg_with_gps())
    assert r.status_code == 303, r.text
    row = await User.get(id=alice.id)
    assert re.fullmatch(r"[0-9a-f]{64}\.webp", row.avatar)
    upload = await Upload.get(name=row.avatar)
    assert (upload.purpose, upload.user_id, upload.width, upload.height) == ("avatar", alice.id, 256, 256)
    stored = (config.upload_dir / row.avatar).read_bytes()
    served = await client.get(f"/uploads/{row.avatar}")
    assert served.status_code == 200 and served.content == stored and served.headers["content-type"] == "image/webp"
    img = Image.open(io.BytesIO(stored))
    assert img.format == "WEBP" and img.size == (256, 256)
    assert not img.getexif() and "exif" not in img.info and "icc_profile" not in img.info
    assert b"PhoneMaker" not in stored
    rgb = img.convert("RGB")
    for x, y in ((2, 2), (253, 2), (128, 128), (2, 253)):  # the square came from the green middle
        r_, g, b = rgb.getpixel((x, y))
        assert g > 120 and r_ < 60 and b < 60, (x, y, rgb.getpixel((x, y)))
    page = (await client.get("/account")).text
    assert f'src="/uploads/{row.avatar}" width="96" height="96"' in page and "Remove picture" in page


async def test_a_new_picture_replaces_the_old_file_and_remove_goes_back_to_the_default(client, users, config):
    alice = await users("alice")
    csrf = await login(client, "alice")
    await _upload(client, csrf, _jpeg_with_gps())
    first = (await User.get(id=alice.id)).avatar
    png = io.BytesIO()
    Image.new("RGBA", (300, 500), (10, 20, 200, 128)).save(png, "PNG")
    assert (await _upload(client, csrf, png.getvalue(), "me.png", "image/png")).status_code == 303
    second = (await User.get(id=alice.id)).avatar
    assert second != first and not (config.upload_dir / first).exists() and not await Upload.exists(name=first)
    assert Image.open(config.upload_dir / second).size == (256, 256)
    r = await client.post("/account/avatar/remove", data={"csrf_token": csrf})
    assert r.status_code == 303
    assert (await User.get(id=alice.id)).avatar == "" and not (config.upload_dir / second).exists()
    assert f'src="/avatars/{alice.id}.svg?v=' in (await client.get("/account")).text


@pytest.mark.parametrize("name, data, content_type, message", [
    ("anim.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/gif", "not a JPEG, PNG or WebP picture"),
    ("page.png", b"<!doctype html><script>alert(1)</script>", "image/png", "not a JPEG, PNG or WebP picture"),
    ("face.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml", "not a JPEG, PNG or WebP picture"),
    ("huge.jpg", b"\xff\xd8\xff" + b"0" * (5 * 1024 * 1024), "image/jpeg", "upload one of at most 5 MB"),
    ("broken.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 50, "image/jpeg", "could not be read"),
    ("empty.png", b"", "image/png", "Choose a picture to upload"),
])
async def test_what_is_not_a_picture_is_refused_with_a_message(client, users, name, data, content_type, message):
    alice = await users("alice")
    csrf = await login(client, "alice")
    r = await _upload(client, csrf, data, name, content_type)
    assert r.status_code == 422, r.text[:300]
    assert message in r.text and 'id="avatar-error"' in r.text
    assert (await User.get(id=alice.id)).avatar == "" and not await Upload.exists()


async def test_a_decompression_bomb_and_a_missing_token_are_refused(client, users):
    await users("alice")
    csrf = await login(client, "alice")
    bomb = io.BytesIO()
    Image.new("1", (12000, 12000)).save(bomb, "PNG")  # a few KB that unpack to 144 megapixels
    r = await _upload(client, csrf, bomb.getvalue(), "bomb.png", "image/png")
    assert r.status_code == 422 and "million pixels; upload a smaller one" in r.text
    wide = io.BytesIO()
    Image.new("1", (9000, 5000)).save(wide, "PNG")  # under Pillow's own alarm, over ours
    r = await _upload(client, csrf, wide.getvalue(), "wide.png", "image/png")
    assert r.status_code == 422 and "9000 × 5000 pixels; upload a smaller one" in r.text
    r = await client.post("/account/avatar", files={"avatar": ("a.jpg", _jpeg_with_gps(), "image/jpeg")})
    assert r.status_code == 403 and not await Upload.exists()


async def test_generated_avatars_differ_per_member_and_are_safe_images(client, users):
    alice, bob = await users("alice"), await users("bob")
    await User.filter(id=bob.id).update(display_name="Bob van Dijk")
    a, b = await client.get(f"/avatars/{alice.id}.svg"), await client.get(f"/avatars/{bob.id}.svg")
    assert a.status_code == b.status_code == 200
    assert a.headers["content-type"].startswith("image/svg+xml")
    assert a.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert ">A</text>" in a.text and ">BV</text>" in b.text
    fill = re.compile(r'<rect width="64" height="64" fill="(#[0-9a-f]{6})"/>')
    assert fill.search(a.text).group(1) != fill.search(b.text).group(1)
    assert "style" not in a.text and "<script" not in a.text
    assert (await client.get("/avatars/999999.svg")).text == (await client.get("/avatars/member.svg")).text
    assert (await client.get("/avatars/..%2Fsecret_key")).status_code == 404
    assert (await client.get("/avatars/9999999999.svg")).status_code == 200  # out of range: the neutral figure


async def test_avatars_show_in_the_list_and_beside_authors_in_the_thread(client, users):
    alice, bob = await users("alice"), await users("bob", 50)
    q = await questions.ask(alice, "Hotspot drops when the screen locks", "The hotspot stops whenever my phone's screen locks.", "hotspot")
    await questions.answer(bob, q.id, "Turn off battery saver for the hotspot; it suspends tethering when locked.")
    listing = (await client.get("/questions")).text
    assert re.search(rf'<img class="avatar" src="/avatars/{alice.id}\.svg\?v=[0-9a-f]{{8}}" width="20" height="20" alt="">', listing)
    thread = (await client.get(f"/questions/{q.id}", follow_redirects=True)).text
    for who in (alice, bob):
        assert re.search(rf'<img class="avatar" src="/avatars/{who.id}\.svg\?v=[0-9a-f]{{8}}" width="32" height="32" alt="">', thread)
