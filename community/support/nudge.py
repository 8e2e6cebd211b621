"""The community nudge: before a question escalates to paid staff, the community gets a last chance.

When a question has waited `support.nudge_share` of its first-answer SLA (measured by the same
policy as the sweeper: tag overrides, business hours) with no answer from anyone but the asker,
the members most likely to answer it are told at once: members who watch one of its tags and have
accepted answers in those tags, ranked by their accepted answers there in the last
`support.nudge_recent_days`, at most `support.nudge_max`, never the asker, never a suspended member,
never one already nudged `support.nudge_per_hour` times in the last hour.

A question is nudged at most once: its `support_nudge` row (unique per question; written even when
nobody fits, so it is not examined again) is inserted with `ON CONFLICT DO NOTHING` in the same
transaction as the notifications and the `support_nudge_recipient` rows, so of two sweepers racing
only the one whose insert lands notifies. The sweeper runs this before each escalation pass.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from community import db, settings
from community.errors import Invalid
from community.notifications import notify
from community.support import backlog, policy
from community.support.models import NudgeRecipient

log = logging.getLogger("community.support.nudge")

settings.declare("support.nudge_share", 0.5, "Share of its first-answer SLA a question waits unanswered before the "
                 "members most likely to answer it are nudged (0.5: half way)", "support")
settings.declare("support.nudge_max", 5, "Members nudged about one question at most (0: no nudges)", "support")
settings.declare("support.nudge_recent_days", 90, "Nudged members are ranked by their accepted answers in the "
                 "question's tags over this many days", "support")
settings.declare("support.nudge_per_hour", 3, "Nudges one member may get in an hour at most", "support")
settings.rule("support.nudge_share", settings.between(0, 1))
settings.rule("support.nudge_recent_days", settings.between(1, 3650, "days"))

BATCH = 100  # questions per transaction: each notifies up to nudge_max members


@dataclass(frozen=True)
class Rules:
    share: float
    most: int
    recent_days: float
    per_hour: int


def _number(name: str, low: float, high: float | None = None, whole: bool = False) -> float:
    value = settings.get(name)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Invalid(name, f"{name} takes a number.") from None
    if (isinstance(value, bool) or not math.isfinite(number) or number < low or (high is not None and number >= high)
            or (whole and number != int(number))):
        bounds = f"from {low:g}" + (f" up to (not including) {high:g}" if high is not None else "")
        raise Invalid(name, f"{name} takes {'a whole number' if whole else 'a number'} {bounds}.")
    return number


def rules() -> Rules:
    return Rules(share=_number("support.nudge_share", 0, 1), most=int(_number("support.nudge_max", 0, whole=True)),
                 recent_days=_number("support.nudge_recent_days", 0, 36600),
                 per_hour=int(_number("support.nudge_per_hour", 0, whole=True)))


@dataclass
class Due:
    question_id: int
    title: str
    author_id: int | None
    deadline: datetime  # when the question would escalate


@dataclass
class NudgeResult:
    candidates: int = 0
    due: int = 0
    nudged: list[int] = field(default_factory=list)  # question ids nudged by this call
    recipients: int = 0


# The sweeper's open questions (no answer but the asker's, open, visible, not exempt, no ticket),
# and also not locked and never nudged.
_OPEN = backlog.OPEN + " AND p.locked = FALSE AND NOT EXISTS (SELECT 1 FROM support_nudge n WHERE n.question_id = p.id)"


async def find_due(pol: policy.Policy, rule: Rules, now: datetime, result: NudgeResult | None = None) -> list[Due]:
    """Questions past their nudge point and still before their SLA deadline, never nudged."""
    result = result or NudgeResult()
    # Business time never runs faster than wall time: nothing asked after this can be due yet.
    cutoff = now - timedelta(seconds=rule.share * pol.shortest)
    rows = await db.fetch(f"SELECT p.id, p.created_at, p.tag_names, p.title, p.author_id FROM {backlog.posts()} "
                          f"WHERE {_OPEN} AND p.created_at <= ?", [cutoff], db.background())
    result.candidates += len(rows)
    due: list[Due] = []
    for n, r in enumerate(rows):
        asked, tags = db.as_datetime(r["created_at"]), (r["tag_names"] or "").split()
        sla = pol.first_answer_for(tags)
        deadline = pol.after(asked, sla)
        # Past the deadline the sweeper escalates it in this same sweep: too late for a nudge.
        if pol.after(asked, rule.share * sla) <= now < deadline:
            due.append(Due(r["id"], r["title"], r["author_id"], deadline))
        if n % 2000 == 1999:
            await asyncio.sleep(0)
    due.sort(key=lambda d: d.question_id)
    result.due += len(due)
    return due


def _table(dialect: str, name: str, columns: dict[str, str], rows: list[tuple]) -> tuple[str, list[Any]]:
    """Rows as the table `name(columns)`, bound as one JSON parameter (SQLite) or one array per
    column (PostgreSQL: `columns` maps each to its type) instead of a parameter per value."""
    if dialect == "postgres":
        arrays = ", ".join(f"?::{kind}[]" for kind in columns.values())
        return f"unnest({arrays}) AS {name}({', '.join(columns)})", [[r[i] for r in rows] for i in range(len(columns))]
    picks = ", ".join(f"json_extract(value, '$[{i}]') AS {c}" for i, c in enumerate(columns))
    # str(datetime) is the text Tortoise stores on SQLite ("2026-01-05 09:00:00+00:00").
    return (f"(SELECT {picks} FROM json_each(?)) AS {name}",
            [json.dumps([[str(v) if isinstance(v, datetime) else v for v in r] for r in rows])])


# Who could be nudged about each question of a batch: members watching one of its tags, not the
# asker, not suspended. A few indexed look-ups per question.
_WATCHERS = (
    "SELECT q.id AS question_id, pt.tag_id AS tag_id, t.name AS tag, tw.user_id AS user_id "
    "FROM {batch} JOIN post p ON p.id = q.id JOIN post_tag pt ON pt.post_id = p.id JOIN tag t ON t.id = pt.tag_id "
    'JOIN tag_watch tw ON tw.tag_id = pt.tag_id JOIN "user" u ON u.id = tw.user_id '
    "WHERE (p.author_id IS NULL OR tw.user_id <> p.author_id) AND (u.suspended_until IS NULL OR u.suspended_until <= ?)")
# Of those, the ones with accepted answers (on visible questions) in a tag of the question they
# watch: how many, how many posted recently, and one such tag to name in the reason. An answer on a
# question carrying two of the tags counts once. One pass over the accepted answers of those members
# in those tags for the whole batch (materialised, so it is not repeated per question).
_CANDIDATES = (
    "WITH pairs AS MATERIALIZED (SELECT w.question_id, w.tag_id, w.tag, w.user_id FROM {pairs}), "
    "accepted AS MATERIALIZED (SELECT a.author_id AS user_id, st.tag_id AS tag_id, a.id AS answer_id, a.created_at AS at "
    "FROM post s JOIN post a ON a.id = s.accepted_answer_id JOIN post_tag st ON st.post_id = s.id "
    "WHERE s.kind = 'question' AND s.deleted_at IS NULL AND s.hidden = ? AND a.deleted_at IS NULL AND a.hidden = ? "
    "AND a.author_id IN (SELECT user_id FROM pairs) AND st.tag_id IN (SELECT tag_id FROM pairs)) "
    "SELECT p.question_id AS question_id, p.user_id AS user_id, MIN(p.tag) AS tag, "
    "COUNT(DISTINCT x.answer_id) AS accepted, COUNT(DISTINCT CASE WHEN x.at >= ? THEN x.answer_id END) AS recent "
    "FROM pairs p JOIN accepted x ON x.user_id = p.user_id AND x.tag_id = p.tag_id GROUP BY p.question_id, p.user_id")


async def candidates(batch: list[Due], rule: Rules, now: datetime) -> list[dict]:
    """Read before the batch's transaction, on the background connection: on SQLite the pass over
    accepted answers then holds no write lock."""
    conn = db.background()
    dialect = conn.capabilities.dialect
    table, values = _table(dialect, "q", {"id": "int"}, [(d.question_id,) for d in batch])
    pairs = await db.fetch(_WATCHERS.format(batch=table), [*values, now], conn)
    if not pairs:
        return []
    table, values = _table(dialect, "w", {"question_id": "int", "tag_id": "int", "tag": "text", "user_id": "int"},
                           [(r["question_id"], r["tag_id"], r["tag"], r["user_id"]) for r in pairs])
    return await db.fetch(_CANDIDATES.format(pairs=table),
                          [*values, False, False, now - timedelta(days=rule.recent_days)], conn)


def choose(due: list[Due], candidates: list[dict], nudged_lately: dict[int, int], rule: Rules) -> dict[int, list[dict]]:
    """Per question, in id order, its best `rule.most` candidates by recent then all accepted answers
    (then member id, so the choice is stable), skipping members at their hourly limit; members
    chosen for one question count towards that limit for the next."""
    by_question: dict[int, list[dict]] = {}
    for c in candidates:
        by_question.setdefault(int(c["question_id"]), []).append(c)
    counts = dict(nudged_lately)
    chosen: dict[int, list[dict]] = {}
    for d in due:
        ranked = sorted(by_question.get(d.question_id, []),
                        key=lambda c: (-int(c["recent"]), -int(c["accepted"]), int(c["user_id"])))
        picked = []
        for c in ranked:
            if len(picked) >= rule.most:
                break
            uid = int(c["user_id"])
            if counts.get(uid, 0) >= rule.per_hour:
                continue
            counts[uid] = counts.get(uid, 0) + 1
            picked.append(c)
        chosen[d.question_id] = picked
    return chosen


async def _nudge_batch(batch: list[Due], found: list[dict], rule: Rules, now: datetime, conn: Any) -> tuple[list[int], int]:
    dialect = conn.capabilities.dialect
    members = sorted({int(c["user_id"]) for c in found})
    lately: dict[int, int] = {}
    if members:  # read under the write lock on SQLite, so two sweepers do not both use up a member's hour
        people, people_values = _table(dialect, "m", {"id": "int"}, [(m,) for m in members])
        lately = {int(r["user_id"]): int(r["n"]) for r in await db.fetch(
            f"SELECT r.user_id AS user_id, COUNT(*) AS n FROM {people} JOIN support_nudge_recipient r ON r.user_id = m.id "
            "WHERE r.at > ? GROUP BY r.user_id", [*people_values, now - timedelta(hours=1)], conn)}
    chosen = choose(batch, found, lately, rule)
    # The nudges, for the questions still open now (one answered meanwhile drops out); on a
    # conflict another sweeper nudged it first and this one notifies nobody.
    rows, rows_values = _table(dialect, "v", {"qid": "int", "deadline": "timestamptz", "recipients": "int"},
                               [(d.question_id, d.deadline, len(chosen[d.question_id])) for d in batch])
    inserted = await db.fetch(
        f"INSERT INTO support_nudge (question_id, at, sla_due_at, recipients) SELECT p.id, ?, v.deadline, v.recipients "
        f"FROM {rows} CROSS JOIN post p WHERE p.id = v.qid AND {_OPEN} "
        "ON CONFLICT (question_id) DO NOTHING RETURNING id, question_id",
        [now, *rows_values], conn)
    made = {int(r["question_id"]): int(r["id"]) for r in inserted}
    sent: list[NudgeRecipient] = []
    for d in batch:
        if d.question_id not in made:
            continue
        for c in chosen[d.question_id]:
            await notify(int(c["user_id"]), "nudge", f"Can you help before this goes to our support team? {d.title}",
                         f"/questions/{d.question_id}", conn, question_id=d.question_id, post_id=d.question_id,
                         reason=f"you watch the tag {c['tag']} and your answers there were accepted")
            sent.append(NudgeRecipient(nudge_id=made[d.question_id], user_id=int(c["user_id"]), at=now))
    if sent:
        await NudgeRecipient.bulk_create(sent, using_db=conn)
    return sorted(made), len(sent)


async def nudge_due(pol: policy.Policy, now: datetime) -> NudgeResult:
    """Nudge every question due, batch by batch; cheap (one indexed read) when none is."""
    result = NudgeResult()
    rule = rules()
    if rule.most <= 0:
        return result
    due = await find_due(pol, rule, now, result)
    for start in range(0, len(due), BATCH):
        batch = due[start:start + BATCH]
        found = await candidates(batch, rule, now)
        async with db.background_transaction() as conn:
            nudged, recipients = await _nudge_batch(batch, found, rule, now, conn)
        result.nudged += nudged
        result.recipients += recipients
        await asyncio.sleep(0)  # let requests in between batches
    if result.nudged:
        log.info("nudged %d question(s), %d member(s) told", len(result.nudged), result.recipients)
    return result
