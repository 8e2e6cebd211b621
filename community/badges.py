"""Badges: Stack Exchange-style awards for what members do, from one table of rules.

Each rule is a query over the member's history (posts, votes, the reputation ledger, the edit
history), so one rule serves both live awarding (the service that makes the event runs the rules
that event can change, for the members it concerns, in its own transaction) and the rebuild over
the whole history (`python run.py recompute-badges`). An award is recorded once: `badge_award` is
unique on (user, badge, ref) and written with INSERT ... ON CONFLICT DO NOTHING, so racing events
and a recompute never double one. Badges are never taken back: a vote retracted later leaves the
badge it brought, and the rules over the history then give a subset of what was awarded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import moderation.revisions  # noqa: F401  its post_edited subscriber records the revision the Editor rule reads: subscribe after it
from community import clock, db, events
from community.models import BadgeAward, Post, User
from community.notifications import notify

LEVELS = ("gold", "silver", "bronze")
# Silver and gold badges arrive in the inbox too. Bronze ones come with a member's first question,
# answer and vote: told each time, the unread count would mostly announce them instead of answers.
NOTIFIED_LEVELS = ("gold", "silver")
QUICK_SECONDS = 5 * 60  # "within 5 minutes" of the question
STREAK_DAYS = 7  # "a week of daily answers": this many UTC days in a row


@dataclass(frozen=True)
class Earned:
    """What a rule finds: `user_id` earned `badge` (for the post `ref`, when repeatable), at `at`
    when the history records it (None: the history does not say when)."""

    user_id: int
    badge: str
    ref: str = ""
    at: datetime | None = None

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.user_id, self.badge, self.ref)


# check(user_ids or None for everyone, post_ids or None for every post, conn) -> what the rule finds
Check = Callable[[list[int] | None, list[int] | None, Any], Awaitable[list[Earned]]]


@dataclass(frozen=True)
class Badge:
    name: str
    title: str
    level: str  # gold | silver | bronze
    description: str
    repeatable: bool  # earned once per post (ref: the post's id) rather than once
    check: Check


# SQL the two databases spell differently.

def _seconds_between(later: str, earlier: str) -> str:
    if db.dialect() == "postgres":
        return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


def _utc_day(column: str) -> str:
    """Days since 1970-01-01 of a timestamp, in UTC, as an integer."""
    if db.dialect() == "postgres":
        return f"CAST(FLOOR(EXTRACT(EPOCH FROM {column}) / 86400) AS INTEGER)"
    return f"CAST(julianday({column}) - 2440587.5 AS INTEGER)"


def _among(column: str, ids: list[int] | None, values: list[Any]) -> str:
    if ids is None:
        return ""
    values.extend(ids)
    return f" AND {column} IN ({', '.join('?' * len(ids))})"


def _at(value: Any) -> datetime | None:
    return None if value is None else db.as_datetime(value)


async def _rows(sql: str, users: list[int] | None, user_column: str, conn: Any,
                posts: list[int] | None = None, post_column: str = "") -> list[dict]:
    """Run a rule's SQL, its {users} and {posts} narrowed to the members and posts asked about."""
    values: list[Any] = []
    text = sql.replace("{users}", _among(user_column, users, values))
    text = text.replace("{posts}", _among(post_column, posts, values) if post_column else "")
    return await db.fetch(text, values, conn)


def _first(name: str, sql: str, user_column: str) -> Check:
    """Earned once, the first time the SQL finds a row (it returns user_id and the earliest at)."""
    async def check(users: list[int] | None, posts: list[int] | None, conn: Any) -> list[Earned]:
        return [Earned(int(r["user_id"]), name, "", _at(r["at"])) for r in await _rows(sql, users, user_column, conn)]
    return check


def _nth(name: str, sql: str, user_column: str, n: int) -> Check:
    """Earned once the SQL finds `n` rows for a member (one row per thing counted), at the n-th's time."""
    async def check(users: list[int] | None, posts: list[int] | None, conn: Any) -> list[Earned]:
        times: dict[int, list[datetime | None]] = defaultdict(list)
        for r in await _rows(sql, users, user_column, conn):
            times[int(r["user_id"])].append(_at(r["at"]))
        out = []
        for uid, ats in times.items():
            if len(ats) >= n:
                known = sorted(a for a in ats if a is not None)
                out.append(Earned(uid, name, "", known[n - 1] if len(known) == len(ats) else None))
        return out
    return check


def _scored(name: str, kind: str, score: int) -> Check:
    """Earned per post: a question or answer of the member's whose score reached `score`."""
    sql = (f"SELECT author_id AS user_id, id AS post_id FROM post WHERE kind = '{kind}' AND score >= {score} "
           "AND author_id IS NOT NULL{users}{posts}")

    async def check(users: list[int] | None, posts: list[int] | None, conn: Any) -> list[Earned]:
        rows = await _rows(sql, users, "author_id", conn, posts, "id")
        return [Earned(int(r["user_id"]), name, str(r["post_id"])) for r in rows]
    return check


