"""Browser journey: a customer starts asking, sees a solved similar question, opens it, and clicks
"This solved my problem": no question is posted and the deflection is recorded."""

from __future__ import annotations

import pytest

from community import acceptance, questions, slugs
from community.models import Post
from search.models import DeflectionEvent
from tests.browser import assert_fits_width

pytestmark = pytest.mark.browser


async def test_similar_question_deflects_the_ask(live_server, phone_page, users):
    url = live_server.url
    asker = await users("roamer", 50)
    helper = await users("helper", 50)
    solved = await questions.ask(asker, "Roaming data not working in France on my plan",
                                 "Mobile data stops as soon as I land in Paris although roaming is on.", "roaming france")
    answer = await questions.answer(helper, solved.id, "Turn on data roaming in Settings > Mobile data, then restart.")
    await acceptance.accept(asker, solved.id, answer.id)
    await questions.ask(helper, "Roaming charges for calls from Spain",
                        "How much do calls home from Spain cost when roaming?", "roaming spain")
    await users("customer", 1)
    questions_before = await Post.filter(kind="question").count()

    page = phone_page
    await page.goto(url + "/login?next=/questions/ask")
    await page.get_by_label("Username").fill("customer")
    await page.get_by_label("Password").fill("password123")
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(url + "/questions/ask")

    await page.get_by_label("Title").press_sequentially("Roaming data not working in France", delay=15)
    suggestions = page.locator("#similar")
    await suggestions.wait_for(state="visible")  # the server's indexer picked the threads up meanwhile
    first = page.locator("#similar-list li").first
    assert "Solved" in await first.inner_text()
    await assert_fits_width(page)

    async with page.context.expect_page() as opened:
        await first.get_by_role("link", name="Roaming data not working in France on my plan").click()
    thread = await opened.value
    await thread.wait_for_load_state()
    assert "/questions/" in thread.url
    assert await thread.get_by_role("heading", name="Roaming data not working in France on my plan").is_visible()
    await thread.close()

    # What the member typed is a draft: the page asks before it discards it.
    dialogs: list[str] = []

    async def accept(dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.accept()

    page.once("dialog", accept)
    await first.get_by_role("button", name="This solved my problem").click()
    await page.get_by_role("heading", name="Glad that helped!").wait_for()
    assert dialogs and "draft" in dialogs[0].lower(), dialogs
    assert await page.locator("#ask-form").count() == 0

    assert await Post.filter(kind="question").count() == questions_before
    kinds = {e.kind: e for e in await DeflectionEvent.all()}
    assert kinds["solved_my_problem"].question_id == solved.id
    assert kinds["suggestion_opened"].question_id == solved.id
    assert kinds["suggestions_shown"].result_count >= 1

    # The search page itself, on the same phone: results with state and a highlighted snippet.
    await page.goto(url + "/search?q=roaming+france")
    result = page.locator("ol.results li").first
    assert "Roaming data not working in France on my plan" in await result.inner_text()
    assert await result.locator("mark").count() >= 1
    await assert_fits_width(page)
    await result.get_by_role("link", name="Roaming data not working in France on my plan").click()
    await page.wait_for_url(f"{url}{slugs.question_path(solved)}")
    assert await DeflectionEvent.filter(kind="result_opened", question_id=solved.id).count() == 1
