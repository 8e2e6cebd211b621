"""Badges and ranks: each rule awarded by the service that makes the event, exactly when its condition
is first met and never twice; the recompute over the history equals the live set; the API, the
profile and the thread page show them (the thread without a query per post)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from community import acceptance, badges, db, questions, ranks, settings, voting
from community.models import BadgeAward, Notification, Post, User
from tests.conftest import PG_URL, login
from tests.test_thread_queries import _thread, counting

ROOT = Path(__file__).resolve().parent.parent
BODY = "Nothing happens after I restart the phone twice."


async def _held(user: User | None = None) -> set[tuple[str, str]] | set[tuple[int, str, str]]:
    if user is not None:
        return {(a.badge, a.ref) for a in await BadgeAward.filter(user_id=user.id)}
    return {(a.user_id, a.badge, a.ref) for a in await BadgeAward.all()}


async def _ask(user: User, n: int) -> Post:
    return await questions.ask(user, f"My eSIM stopped working, case number {n}", BODY, ["esim"])


async def _answer(user: User, q: Post) -> Post:
    return await questions.answer(user, q.id, f"Try resetting the network settings, then {q.id}.")


async def _voters(users, n: int, prefix: str = "voter") -> list[User]:
    return [await users(f"{prefix}{i}", 15) for i in range(n)]


async def test_first_question_answer_accept_vote_and_edit_each_award_once(users, database):
    # Past the spam triage's new-member checks: three look-alike questions in a row would be held.
    asker, helper, voter = await users("asker", 20), await users("helper"), await users("voter", 15)
    q = await _ask(asker, 1)
    assert await _held(asker) == {("student", "")}
    await _ask(asker, 2)
    assert await _held(asker) == {("student", "")}  # never twice

    await questions.answer(asker, q.id, "Answering my own question does not make me a helper.")
    assert await _held(asker) == {("student", "")}
    a = await _answer(helper, q)
    assert await _held(helper) == {("helper", "")}
    await _answer(helper, await _ask(asker, 3))
    assert await _held(helper) == {("helper", "")}

    await acceptance.accept(asker, q.id, a.id)
    assert await _held(helper) == {("helper", ""), ("problem_solver", "")}
    await acceptance.unaccept(asker, q.id)
    await acceptance.accept(asker, q.id, a.id)
    assert await _held(helper) == {("helper", ""), ("problem_solver", "")}

    await voting.vote(voter, a.id, 1)
    assert await _held(voter) == {("supporter", "")}
    await voting.vote(voter, a.id, 0)
    await voting.vote(voter, q.id, 1)
    assert await _held(voter) == {("supporter", "")}

    await questions.edit(helper, a.id, body="Reset the network settings, then restart the phone.")
    assert ("editor", "") in await _held(helper)
    await questions.edit(helper, a.id, body="Reset the network settings, then restart the phone twice.")
    assert await BadgeAward.filter(user_id=helper.id, badge="editor").count() == 1

    assert not await Notification.filter(kind="badge").exists()  # bronze badges do not fill the inbox


async def test_score_badges_are_earned_per_post_at_the_tenth_vote(users, database):
    asker, author = await users("asker", 20), await users("author")
    voters = await _voters(users, 10)
    q = await _ask(asker, 1)
    first, second = await _answer(author, q), await _answer(author, await _ask(asker, 2))
    for v in voters[:9]:
        await voting.vote(v, first.id, 1)
    assert await _held(author) == {("helper", "")}
    assert (await User.get(id=author.id)).reputation == 91
    await voting.vote(voters[9], first.id, 1)
    # The tenth vote: score 10 (Nice Answer for this post) and 101 reputation (Established).
    assert await _held(author) == {("helper", ""), ("nice_answer", str(first.id)), ("established", "")}
    await voting.vote(voters[9], first.id, 0)  # score 9 again: the badge stays
    await voting.vote(voters[9], first.id, 1)
    for v in voters:
        await voting.vote(v, second.id, 1)
    assert await _held(author) == {("helper", ""), ("established", ""), ("nice_answer", str(first.id)),
                                   ("nice_answer", str(second.id))}
    for v in voters:
        await voting.vote(v, q.id, 1)
    assert ("nice_question", str(q.id)) in await _held(asker)
    assert await BadgeAward.filter(badge="nice_answer").count() == 2


async def test_great_answer_at_a_score_of_25(users, database):
    asker, author = await users("asker", 20), await users("author")
    a = await _answer(author, await _ask(asker, 1))
    voters = await _voters(users, 25)
    for v in voters[:24]:
        await voting.vote(v, a.id, 1)
    assert ("great_answer", str(a.id)) not in await _held(author)
    await voting.vote(voters[24], a.id, 1)
    assert ("great_answer", str(a.id)) in await _held(author)
    row = await BadgeAward.get(user_id=author.id, badge="great_answer")
    assert badges.BY_NAME[row.badge].level == "gold"


async def test_ten_accepted_answers_and_established_by_acceptance(users, database, fake_clock):
    asker, author = await users("asker", 20), await users("author", 80)
    qs = []
    for i in range(10):
        qs.append(await _ask(asker, i))
        fake_clock.advance(minutes=10)
    answers = [await _answer(author, q) for q in qs]
    for i, (q, a) in enumerate(zip(qs, answers)):
        await acceptance.accept(asker, q.id, a.id)
        held = await _held(author)
        assert ("problem_solver", "") in held
        assert (("established", "") in held) == (i >= 1)  # 80 + 15 = 95, + 15 = 110
        assert (("troubleshooter", "") in held) == (i == 9)
    mine = await _answer(asker, qs[0])
    await acceptance.accept(asker, qs[0].id, mine.id)  # one's own accepted answer counts for nothing
    assert ("problem_solver", "") not in await _held(asker)


async def test_quick_draw_counts_answers_within_five_minutes(users, database, fake_clock):
    asker, author = await users("asker", 20), await users("author", 20)
    for i in range(9):
        q = await _ask(asker, i)
        fake_clock.advance(minutes=4, seconds=59)
        await _answer(author, q)
        await _answer(author, q)  # twice on one question counts once
        fake_clock.advance(minutes=10)
    slow = await _ask(asker, 9)
    fake_clock.advance(minutes=5, seconds=1)
    await _answer(author, slow)
    assert ("quick_draw", "") not in await _held(author)
    fake_clock.advance(minutes=10)
    q = await _ask(asker, 10)
    fake_clock.advance(minutes=5)
    await _answer(author, q)
    assert ("quick_draw", "") in await _held(author)
    row = await BadgeAward.get(user_id=author.id, badge="quick_draw")
    assert row.awarded_at == fake_clock.now()
    # A silver badge tells its member once, in the inbox only (badges are not a mailed kind).
    told = await Notification.filter(kind="badge")
    assert [(n.user_id, n.text, n.url, n.mail_due_at, n.digest) for n in told] == [
        (author.id, "You earned the silver badge Quick Draw: Answered 10 questions within 5 minutes of their being asked.",
         f"/users/{author.id}#badges", None, "")]


async def test_quick_draw_is_looked_for_only_after_a_quick_answer(users, database, fake_clock, monkeypatch):
    asker, author = await users("asker", 20), await users("author", 20)
    asked: list[tuple[str, ...]] = []
    real = badges.award

    async def award(user_ids, names, conn, posts=None):
        asked.append(tuple(names))
        return await real(user_ids, names, conn, posts)

    monkeypatch.setattr(badges, "award", award)
    q = await _ask(asker, 0)
    fake_clock.advance(minutes=5)
    await _answer(author, q)  # 5 minutes: still quick
    await _answer(asker, q)  # the asker's own answer never counts
    fake_clock.advance(seconds=1)
    await _answer(author, q)  # 5 minutes and a second: too late
    answered = [names for names in asked if "helper" in names]
    assert [("quick_draw" in names) for names in answered] == [True, False, False]


async def test_devoted_needs_seven_utc_days_in_a_row(users, database, fake_clock):
    asker, author = await users("asker", 20), await users("author", 20)
    fake_clock.set(datetime(2026, 3, 1, 23, 50, tzinfo=timezone.utc))
    q = await _ask(asker, 1)
    for day in range(6):  # 1 to 6 March, late in the day
        await _answer(author, q)
        fake_clock.advance(days=1)
    fake_clock.advance(days=1)  # nothing on 7 March
    for day in range(6):  # 8 to 13 March
        await _answer(author, q)
        fake_clock.advance(days=1)
    assert ("devoted", "") not in await _held(author)
    fake_clock.set(datetime(2026, 3, 14, 0, 5, tzinfo=timezone.utc))  # ten minutes after the last: a new UTC day
    await _answer(author, q)
    assert ("devoted", "") in await _held(author)
    await _answer(author, q)
    assert await BadgeAward.filter(user_id=author.id, badge="devoted").count() == 1


async def test_suggested_edit_badge_goes_to_the_member_who_wrote_it(users, database):
    from moderation import review, revisions
    from moderation.models import ReviewItem

    author, suggester, reviewer = await users("author", 20), await users("suggester", 20), await users("reviewer", 2500)
    q = await _ask(author, 1)
    state, suggestion = await revisions.edit(suggester, q.id, body=BODY + " I use a dual-SIM phone.", comment="detail")
    assert state == "suggested"
    assert ("editor", "") not in await _held(suggester)
    item = await ReviewItem.get(queue="suggested_edit", suggested_edit_id=suggestion.id)
    await review.decide(reviewer, item.id, "approve")
    assert ("editor", "") not in await _held(reviewer)  # the reviewer applied it; the edit is the suggester's
    assert ("editor", "") in await _held(suggester)
    assert await badges.by_rules() and (suggester.id, "editor", "") in await badges.by_rules()


async def test_racing_events_award_once(users, database):
    asker, author = await users("asker", 20), await users("author", 20)
    q1, q2 = await _ask(asker, 1), await _ask(asker, 2)
    await asyncio.gather(_answer(author, q1), _answer(author, q2))
    assert await BadgeAward.filter(user_id=author.id, badge="helper").count() == 1


@pytest.mark.skipif(not PG_URL, reason="SQLite runs one writer at a time: two award transactions cannot overlap")
async def test_two_transactions_awarding_the_same_badge_record_it_once(users, database):
    """The second transaction's insert waits on the first's uncommitted row, then does nothing."""
    asker, author = await users("asker", 20), await users("author", 20)
    await _answer(author, await _ask(asker, 1))
    await BadgeAward.all().delete()

    start = asyncio.Event()

    async def second() -> list[badges.Earned]:
        await start.wait()
        async with db.transaction() as conn:
            return await badges.award([author.id], ("helper", "student"), conn)

    racer = asyncio.create_task(second())  # made outside the first transaction: a connection of its own
    async with db.transaction() as conn:
        first = await badges.award([author.id], ("helper",), conn)
        start.set()
        for _ in range(500):  # until the racer waits on our row's lock
            await db.fetch("SELECT pg_stat_clear_snapshot()")  # else a transaction sees one snapshot of the view
            rows = await db.fetch("SELECT COUNT(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            if rows[0]["n"]:
                break
            assert not racer.done(), racer.result()
            await asyncio.sleep(0.01)
        else:
            pytest.fail("the second transaction never waited for the first")
    assert [e.badge for e in first] == ["helper"]
    assert await racer == []
    assert await BadgeAward.filter(user_id=author.id).count() == 1


async def _history(users, fake_clock) -> None:
    """A little of everything, through the services."""
    asker, author, other = await users("asker", 20), await users("author", 20), await users("other", 60)
    voters = await _voters(users, 10)
    qs = []
    for i in range(11):
        qs.append(await _ask(asker if i % 3 else other, i))
        fake_clock.advance(minutes=3)
        await _answer(author, qs[-1])
        fake_clock.advance(hours=23)
    await questions.answer(other, qs[1].id, "I had the same problem and the shop fixed it for me.")
    for q in qs[:10]:
        answer = await Post.filter(question_id=q.id, author_id=author.id).first()
        await acceptance.accept(await User.get(id=q.author_id), q.id, answer.id)
    for v in voters:
        await voting.vote(v, qs[0].id, 1)
        await voting.vote(v, (await Post.filter(question_id=qs[2].id).first()).id, 1)
    await questions.edit(asker, qs[1].id, body=BODY + " Still broken.")


async def test_recompute_over_the_history_equals_the_live_awards(users, database, fake_clock):
    await _history(users, fake_clock)
    live = {(a.user_id, a.badge, a.ref): a.awarded_at for a in await BadgeAward.all()}
    assert {b for _, b, _ in live} == {"student", "helper", "problem_solver", "supporter", "editor", "nice_question",
                                       "nice_answer", "established", "troubleshooter", "quick_draw", "devoted"}
    assert set(await badges.by_rules()) == set(live)

    await BadgeAward.all().delete()
    fake_clock.advance(days=30)
    counts = await badges.recompute()
    rebuilt = {(a.user_id, a.badge, a.ref): a.awarded_at for a in await BadgeAward.all()}
    assert set(rebuilt) == set(live)
    assert sum(new for _, new in counts.values()) == len(live)
    # Where the history says when (a first post, vote or edit, the reputation, the streak, the tenth
    # quick answer), the rebuilt award carries that time, the very moment it was awarded live.
    timed = {"student", "helper", "supporter", "editor", "established", "quick_draw", "devoted"}
    assert {k: v for k, v in rebuilt.items() if k[1] in timed} == {k: v for k, v in live.items() if k[1] in timed}
    assert all(v == fake_clock.now() for k, v in rebuilt.items() if k[1] not in timed)
    assert sum(new for _, new in (await badges.recompute()).values()) == 0  # idempotent


async def test_recompute_command_prints_counts_and_is_idempotent(users, database, fake_clock):
    asker, author = await users("asker"), await users("author")
    await _answer(author, await _ask(asker, 1))
    await BadgeAward.all().delete()
    env = {**os.environ, "DATABASE_URL": database}

    def run() -> str:
        done = subprocess.run([sys.executable, "run.py", "recompute-badges"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    out = await asyncio.to_thread(run)
    assert re.search(r"Student\s+bronze\s+1 earned,\s+1 newly recorded", out)
    assert "2 badges newly recorded." in out
    assert await _held() == {(asker.id, "student", ""), (author.id, "helper", "")}
    assert "0 badges newly recorded." in await asyncio.to_thread(run)


def test_ranks_follow_the_setting():
    assert [ranks.rank_for(r).name for r in (1, 49, 50, 199, 200, 1000, 4999, 5000, 20000, 10**6)] == [
        "Newcomer", "Newcomer", "Member", "Member", "Regular", "Trusted", "Trusted", "Expert", "Legend", "Legend"]
    assert ranks.rank_for(1234).as_json(1234) == {"name": "Trusted", "reputation": 1234, "from": 1000,
                                                  "next": {"name": "Expert", "from": 5000}}
    assert ranks.rank_for(20000).as_json(20000)["next"] is None
    try:
        settings.override("rep.ranks", [{"from": 1, "name": "Visitor"}, [100, "Local"]])
        assert [ranks.rank_for(r).name for r in (1, 99, 100)] == ["Visitor", "Visitor", "Local"]
        settings.override("rep.ranks", "not a list of ranks")  # stored wrongly: the defaults
        assert ranks.rank_for(60).name == "Member"
    finally:
        settings.reset_overrides()


async def test_badges_api(client, users, database):
    asker, author = await users("asker"), await users("author", 1100)
    q = await _ask(asker, 1)
    await _answer(author, q)
    r = await client.get(f"/api/v1/users/{author.id}/badges")
    assert r.status_code == 200
    body = r.json()
    assert body["rank"] == {"name": "Trusted", "reputation": 1100, "from": 1000, "next": {"name": "Expert", "from": 5000}}
    assert body["items"] == [{"badge": "helper", "title": "Helper", "level": "bronze",
                              "description": "Answered another member's question for the first time.", "ref": None,
                              "awarded_at": body["items"][0]["awarded_at"]}]
    assert datetime.fromisoformat(body["items"][0]["awarded_at"]) == q.created_at
    for bad in ("999999", "abc", str(2**40)):
        r = await client.get(f"/api/v1/users/{bad}/badges")
        assert r.status_code == 404 and r.json()["error"]["code"], r.text
    doc = (await client.get("/api/v1/openapi.json")).json()
    assert "get" in doc["paths"]["/api/v1/users/{user_id}/badges"]


async def test_profile_shows_badges_by_level_and_the_rank(client, users, database):
    asker, author = await users("asker", 20), await users("author", 1234)
    voters = await _voters(users, 10)
    q = await _ask(asker, 1)
    a = await _answer(author, q)
    for v in voters:
        await voting.vote(v, a.id, 1)
    page = (await client.get(f"/users/{author.id}")).text
    assert '1,334</span> reputation\n  · <strong class="rank-name">Trusted</strong>' in page
    assert re.search(r"<strong>Trusted</strong>, the rank from 1,000 reputation.\s+3,666 more to reach Expert \(5,000\).", page)
    section = page[page.index('id="badges"'):page.index("</section>", page.index('id="badges"'))]
    assert re.search(r'badge-count bronze"><span class="badge-dot" aria-hidden="true">●</span>3'
                     r'<span class="visually-hidden"> bronze badges</span>', section)
    assert section.index("Bronze") < section.index("Nice Answer") < section.index("All badges")
    assert "Gold" not in section[:section.index("All badges")]
    own = (await client.get(f"/users/{asker.id}")).text
    assert "visually-hidden\"> bronze badge</span>" in own and "Newcomer" in own


async def test_thread_shows_rank_and_badge_counts_without_a_query_per_post(client, users, database):
    viewer = await users("viewer", 20)
    await login(client, "viewer")
    counts = []
    for n in (2, 8):
        qid = await _thread(n, viewer)
        authors = [p.author_id for p in await Post.filter(question_id=qid)]
        for uid in authors:
            await BadgeAward.create(user_id=uid, badge="helper", ref="", awarded_at=datetime.now(timezone.utc))
        await BadgeAward.create(user_id=authors[0], badge="nice_answer", ref="1", awarded_at=datetime.now(timezone.utc))
        await BadgeAward.create(user_id=authors[0], badge="great_answer", ref="1", awarded_at=datetime.now(timezone.utc))
        first = await client.get(f"/questions/{qid}")  # the bare id may move to the address with the title's slug
        url = first.headers["location"] if first.is_redirect else f"/questions/{qid}"
        with counting() as counter:
            page = await client.get(url)
        assert page.status_code == 200
        counts.append(len(counter.queries))
        assert sum("badge_award" in text for text in counter.queries) == 1
        text = page.text
        assert text.count('<span class="rank">Newcomer</span>') == n + 1
        assert text.count('<span class="visually-hidden"> bronze badge</span>') == n - 1
        assert text.count('<span class="visually-hidden"> bronze badges</span>') == 1
        assert text.count('<span class="visually-hidden"> gold badge</span>') == 1
    assert counts[0] == counts[1]