def _reputation(name: str, reached: int) -> Check:
    """Earned when the member's reputation (1 + the ledger's running sum) first reached `reached`."""
    sql = ("SELECT user_id, MIN(created_at) AS at FROM (SELECT user_id, created_at, SUM(amount) OVER "
           "(PARTITION BY user_id ORDER BY id ROWS UNBOUNDED PRECEDING) AS running FROM reputation_event "
           f"WHERE 1 = 1{{users}}) r WHERE running >= {reached - 1} GROUP BY user_id")
    return _first(name, sql, "user_id")


def _streak(name: str, days: int) -> Check:
    """Earned on the last day of the member's first run of `days` UTC days in a row with an answer."""
    async def check(users: list[int] | None, posts: list[int] | None, conn: Any) -> list[Earned]:
        sql = (f"SELECT author_id AS user_id, {_utc_day('created_at')} AS day, MIN(created_at) AS at FROM post "
               "WHERE kind = 'answer' AND author_id IS NOT NULL{users} GROUP BY 1, 2 ORDER BY 1, 2")
        out: list[Earned] = []
        run_user, run_day, run_length = None, 0, 0
        for r in await _rows(sql, users, "author_id", conn):
            uid, day = int(r["user_id"]), int(r["day"])
            if uid == run_user and run_length >= days:
                continue  # already earned
            run_length = run_length + 1 if uid == run_user and day == run_day + 1 else 1
            run_user, run_day = uid, day
            if run_length == days:
                out.append(Earned(uid, name, "", _at(r["at"])))
        return out
    return check


_OTHERS_QUESTION = "a.author_id IS NOT NULL AND (q.author_id IS NULL OR q.author_id <> a.author_id)"


def _rules() -> tuple[Badge, ...]:
    accepted = ("SELECT a.author_id AS user_id, NULL AS at FROM post q JOIN post a ON a.id = q.accepted_answer_id "
                f"WHERE q.kind = 'question' AND {_OTHERS_QUESTION}{{users}}")
    return (
        Badge("student", "Student", "bronze", "Asked a first question.", False, _first(
            "student", "SELECT author_id AS user_id, MIN(created_at) AS at FROM post WHERE kind = 'question' "
            "AND author_id IS NOT NULL{users} GROUP BY author_id", "author_id")),
        Badge("helper", "Helper", "bronze", "Answered another member's question for the first time.", False, _first(
            "helper", "SELECT a.author_id AS user_id, MIN(a.created_at) AS at FROM post a JOIN post q ON q.id = a.question_id "
            f"WHERE a.kind = 'answer' AND {_OTHERS_QUESTION}{{users}} GROUP BY a.author_id", "a.author_id")),
        Badge("problem_solver", "Problem Solver", "bronze", "Had an answer accepted for the first time.", False,
              _nth("problem_solver", accepted, "a.author_id", 1)),
        Badge("supporter", "Supporter", "bronze", "Voted on a post for the first time.", False, _first(
            "supporter", "SELECT voter_id AS user_id, MIN(created_at) AS at FROM vote WHERE 1 = 1{users} GROUP BY voter_id",
            "voter_id")),
        Badge("editor", "Editor", "bronze", "Edited a post for the first time.", False, _first(
            "editor", "SELECT editor_id AS user_id, MIN(created_at) AS at FROM moderation_revision "
            "WHERE number > 1 AND editor_id IS NOT NULL{users} GROUP BY editor_id", "editor_id")),
        Badge("nice_question", "Nice Question", "bronze", "Asked a question that reached a score of 10.", True,
              _scored("nice_question", "question", 10)),
        Badge("nice_answer", "Nice Answer", "bronze", "Wrote an answer that reached a score of 10.", True,
              _scored("nice_answer", "answer", 10)),
        Badge("established", "Established", "bronze", "Reached 100 reputation.", False, _reputation("established", 100)),
        Badge("troubleshooter", "Troubleshooter", "silver", "Had 10 answers accepted.", False,
              _nth("troubleshooter", accepted, "a.author_id", 10)),
        Badge("quick_draw", "Quick Draw", "silver", "Answered 10 questions within 5 minutes of their being asked.", False,
              _quick_draw("quick_draw", 10)),
        Badge("devoted", "Devoted", "silver", "Answered questions on 7 days in a row (UTC).", False,
              _streak("devoted", STREAK_DAYS)),
        Badge("great_answer", "Great Answer", "gold", "Wrote an answer that reached a score of 25.", True,
              _scored("great_answer", "answer", 25)),
    )


