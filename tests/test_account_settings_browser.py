"""Browser journey: a member edits their profile and uploads a picture on a phone (and a desktop),
then finds the picture beside their question in the thread. SCREENSHOTS=folder saves each step
(account-profile-*, account-picture-*, account-thread-avatar-*)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from community import questions
from community.models import User
from tests.browser import assert_fits_width, log_in, new_page

pytestmark = pytest.mark.browser


async def _shot(page, name: str) -> None:
    folder = os.environ.get("SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _photo(path: Path) -> Path:
    img = Image.new("RGB", (640, 480), (230, 120, 30))
    img.paste((20, 90, 170), (220, 140, 420, 340))  # a blue square in the middle survives the crop
    img.save(path, "JPEG")
    return path


async def _image_loaded(page, selector: str) -> bool:
    return await page.locator(selector).first.evaluate("img => img.complete && img.naturalWidth > 0")


@pytest.mark.parametrize("phone", [True, False], ids=["phone", "desktop"])
async def test_edit_profile_and_picture_then_see_it_beside_the_question(live_server, browser, users, phone, tmp_path):
    nia = await users("nia")
    q = await questions.ask(nia, "Voicemail greeting resets after every update",
                            "Each system update puts my voicemail greeting back to the default one.", "voicemail")
    url = live_server.url
    size = "phone" if phone else "desktop"
    page = await new_page(browser, phone=phone)
    await log_in(page, url, "nia")

    await page.goto(url + "/account")
    assert await _image_loaded(page, "#picture ~ .avatar-edit img.avatar")  # the generated one, before any upload
    await page.get_by_label("Display name").fill("Nia Okafor")
    await page.get_by_label("Location").fill("Lagos")
    await page.get_by_label("Time zone").select_option("Africa/Lagos")
    await page.get_by_label("About you").fill("I fix phones for my whole street.")
    await page.get_by_role("button", name="Save profile").click()
    await page.wait_for_url(url + "/account?done=profile#profile")
    assert await page.get_by_text("Your profile is saved.").is_visible()
    assert await page.get_by_label("Display name").input_value() == "Nia Okafor"
    assert await page.get_by_label("Time zone").input_value() == "Africa/Lagos"
    await assert_fits_width(page)
    await _shot(page, f"account-profile-{size}")

    await page.get_by_label("Upload a picture").set_input_files(str(_photo(tmp_path / "nia.jpg")))
    await page.get_by_role("button", name="Upload picture").click()
    await page.wait_for_url(url + "/account?done=avatar#picture")
    name = (await User.get(id=nia.id)).avatar
    picture = page.get_by_role("img", name="Your picture")
    assert await picture.get_attribute("src") == f"/uploads/{name}"
    assert await _image_loaded(page, "#picture ~ .avatar-edit img.avatar")
    await assert_fits_width(page)
    await _shot(page, f"account-picture-{size}")

    await page.goto(url + f"/questions/{q.id}")
    author = page.locator(".post-foot .author").first
    assert "Nia Okafor" in await author.inner_text()
    avatar = author.locator("img.avatar")
    assert await avatar.get_attribute("src") == f"/uploads/{name}"
    assert (await avatar.get_attribute("width"), await avatar.get_attribute("height")) == ("32", "32")
    assert await avatar.evaluate("img => img.complete && img.naturalWidth === 256")
    assert await avatar.is_visible()
    await assert_fits_width(page)
    await _shot(page, f"account-thread-avatar-{size}")

    await page.goto(url + f"/users/{nia.id}")
    assert await page.get_by_role("img", name="Picture of Nia Okafor").is_visible()
    assert await page.get_by_text("I fix phones for my whole street.").is_visible()
    await assert_fits_width(page)
    await _shot(page, f"account-profile-page-{size}")
    await page.context.close()


async def test_generated_avatars_show_in_the_question_list(live_server, browser, users):
    nia, tom = await users("nia"), await users("tom")
    await questions.ask(nia, "Wi-Fi calling will not switch on", "The Wi-Fi calling toggle greys out on my phone.", "wifi-calling")
    await questions.ask(tom, "Top-up card code says already used", "The code on my new top-up card says it was used.", "top-up")
    page = await new_page(browser, phone=True)
    await page.goto(live_server.url + "/questions")
    images = page.locator(".qlist img.avatar")
    assert await images.count() == 2
    sources = {await images.nth(i).get_attribute("src") for i in range(2)}
    assert {s.split("?")[0] for s in sources} == {f"/avatars/{nia.id}.svg", f"/avatars/{tom.id}.svg"}
    for i in range(2):
        assert await images.nth(i).evaluate("img => img.complete && img.naturalWidth > 0")
    await assert_fits_width(page)
    await _shot(page, "account-list-avatars-phone")
    await page.context.close()
