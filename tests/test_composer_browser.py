"""The composer in Chromium: typing shows the server's preview, the toolbar wraps the selection, a
picked image is uploaded and shown, the draft survives a reload and goes once posted, a body over the
limit comes back with the text kept, "This solved my problem" asks before it discards a draft, and
the answer composer fits a 390 px phone. Screenshots go to SCREENSHOTS (default /tmp/shots14) as
composer-*.png."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from PIL import Image

from community import acceptance, questions
from search.indexer import Indexer
from search.web import search_backend
from tests.browser import assert_fits_width, log_in

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("SCREENSHOTS", "/tmp/shots14"))
TITLE = "Roaming data stopped working in Spain"


def screenshot_png() -> bytes:
    """A phone screenshot-like picture: a bar and some 'text' lines."""
    img = Image.new("RGB", (360, 240), (245, 247, 250))
    for y in range(0, 40):
        for x in range(360):
            img.putpixel((x, y), (11, 92, 173))
    for row in range(60, 220, 30):
        for x in range(20, 300):
            img.putpixel((x, row), (60, 60, 60))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def config(config):
    config.embeddings = False  # the similar-questions index is built here with the words only, as the server reads it
    return config


@pytest.fixture
async def forum(app, users, fake_clock):
    asker = await users("asker", 200)
    helper = await users("helper", 200)
    await users("writer", 200)
    q = await questions.ask(asker, TITLE, "Data roaming is on but nothing loads since I landed in Madrid.", "roaming")
    a = await questions.answer(helper, q.id, "Turn on data roaming for the eSIM line, then restart the phone.")
    await acceptance.accept(asker, q.id, a.id)
    await Indexer(search_backend(app)).drain()
    return {"question": q}


@pytest.fixture
def live_server_env(forum) -> dict[str, str]:
    return {"RUN_INDEXER": "0", "RUN_SWEEPER": "0", "RUN_MAILER": "0", "EMBEDDINGS": "0"}


async def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"composer-{name}.png"), full_page=True)


async def _pick_image(page, textarea) -> str:
    """Pick a screenshot with the composer's file input; returns the Markdown it put in."""
    form = textarea.locator("xpath=ancestor::form")
    await form.locator("input.composer-file").set_input_files(
        {"name": "roaming settings.png", "mimeType": "image/png", "buffer": screenshot_png()})
    await page.wait_for_function("(id) => /!\\[roaming settings\\]\\(\\/uploads\\/[0-9a-f]{64}\\.png\\)/.test(document.getElementById(id).value)",
                                 arg=await textarea.get_attribute("id"))
    return re.search(r"!\[roaming settings\]\(/uploads/[0-9a-f]{64}\.png\)", await textarea.input_value()).group(0)


async def test_ask_with_toolbar_preview_image_and_a_draft_that_survives_a_reload(live_server, browser_page):
    page, url = browser_page, live_server.url
    await log_in(page, url, "writer")
    await page.goto(url + "/questions/ask")
    body = page.get_by_label("Details")
    toolbar = page.get_by_role("toolbar", name="Formatting")
    assert [await b.get_attribute("type") for b in await toolbar.get_by_role("button").all()] == ["button"] * 7
    preview = page.get_by_role("region", name="Preview")
    assert await preview.get_attribute("aria-live") == "polite"

    # Typing shows the server's rendering.
    await page.get_by_label("Title").fill("Hotspot drops every few minutes on my tablet")
    await body.fill("The **hotspot** stops:\n\n- after 5 minutes\n- on battery\n\n> Connection lost")
    await preview.locator("strong", has_text="hotspot").wait_for()
    assert await preview.locator("li").all_inner_texts() == ["after 5 minutes", "on battery"]
    assert await preview.locator("blockquote").inner_text() == "Connection lost"

    # Bold wraps the selection; the keyboard moves along the toolbar.
    await body.fill("The tablet keeps dropping the hotspot")
    await body.evaluate("(el) => el.setSelectionRange(el.value.indexOf('the hotspot'), el.value.length)")
    await toolbar.get_by_role("button", name="Bold (Ctrl+B)").click()
    assert await body.input_value() == "The tablet keeps dropping **the hotspot**"
    await toolbar.get_by_role("button", name="Bold (Ctrl+B)").focus()
    await page.keyboard.press("ArrowRight")
    assert await page.evaluate("document.activeElement.getAttribute('aria-label')") == "Italic (Ctrl+I)"
    await preview.locator("strong", has_text="the hotspot").wait_for()

    # A picked screenshot is uploaded, put in as Markdown and shown in the preview at its size.
    await body.press("End")
    await body.press("Enter")
    markdown = await _pick_image(page, body)
    image = preview.locator('img[alt="roaming settings"]')
    await image.wait_for()
    assert (await image.get_attribute("width"), await image.get_attribute("height")) == ("360", "240")
    await page.wait_for_function("() => { const i = document.querySelector('.composer-preview img'); return i && i.complete && i.naturalWidth === 360; }")
    await page.get_by_label("Tags").fill("hotspot tablet")
    await _shot(page, "ask-desktop")

    # The draft survives a reload.
    await page.wait_for_function("() => (localStorage.getItem('draft:ask') || '').includes('hotspot tablet')")
    await page.reload()
    assert await page.get_by_label("Title").input_value() == "Hotspot drops every few minutes on my tablet"
    assert markdown in await page.get_by_label("Details").input_value()
    assert await page.get_by_label("Tags").input_value() == "hotspot tablet"
    await page.get_by_role("region", name="Preview").locator('img[alt="roaming settings"]').wait_for()

    # Posted: the thread shows the picture with its size, and the draft is gone.
    await page.get_by_role("button", name="Post your question").click()
    await page.wait_for_url(re.compile(r".*/questions/\d+.*"))
    shown = page.locator('.question .body img[alt="roaming settings"]')
    assert (await shown.get_attribute("width"), await shown.get_attribute("height")) == ("360", "240")
    await page.wait_for_function("() => localStorage.getItem('draft:ask') === null")
    await page.goto(url + "/questions/ask")
    assert await page.get_by_label("Details").input_value() == ""