def _quick_draw(name: str, n: int) -> Check:
    async def check(users: list[int] | None, posts: list[int] | None, conn: Any) -> list[Earned]:
        # One row per question answered in time (answering it twice counts once).
        sql = ("SELECT a.author_id AS user_id, MIN(a.created_at) AS at FROM post a JOIN post q ON q.id = a.question_id "
               f"WHERE a.kind = 'answer' AND {_OTHERS_QUESTION} "
               f"AND {_seconds_between('a.created_at', 'q.created_at')} <= {QUICK_SECONDS + 0.001}{{users}} "
               "GROUP BY a.author_id, a.question_id")
        return await _nth(name, sql, "a.author_id", n)(users, posts, conn)
    return check


RULES: tuple[Badge, ...] = _rules()
BY_NAME: dict[str, Badge] = {b.name: b for b in RULES}


# Recording awards.

async def _record(found: Iterable[Earned], conn: Any, at: datetime | None = None) -> list[Earned]:
    """Record the awards not yet recorded (members whose account was deleted are left out); returns
    those this call recorded. `at`: the time of every award (live); None: each one's own time in the
    history, or now where the history does not say."""
    wanted = {e.key: e for e in found}
    if not wanted:
        return []
    uids = sorted({uid for uid, _, _ in wanted})
    gone: set[int] = set()
    for start in range(0, len(uids), 10_000):
        chunk = uids[start:start + 10_000]
        rows = await db.fetch(f'SELECT id FROM "user" WHERE deleted_at IS NOT NULL AND id IN ({", ".join("?" * len(chunk))})',
                              chunk, conn)
        gone |= {int(r["id"]) for r in rows}
    now = clock.now()
    # In key order, so two transactions awarding the same badges never wait for each other in a circle.
    todo = [wanted[k] for k in sorted(wanted) if k[0] not in gone]
    recorded: list[Earned] = []
    for start in range(0, len(todo), 2_000):
        chunk = todo[start:start + 2_000]
        values: list[Any] = []
        for e in chunk:
            values += [e.user_id, e.badge, e.ref, at or e.at or now]
        rows = await db.fetch(
            "INSERT INTO badge_award (user_id, badge, ref, awarded_at) VALUES "
            + ", ".join(["(?, ?, ?, ?)"] * len(chunk))
            + " ON CONFLICT (user_id, badge, ref) DO NOTHING RETURNING user_id, badge, ref", values, conn)
        made = {(int(r["user_id"]), r["badge"], r["ref"]) for r in rows}
        recorded += [e for e in chunk if e.key in made]
    return recorded


async def award(user_ids: Iterable[int | None], names: Iterable[str], conn: Any, posts: list[int] | None = None) -> list[Earned]:
    """Live awarding: run the rules `names` for these members (repeatable ones for `posts` only, when
    given) inside the caller's transaction; record and tell each member what is new."""
    ids = sorted({uid for uid in user_ids if uid is not None})
    rules = [BY_NAME[n] for n in names]
    if not ids or not rules:
        return []
    once = [r.name for r in rules if not r.repeatable]
    held: set[tuple[int, str]] = set()
    if once:  # a badge earned once is looked for no more
        rows = await db.fetch(f"SELECT user_id, badge FROM badge_award WHERE ref = '' AND badge IN ({', '.join('?' * len(once))}) "
                              f"AND user_id IN ({', '.join('?' * len(ids))})", [*once, *ids], conn)
        held = {(int(r["user_id"]), r["badge"]) for r in rows}
    found: list[Earned] = []
    for rule in rules:
        who = ids if rule.repeatable else [uid for uid in ids if (uid, rule.name) not in held]
        if who:
            found += await rule.check(who, posts if rule.repeatable else None, conn)
    new = await _record(found, conn, clock.now())
    for e in new:
        badge = BY_NAME[e.badge]
        if badge.level in NOTIFIED_LEVELS:
            # Kind "badge" is not a mailed kind (community.preferences): an inbox entry only.
            await notify(e.user_id, "badge", f"You earned the {badge.level} badge {badge.title}: {badge.description}",
                         f"/users/{e.user_id}#badges", conn, post_id=int(e.ref) if e.ref else None)
    return new


# The events that can change what a rule finds, and the members they concern.

async def _question_asked(question: Post, conn: Any, **_: Any) -> None:
    await award([question.author_id], ("student",), conn)


def _quick(question: Post, answer: Post) -> bool:
    """The answer counts towards Quick Draw (another member's question, answered within QUICK_SECONDS,
    as the rule's SQL says): only then can a new answer bring the badge, so only then is it looked for
    (reading every answer of a prolific member was 8-10 ms of each answer under load, issue 17)."""
    if answer.author_id is None or question.author_id == answer.author_id:
        return False
    taken = (db.as_datetime(answer.created_at) - db.as_datetime(question.created_at)).total_seconds()
    return taken <= QUICK_SECONDS + 0.001


