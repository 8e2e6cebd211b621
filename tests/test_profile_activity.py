"""The profile's activity: posts per week as a chart, and the member's top tags (community/activity.py)."""

from __future__ import annotations

from datetime import timedelta

from community import activity, clock, questions, voting
from community.models import Post

BODY = "The phone shows no signal after the update, even after a restart and a new SIM card."


async def test_weekly_posts_and_top_tags_on_the_profile(database, fake_clock, users, client):
    sam = await users("sam", 200)
    asker = await users("asker", 200)
    voters = [await users(f"voter{i}", 200) for i in range(3)]
    q1 = await questions.ask(asker, "No signal after the update on my phone", BODY, ["signal", "android"])
    q2 = await questions.ask(asker, "Roaming does not work in Spain at all", BODY, ["roaming"])
    a1 = await questions.answer(sam, q1.id, "Reset the network settings, then restart the phone once more.")
    for v in voters:
        await voting.vote(v, a1.id, 1)
    fake_clock.advance(days=14)
    await questions.answer(sam, q2.id, "Turn on data roaming in the settings, then restart the phone.")
    await questions.ask(sam, "Which plans include roaming in Spain now", BODY, ["roaming", "plans"])
    hidden = await questions.ask(sam, "A question moderators hid from everyone", BODY, ["billing"])
    await Post.filter(id=hidden.id).update(hidden=True)

    weeks = await activity.weekly(sam.id)
    assert len(weeks) == activity.WEEKS
    assert [(w.questions, w.answers) for w in weeks[-3:]] == [(0, 1), (0, 0), (1, 1)]
    assert sum(w.total for w in weeks) == 3  # the hidden question is not shown
    assert weeks[-1].height == activity.CHART_HEIGHT - 2 and weeks[-3].height == (activity.CHART_HEIGHT - 2) // 2
    assert weeks[-1].start == str(clock.now().date() - timedelta(days=clock.now().weekday()))

    tags = await activity.top_tags(sam.id)
    assert [(t.name, t.posts, t.score) for t in tags] == [
        ("android", 1, 3), ("signal", 1, 3), ("roaming", 2, 0), ("plans", 1, 0)]

    page = await client.get(f"/users/{sam.id}")
    assert page.status_code == 200
    assert "3 posts in the last 26 weeks" in page.text
    assert page.text.count('<rect class="bar"') == 2 and page.text.count('<rect class="bar empty"') == activity.WEEKS - 2
    assert 'href="/tags/android">android</a> <span class="hint">1 post, answer score 3' in page.text
    assert "billing" not in page.text

    quiet = await users("quiet", 1)
    page = await client.get(f"/users/{quiet.id}")
    assert "No posts in the last 26 weeks." in page.text and "Top tags" not in page.text
