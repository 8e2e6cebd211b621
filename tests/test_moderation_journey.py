"""Browser journey: a 500-reputation member opens the review queue, sees a flagged spam post that
another reviewer already voted spam, and agrees; the post vanishes from the thread and from search,
the spammer loses exactly 100 reputation, and the audit log shows the decision."""

from __future__ import annotations

import re

import pytest

from community import questions
from community.models import User
from moderation import flags, review
from moderation.models import ReviewItem
from tests.browser import assert_fits_width, new_page, log_in

pytestmark = pytest.mark.browser

SPAM_TITLE = "Cheap unlocked phones shipped worldwide zorblax"


async def _search_until(page, url: str, present: bool) -> None:
    """Reload the search page until the background indexer has caught up with the spam post."""
    for _ in range(200):
        await page.goto(url + "/search?q=zorblax")
        if (await page.get_by_role("link", name=SPAM_TITLE).count() == 1) == present:
            return
    raise AssertionError(f"search never {'found' if present else 'dropped'} the spam post")


async def test_reviewer_marks_flagged_spam(live_server, browser, phone_page, users):
    url = live_server.url
    spammer = await users("spammer", 120)
    await users("reviewer", 500)
    first = await users("first", 500)
    flagger = await users("flagger", 15)
    await users("moderator", 1, "moderator")
    spam = await questions.ask(spammer, SPAM_TITLE, "Visit my shop for the cheapest unlocked phones, best prices!", "phones")
    await flags.raise_flag(flagger, spam.id, "spam", "")
    # One reviewer's spam decision is a vote; the journey's reviewer is the second, who makes it count.
    vote = await review.decide(first, (await ReviewItem.get(post_id=spam.id, queue="flagged")).id, "spam")
    assert vote["decided"] is False

    reviewer = phone_page
    await log_in(reviewer, url, "reviewer")
    await _search_until(reviewer, url, present=True)
    assert await reviewer.get_by_role("link", name=SPAM_TITLE).count() == 1

    await reviewer.locator("details.menu > summary").click()  # a phone's header folds its sections into the menu
    await reviewer.get_by_role("link", name="Review", exact=True).click()
    await reviewer.wait_for_url(url + "/review")
    assert (await reviewer.locator('td.count[data-queue="flagged"]').inner_text()).strip() == "1"
    item = reviewer.locator(".review-item", has_text=SPAM_TITLE)
    assert await item.count() == 1
    assert "Flagged as spam (weight 10)" in await item.locator(".flags").inner_text()
    assert "Reviewers' votes to remove so far: Spam." in await item.locator(".removal-votes").inner_text()
    await assert_fits_width(reviewer)
    await item.get_by_role("button", name="Spam", exact=True).click()
    await reviewer.wait_for_url(re.compile(r".*/review\?done=Spam$"))
    assert await reviewer.get_by_role("status").filter(has_text="Done: Spam").count() == 1
    assert (await reviewer.locator('td.count[data-queue="flagged"]').inner_text()).strip() == "0"

    # Gone from the thread (for everyone but its author and moderators) and from search.
    response = await reviewer.goto(f"{url}/questions/{spam.id}")
    assert response.status == 404
    await _search_until(reviewer, url, present=False)
    assert await reviewer.get_by_role("link", name=SPAM_TITLE).count() == 0

    # The spammer lost exactly 100 reputation.
    assert (await User.get(id=spammer.id)).reputation == 20
    await reviewer.goto(f"{url}/users/{spammer.id}")
    assert "20" in await reviewer.locator("main").inner_text()

    # The audit log shows the decision.
    mod = await new_page(browser, phone=True)
    await log_in(mod, url, "moderator")
    await mod.goto(url + "/moderation/log?action=spam")
    await assert_fits_width(mod)
    row = mod.locator("tr.audit-spam")
    assert await row.count() == 1
    text = await row.inner_text()
    assert "reviewer" in text and f"Question {SPAM_TITLE}" in text and "Confirmed spam in review" in text
