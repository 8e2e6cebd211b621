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


async def test_the_profile_lists_the_members_posts_newest_first(database, fake_clock, users, client):
    """Questions with their scores, answers under their thread's title with a link to the answer;
    hidden and deleted posts are left out (community/questions.py user_posts)."""
    from community import slugs

    sam, asker = await users("sam", 200), await users("asker", 200)
    voter = await users("voter", 200)
    q1 = await questions.ask(asker, "No signal after the update on my phone", BODY, ["signal"])
    a1 = await questions.answer(sam, q1.id, "Reset the network settings, then restart the phone once more.")
    await voting.vote(voter, a1.id, 1)
    fake_clock.advance(hours=1)
    mine = await questions.ask(sam, "Which plans include roaming in Spain now", BODY, ["roaming"])
    fake_clock.advance(hours=1)
    hidden = await questions.ask(sam, "A question moderators hid from everyone", BODY, ["billing"])
    await Post.filter(id=hidden.id).update(hidden=True)
    q2 = await questions.ask(asker, "Roaming does not work in Spain at all", BODY, ["roaming"])
    gone = await questions.answer(sam, q2.id, "Turn on data roaming in the settings, then restart the phone.")
    await Post.filter(id=gone.id).update(deleted_at=clock.now())
    fake_clock.advance(hours=1)
    later = await questions.ask(sam, "Is wifi calling included on every plan", BODY, ["wifi-calling"])

    assert [(p.id, p.title, p.score) for p in await questions.user_posts(sam.id, "question")] == [
        (later.id, later.title, 0), (mine.id, mine.title, 0)]
    assert [(p.id, p.question_id, p.title, p.score) for p in await questions.user_posts(sam.id, "answer")] == [
        (a1.id, q1.id, q1.title, 1)]
    page = await client.get(f"/users/{sam.id}")
    assert "Questions (2)" in page.text and "Answers (1)" in page.text
    assert f'href="{slugs.question_path(q1.id, q1.title)}#answer-{a1.id}">{q1.title}</a>' in page.text
    assert page.text.index(later.title) < page.text.index(mine.title)
    assert hidden.title not in page.text and q2.title not in page.text