async def test_answer_on_a_phone_keeps_text_over_the_limit_and_posts_a_screenshot(live_server, phone_page, forum):
    page, url = phone_page, live_server.url
    qid = forum["question"].id
    await log_in(page, url, "writer")
    await page.goto(f"{url}/questions/{qid}")
    answer = page.get_by_label("Answer", exact=True)

    # Over the limit: the thread comes back with the text in the box and the limit stated.
    too_long = "Check the APN settings. " * 1300
    await answer.fill(too_long)
    await page.get_by_role("button", name="Post your answer").click()
    error = page.locator("#answer-error")
    await error.wait_for()
    assert (await error.inner_text()).startswith("Keep it to 30000 characters")
    assert (await page.get_by_label("Answer", exact=True).input_value()).strip() == too_long.strip()

    await answer.fill("Switch **data roaming** on for the eSIM line:\n\n")
    markdown = await _pick_image(page, answer)
    preview = page.get_by_role("region", name="Preview")
    await preview.locator('img[alt="roaming settings"]').wait_for()
    await preview.locator("strong", has_text="data roaming").wait_for()
    await assert_fits_width(page)
    await answer.scroll_into_view_if_needed()
    await _shot(page, "answer-phone")

    await page.wait_for_function(f"() => (localStorage.getItem('draft:answer-{qid}') || '').includes('/uploads/')")
    await page.reload()
    assert markdown in await page.get_by_label("Answer", exact=True).input_value()
    await page.get_by_role("button", name="Post your answer").click()
    await page.wait_for_url(re.compile(r".*#answer-\d+$"))
    posted = page.locator('.answers .body img[alt="roaming settings"]')
    assert (await posted.get_attribute("width"), await posted.get_attribute("height")) == ("360", "240")
    await page.wait_for_function(f"() => localStorage.getItem('draft:answer-{qid}') === null")
    assert await page.get_by_label("Answer", exact=True).input_value() == ""
    await assert_fits_width(page)
    await _shot(page, "answer-posted-phone")


async def test_solved_my_problem_asks_before_it_discards_a_draft(live_server, browser_page):
    page, url = browser_page, live_server.url
    await log_in(page, url, "writer")
    await page.goto(url + "/questions/ask")
    await page.get_by_label("Title").fill("Roaming data not working in Spain")
    await page.get_by_label("Details").fill("Mobile data says roaming but no pages load at all.")
    solved = page.get_by_role("button", name="This solved my problem")
    await solved.wait_for()
    await page.wait_for_function("() => (localStorage.getItem('draft:ask') || '').includes('no pages load')")
    asked: list[str] = []

    async def keep(dialog):
        asked.append(dialog.message)
        await dialog.dismiss()

    page.once("dialog", keep)
    await solved.click()
    assert asked and "discard" in asked[0].lower()
    assert await page.get_by_label("Title").input_value() == "Roaming data not working in Spain"
    assert await page.evaluate("localStorage.getItem('draft:ask') !== null")
    await _shot(page, "ask-similar-desktop")

    async def discard(dialog):
        asked.append(dialog.message)
        await dialog.accept()

    page.once("dialog", discard)
    await solved.click()
    await page.get_by_role("heading", name="Glad that helped!").wait_for()
    assert len(asked) == 2
    assert await page.evaluate("localStorage.getItem('draft:ask')") is None


async def test_a_comment_has_the_formatting_toolbar_without_pictures(live_server, phone_page, forum):
    page, url = phone_page, live_server.url
    qid = forum["question"].id
    await log_in(page, url, "writer")
    await page.goto(f"{url}/questions/{qid}")
    await page.get_by_text("Add a comment").first.click()
    box = page.get_by_label("Comment", exact=True).first
    toolbar = page.get_by_role("toolbar", name="Formatting").and_(page.locator(f'[aria-controls="comment-{qid}"]'))
    names = [await b.get_attribute("aria-label") for b in await toolbar.get_by_role("button").all()]
    assert names == ["Bold (Ctrl+B)", "Italic (Ctrl+I)", "Link (Ctrl+K)", "Code", "Bulleted list", "Quote"]
    await box.fill("Did you try the roaming switch")
    await box.press("Control+a")
    await toolbar.get_by_role("button", name="Bold (Ctrl+B)").click()
    assert await box.input_value() == "**Did you try the roaming switch**"
    await box.press("End")
    await box.type(" for the eSIM?")
    await assert_fits_width(page)
    await _shot(page, "comment-phone")
    await page.get_by_role("button", name="Add comment").first.click()
    await page.locator("#c1 strong", has_text="Did you try the roaming switch").wait_for()
