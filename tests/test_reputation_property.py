"""Property test of the reputation ledger: random votes, retractions, accepts and unaccepts
across several members, posts and UTC days keep every cached total equal to its ledger formula,
keep the daily vote cap, and undoing everything returns everyone to 1."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from community import acceptance, clock, db, reputation, settings, voting
from community.errors import NotAllowed, NotFound
from community.models import Post, ReputationEvent, User, Vote
from community.questions import refresh_state

CAP = 15  # low, so the second upvote of a day is trimmed to 5 and the third to 0
START = datetime(2026, 3, 1, 22, 0, tzinfo=timezone.utc)  # near midnight, so days change often
_example = itertools.count()

# Five members; two questions (asked by members 0 and 1); answers as (question index, author).
# Member 0 answers their own question, so accepting it must earn nothing.
MEMBERS = 5
ANSWERS = [(0, 1), (0, 2), (0, 3), (0, 0), (1, 0), (1, 4)]
POSTS = 2 + len(ANSWERS)

vote_op = st.tuples(st.just("vote"), st.integers(0, MEMBERS - 1), st.integers(0, POSTS - 1), st.sampled_from([1, 1, -1, 0]))
accept_op = st.tuples(st.just("accept"), st.integers(0, 1), st.integers(0, len(ANSWERS) - 1))
unaccept_op = st.tuples(st.just("unaccept"), st.integers(0, 1))
day_op = st.tuples(st.just("clock"), st.integers(1, 30))  # hours forward
operations = st.lists(st.one_of(vote_op, vote_op, vote_op, accept_op, unaccept_op, day_op), min_size=10, max_size=30)


async def _community(tag: str) -> tuple[list[User], list[Post]]:
    """Fresh members and posts for one example (written directly: hashing passwords is slow)."""
    now = clock.now()
    members = [await User.create(username=f"p{tag}m{i}", email=f"p{tag}m{i}@example.com", created_at=now)
               for i in range(MEMBERS)]
    questions = [await Post.create(kind="question", author_id=members[i].id, title=f"Question {i} of example {tag}",
                                   body="body", body_html="<p>body</p>", created_at=now, last_activity_at=now)
                 for i in (0, 1)]
    answers = [await Post.create(kind="answer", question_id=questions[qi].id, author_id=members[ai].id,
                                 body="answer", body_html="<p>answer</p>", created_at=now, last_activity_at=now)
               for qi, ai in ANSWERS]
    for q in questions:
        await refresh_state(q.id, None)
    return members, questions + answers


async def _check_invariants(members: list[User]) -> dict[int, int]:
    """Every cached total equals max(1, 1 + ledger); the net vote gains of each UTC day (upvotes, less
    those taken back the same day) stay within the cap, and equal what the cap itself counts."""
    live = {}
    for m in members:
        user = await User.get(id=m.id)
        events = await ReputationEvent.filter(user_id=m.id).order_by("id")
        assert user.reputation == max(1, 1 + sum(e.amount for e in events)), user.username
        per_day: dict = defaultdict(int)
        upvoted_on: dict[str, object] = {}  # ref -> the day of its standing upvote
        for e in events:
            if e.reason == "upvoted":
                per_day[e.day] += e.amount
                upvoted_on[e.ref] = e.day
            elif e.reason == "undo":
                if e.amount < 0 and upvoted_on.get(e.ref) == e.day:
                    per_day[e.day] += e.amount
                upvoted_on.pop(e.ref, None)
        assert all(total <= CAP for total in per_day.values()), (user.username, dict(per_day))
        for day, total in per_day.items():
            assert await reputation.gained_today(m.id, day, None) == total, (user.username, day)
        live[m.id] = user.reputation
    return live


async def _check_posts(posts: list[Post], accepted: dict[int, int | None]) -> None:
    """Scores equal the sum of standing votes; each question has at most the one accepted answer."""
    for p in posts:
        row = await Post.get(id=p.id)
        assert row.score == sum(v.value for v in await Vote.filter(post_id=p.id)), p.id
    for qi, aid in accepted.items():
        q = await Post.get(id=posts[qi].id)
        assert q.accepted_answer_id == aid
        assert q.state == ("solved" if aid else "answered")


@hsettings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=operations)
async def test_ledger_invariants_hold_and_undoing_everything_returns_everyone_to_1(database, fake_clock, ops):
    settings.override("priv.upvote", 1)  # everyone votes from reputation 1, so the end state is exactly 1
    settings.override("priv.downvote", 1)
    settings.override("rep.daily_vote_cap", CAP)
    fake_clock.set(START)
    members, posts = await _community(str(next(_example)))
    accepted: dict[int, int | None] = {0: None, 1: None}
    expected_votes: dict[tuple[int, int], int] = {}

    for op in ops:
        if op[0] == "vote":
            _, voter, post_i, value = op
            post = posts[post_i]
            if post.author_id == members[voter].id:
                with pytest.raises(NotAllowed):
                    await voting.vote(await User.get(id=members[voter].id), post.id, value)
            else:
                await voting.vote(await User.get(id=members[voter].id), post.id, value)
                expected_votes[(voter, post_i)] = value
        elif op[0] == "accept":
            _, qi, ai = op
            answer_q, _author = ANSWERS[ai]
            asker = await User.get(id=posts[qi].author_id)
            answer = posts[2 + ai]
            if answer_q != qi:
                with pytest.raises(NotFound):
                    await acceptance.accept(asker, posts[qi].id, answer.id)
            elif answer.author_id == asker.id:
                # Accepting your own answer is allowed but earns nothing (and takes back any earlier accept).
                await acceptance.accept(asker, posts[qi].id, answer.id)
                accepted[qi] = answer.id
                assert await ReputationEvent.filter(ref=f"accept:{posts[qi].id}").exclude(reason="undo").count() == \
                    await ReputationEvent.filter(ref=f"accept:{posts[qi].id}", reason="undo").count()
            else:
                await acceptance.accept(asker, posts[qi].id, answer.id)
                accepted[qi] = answer.id
        elif op[0] == "unaccept":
            _, qi = op
            await acceptance.unaccept(await User.get(id=posts[qi].author_id), posts[qi].id)
            accepted[qi] = None
        else:
            fake_clock.advance(hours=op[1])
        await _check_invariants(members)
        await _check_posts(posts, accepted)

    # A standing vote, checked against what the test asked for.
    for (voter, post_i), value in expected_votes.items():
        row = await Vote.filter(post_id=posts[post_i].id, voter_id=members[voter].id).first()
        assert (row.value if row else 0) == value

    # The rebuild from the ledger equals the live totals.
    live = await _check_invariants(members)
    await reputation.recompute_all()
    assert {m.id: (await User.get(id=m.id)).reputation for m in members} == live

    # Undo everything, a day or two later, in any order: everyone is back to exactly 1.
    fake_clock.advance(hours=27)
    for qi in (0, 1):
        await acceptance.unaccept(await User.get(id=posts[qi].author_id), posts[qi].id)
    for v in await Vote.filter(post_id__in=[p.id for p in posts]):
        await voting.vote(await User.get(id=v.voter_id), v.post_id, 0)
    await _check_invariants(members)
    for m in members:
        events = await ReputationEvent.filter(user_id=m.id)
        assert sum(e.amount for e in events) == 0, m.username
        assert (await User.get(id=m.id)).reputation == 1
    assert all(p.score == 0 for p in await Post.filter(id__in=[p.id for p in posts]))


async def test_cap_is_per_utc_day_and_acceptance_is_exempt(database, fake_clock):
    """Three upvotes at cap 20 give 20 today; after UTC midnight the next one counts again; +15 is uncapped."""
    settings.override("priv.upvote", 1)
    settings.override("rep.daily_vote_cap", 20)
    fake_clock.set(datetime(2026, 3, 1, 23, 30, tzinfo=timezone.utc))
    members, posts = await _community("cap")
    author = members[1]
    answer = posts[2]  # answer by member 1 on member 0's question
    for voter in (0, 2, 3):
        await voting.vote(await User.get(id=members[voter].id), answer.id, 1)
    assert (await User.get(id=author.id)).reputation == 1 + 20
    assert [e.amount for e in await ReputationEvent.filter(user_id=author.id).order_by("id")] == [10, 10, 0]

    fake_clock.advance(minutes=31)  # 00:01 UTC the next day
    await voting.vote(await User.get(id=members[4].id), answer.id, 1)
    assert (await User.get(id=author.id)).reputation == 1 + 30

    await acceptance.accept(await User.get(id=members[0].id), posts[0].id, answer.id)
    assert (await User.get(id=author.id)).reputation == 1 + 30 + 15
    assert (await User.get(id=members[0].id)).reputation == 1 + 2
    rows = await db.fetch("SELECT day, SUM(amount) AS s FROM reputation_event WHERE user_id = ? AND reason = 'upvoted' "
                          "GROUP BY day ORDER BY day", [author.id])
    assert [(str(r["day"]), int(r["s"])) for r in rows] == [("2026-03-01", 20), ("2026-03-02", 10)]


async def test_recompute_reputation_command_rebuilds_cached_totals_from_the_ledger(database, fake_clock, tmp_path):
    """`run.py recompute-reputation`, run from the shell, repairs totals that drifted from the ledger."""
    import os
    import subprocess
    import sys

    from community.config import ROOT

    settings.override("priv.upvote", 1)
    settings.override("priv.downvote", 1)
    members, posts = await _community("cli")
    await voting.vote(members[2], posts[2].id, 1)  # member 1's answer: +10
    await voting.vote(members[3], posts[3].id, -1)  # member 2's answer: -2 (floored), member 3 pays 1 (floored)
    await acceptance.accept(members[0], posts[0].id, posts[2].id)  # member 1 +15, member 0 +2
    live = {m.id: (await User.get(id=m.id)).reputation for m in members}
    assert [live[m.id] for m in members] == [3, 26, 1, 1, 1]
    await db.execute('UPDATE "user" SET reputation = 999')

    env = {**os.environ, "DATABASE_URL": database, "SECRET_KEY": "test-secret", "VAR_DIR": str(tmp_path / "var"), "DEMO_DATA": "0"}
    done = subprocess.run([sys.executable, str(ROOT / "run.py"), "recompute-reputation"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Recomputed" in done.stdout
    assert {m.id: (await User.get(id=m.id)).reputation for m in members} == live