async def _answer_posted(question: Post, answer: Post, conn: Any, **_: Any) -> None:
    await award([answer.author_id], ("helper", "devoted", *(("quick_draw",) if _quick(question, answer) else ())), conn)


async def _answer_accepted(question: Post, answer: Post, conn: Any, **_: Any) -> None:
    # Reputation went up for both (15 and 2 points by default).
    await award([answer.author_id], ("problem_solver", "troubleshooter", "established"), conn)
    await award([question.author_id], ("established",), conn)


async def _post_edited(post: Post, editor: User, conn: Any, **_: Any) -> None:
    # The revision belongs to whoever made the edit (a suggested edit: its author, not the reviewer).
    rows = await db.fetch("SELECT editor_id FROM moderation_revision WHERE post_id = ? ORDER BY number DESC LIMIT 1",
                          [post.id], conn)
    await award([editor.id, *(r["editor_id"] for r in rows)], ("editor",), conn)


async def _vote_cast(post: Post, voter: User, value: int, before: int, conn: Any, **_: Any) -> None:
    if value:
        await award([voter.id], ("supporter",), conn)
    if value > before and post.author_id is not None:  # the score and the author's reputation went up
        scored = ("nice_question",) if post.is_question else ("nice_answer", "great_answer")
        await award([post.author_id], (*scored, "established"), conn, posts=[post.id])


events.subscribe("question_asked", _question_asked)
events.subscribe("answer_posted", _answer_posted)
events.subscribe("answer_accepted", _answer_accepted)
events.subscribe("post_edited", _post_edited)
events.subscribe("vote_cast", _vote_cast)


# The whole history.

async def by_rules(conn: Any = None) -> dict[tuple[int, str, str], datetime | None]:
    """Every award the rules give over the whole history, (user, badge, ref) -> when (None: unknown);
    members whose account was deleted are left out."""
    found: dict[tuple[int, str, str], datetime | None] = {}
    for rule in RULES:
        for e in await rule.check(None, None, conn):
            found[e.key] = e.at
    gone = {int(r["id"]) for r in await db.fetch('SELECT id FROM "user" WHERE deleted_at IS NOT NULL', [], conn)}
    return {k: at for k, at in found.items() if k[0] not in gone}


async def recompute() -> dict[str, tuple[int, int]]:
    """Award what the rules give over the whole history and is not yet recorded (idempotent; nobody is
    notified). Returns, per badge, (how many the rules give, how many this run recorded)."""
    counts: dict[str, tuple[int, int]] = {}
    for rule in RULES:
        async with db.transaction() as conn:
            found = await rule.check(None, None, conn)
            new = await _record(found, conn)
        counts[rule.name] = (len({e.key for e in found}), len(new))
    from community.questions import bump_generation  # pages show badge counts beside names

    await bump_generation()
    return counts


# Reading awards.

async def of_member(user_id: int) -> list[dict[str, Any]]:
    """A member's awards, newest first, with what each badge is (awards of retired rules left out)."""
    out = []
    for a in await BadgeAward.filter(user_id=user_id).order_by("-awarded_at", "-id"):
        badge = BY_NAME.get(a.badge)
        if badge is not None:
            out.append({"badge": a.badge, "title": badge.title, "level": badge.level, "description": badge.description,
                        "ref": a.ref or None, "awarded_at": a.awarded_at})
    return out


def grouped(awards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A profile's awards by level (gold first), each badge once with how many times it was earned."""
    out = []
    for level in LEVELS:
        per_badge: dict[str, dict[str, Any]] = {}
        for a in awards:
            if a["level"] == level:
                entry = per_badge.setdefault(a["badge"], {**a, "count": 0, "refs": []})
                entry["count"] += 1
                if a["ref"]:
                    entry["refs"].append(a["ref"])
        if per_badge:
            out.append({"level": level, "count": sum(e["count"] for e in per_badge.values()), "badges": list(per_badge.values())})
    return out


async def thread_counts(question_id: int) -> dict[int, dict[str, int]]:
    """Badge counts by level of every author in a thread (the question's and its answers'), in one query."""
    rows = await db.fetch("SELECT user_id, badge, COUNT(*) AS n FROM badge_award WHERE user_id IN "
                          "(SELECT author_id FROM post WHERE id = ? OR question_id = ?) GROUP BY user_id, badge",
                          [question_id, question_id])
    counts: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(LEVELS, 0))
    for r in rows:
        badge = BY_NAME.get(r["badge"])
        if badge is not None:
            counts[int(r["user_id"])][badge.level] += int(r["n"])
    return dict(counts)
