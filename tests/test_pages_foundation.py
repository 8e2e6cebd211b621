"""The foundation's pages: question lists for every sort with cursor paging, tag pages, the thread,
the member page's reputation history and posts, the privileges page, and the inbox count."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest

from community import acceptance, questions, voting
from community.models import Post
from tests.conftest import login

QID = re.compile(r'<h3><a href="/questions/(\d+)/[a-z0-9-]+">')


async def _many(users, fake_clock, n: int = 26) -> list[Post]:
    author = await users("author", 100)  # past the new member's daily question limit
    made = []
    for i in range(n):
        made.append(await questions.ask(author, f"Question {i:02d}: my top-up did not arrive", "I paid by card and nothing changed.",
                                        ["top-up" if i % 2 else "billing", "card"]))
        fake_clock.advance(minutes=3)
    for i, q in enumerate(made):
        await Post.filter(id=q.id).update(score=(i * 7) % 5, state=("unanswered", "answered", "solved")[i % 3],
                                          last_activity_at=q.created_at + timedelta(hours=(i * 5) % 11))
    return made


async def _page_ids(client, url: str) -> tuple[list[int], str | None, str]:
    r = await client.get(url)
    assert r.status_code == 200, r.text
    nxt = re.search(r'<a rel="next" href="([^"]+)">', r.text)
    return [int(x) for x in QID.findall(r.text)], unescape(nxt.group(1)) if nxt else None, r.text


@pytest.mark.parametrize("sort", questions.SORTS)
async def test_question_list_pages_follow_the_cursor_for_every_sort(client, users, fake_clock, sort):
    await _many(users, fake_clock)
    everything, cursor = [], None
    while True:
        items, cursor = await questions.list_questions(sort, None, cursor)
        everything += [q.id for q in items]
        if cursor is None:
            break

    first, nxt, text = await _page_ids(client, f"/questions?sort={sort}")
    assert first == everything[: questions.PAGE_SIZE]
    assert f'href="/questions?sort={sort}" aria-current="page"' in text
    if len(everything) > questions.PAGE_SIZE:
        assert nxt is not None and nxt.startswith(f"?sort={sort}&cursor=")
        second, last, _ = await _page_ids(client, "/questions" + nxt)
        assert first + second == everything and last is None  # no gap, no repeat
    else:
        assert nxt is None and first == everything
    home, _, _ = await _page_ids(client, f"/?sort={sort}")
    assert home == first


async def test_tag_pages_list_only_their_questions_and_page_within_the_tag(client, users, fake_clock):
    made = await _many(users, fake_clock, 44)
    top_up = [q.id for q in sorted(made, key=lambda q: q.id, reverse=True) if "top-up" in q.tag_names]
    first, nxt, text = await _page_ids(client, "/tags/top-up")
    assert "Questions tagged <span class=\"tag\">top-up</span>" in text
    assert first == top_up[:20] and nxt.startswith("?sort=newest&cursor=")
    second, last, _ = await _page_ids(client, "/tags/top-up" + nxt)
    assert first + second == top_up and last is None
    unanswered, _, _ = await _page_ids(client, "/tags/top-up?sort=unanswered")
    assert unanswered == [qid for qid in top_up if (await Post.get(id=qid)).state == "unanswered"]

    index = (await client.get("/tags")).text
    assert re.search(r'href="/tags/top-up">top-up</a> <span class="count">× 22</span>', index)
    assert re.search(r'href="/tags/card">card</a> <span class="count">× 44</span>', index)
    empty = await client.get("/tags/no-such-tag")
    assert empty.status_code == 200 and "No questions here yet" in empty.text


async def test_thread_page_shows_state_accepted_answer_first_and_answers_by_score(client, users):
    asker = await users("asker")
    helpers = [await users(n) for n in ("ann", "ben", "cat")]
    voters = [await users(f"voter{i}", 20) for i in range(2)]
    q = await questions.ask(asker, "Signal drops every evening at home", "Full bars in the morning, nothing after six.", ["signal"])
    page = (await client.get(f"/questions/{q.id}", follow_redirects=True)).text
    assert '<span class="state state-unanswered">Unanswered</span>' in page and "0 answers" in page
    answers = [await questions.answer(h, q.id, f"Answer from {h.username}: try wifi calling in settings.") for h in helpers]
    for v in voters:
        await voting.vote(v, answers[2].id, 1)
    await voting.vote(voters[0], answers[1].id, 1)
    page = (await client.get(f"/questions/{q.id}", follow_redirects=True)).text
    assert '<span class="state state-answered">Answered</span>' in page and "3 answers" in page
    assert [int(x) for x in re.findall(r'<article class="answer[^"]*" id="answer-(\d+)"', page)] == [answers[2].id, answers[1].id, answers[0].id]

    await acceptance.accept(asker, q.id, answers[0].id)
    page = (await client.get(f"/questions/{q.id}", follow_redirects=True)).text
    assert '<span class="state state-solved">Solved</span>' in page
    order = [int(x) for x in re.findall(r'<article class="answer[^"]*" id="answer-(\d+)"', page)]
    assert order == [answers[0].id, answers[2].id, answers[1].id]
    assert f'<article class="answer accepted" id="answer-{answers[0].id}">' in page
    assert page.count("✔ Accepted answer") == 1
    assert '<h1>Signal drops every evening at home</h1>' in page


async def test_member_page_shows_reputation_history_by_day_and_posts(client, users, fake_clock):
    asker = await users("asker")
    helper = await users("helper")
    voters = [await users(f"voter{i}", 200) for i in range(3)]
    q = await questions.ask(asker, "How do I turn on wifi calling?", "I cannot find the setting on my phone at all.", ["wifi-calling"])
    a = await questions.answer(helper, q.id, "Settings, Mobile data, Wi-Fi calling: switch it on.")
    await voting.vote(voters[0], a.id, 1)
    await voting.vote(voters[1], a.id, 1)
    fake_clock.advance(days=1)
    await voting.vote(voters[2], a.id, -1)
    await acceptance.accept(asker, q.id, a.id)

    page = (await client.get(f"/users/{helper.id}")).text
    assert '<span class="rep-big" aria-label="reputation">34</span> reputation' in page  # 1 + 20 - 2 + 15
    rows = re.findall(r'<tr><td>([\d-]+)</td><td class="(?:plus|minus)">([+-]\d+)</td><td>(\d+)</td></tr>', page)
    assert rows == [("2026-01-06", "+13", "2"), ("2026-01-05", "+20", "2")]
    assert f'<a href="/questions/{q.id}/how-do-i-turn-on-wifi-calling#answer-{a.id}">How do I turn on wifi calling?</a>' in page
    assert "Answers (1)" in page and "Questions (0)" in page

    page = (await client.get(f"/users/{asker.id}")).text
    assert "Questions (1)" in page and f'<a href="/questions/{q.id}/how-do-i-turn-on-wifi-calling">How do I turn on wifi calling?</a>' in page
    assert re.findall(r"<tr><td>([\d-]+)</td><td class=\"plus\">(\+\d+)</td>", page) == [("2026-01-06", "+2")]


async def test_privileges_page_for_visitors_and_members(client, users):
    page = (await client.get("/privileges")).text
    rows = re.findall(r"<tr><td>(\d+)</td><td><strong>([^<]+)</strong>", page)
    assert rows[:4] == [("15", "vote up"), ("15", "flag posts"), ("50", "comment everywhere"), ("125", "vote down")]
    assert "to go" not in page

    await users("middling", 60)
    await login(client, "middling")
    page = (await client.get("/privileges")).text
    assert "You have <strong>60</strong>." in page
    assert page.count("✔ earned") == 3 and "65 to go" in page


async def test_inbox_count_shows_in_the_header_until_read(client, users):
    asker = await users("asker")
    helper = await users("helper", 60)
    q = await questions.ask(asker, "Voicemail keeps calling me back", "Every missed call turns into a voicemail alert.", ["voicemail"])
    await login(client, "asker")
    assert 'class="badge"' not in (await client.get("/")).text
    await questions.answer(helper, q.id, "Turn off visual voicemail and restart the phone.")
    await questions.comment(helper, q.id, "Which phone is it?")
    home = (await client.get("/")).text
    assert re.search(r'<a href="/inbox"[^>]*>Inbox <span class="badge" aria-label="2 unread">2</span></a>', home)
    inbox = (await client.get("/inbox")).text
    assert "helper answered your question: Voicemail keeps calling me back" in inbox
    assert inbox.count('<span class="badge">new</span>') == 2
    assert 'class="badge" aria-label' not in (await client.get("/")).text
