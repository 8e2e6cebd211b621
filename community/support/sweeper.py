"""The escalation sweeper: every ESCALATION_SWEEP_SECONDS, each question past its first-answer SLA
becomes exactly one support ticket.

One sweep is a handful of set-based statements, whatever the size of the forum:
1. one indexed read of the candidates: questions with no answer from anyone but the asker
   (`first_answer_at IS NULL`, state unanswered), still open, visible and covered by the SLA
   (a partial index of just those: backlog.py), with no ticket, asked before now minus the
   shortest SLA;
2. the exact deadline of each candidate (tag overrides, business hours) in Python;
3. per batch, one transaction that re-reads and locks the due questions (an answer that arrived
   meanwhile wins), inserts their tickets with `ON CONFLICT (question_id) DO NOTHING`, and writes
   history, the askers' notifications and the helpdesk events only for the tickets it inserted
   (on PostgreSQL the lock and the three inserts are one statement).
Two sweepers racing therefore make one ticket per question: the unique question id decides.
Before that, each sweep gives the community a last chance on questions half way to their SLA
(`nudge.py`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from community import clock, db, mail, outage, questions
from community.loop_guard import LoopGuard
from community.support import backlog, nudge, policy, webhooks
from community.support.models import Ticket
from community.support.tickets import new_ticket_times, ticket_json

log = logging.getLogger("community.support.sweeper")

BATCH = 2000  # tickets per transaction: a request that writes waits for one batch at most


@dataclass
class Due:
    question_id: int
    deadline: datetime


@dataclass
class SweepResult:
    candidates: int = 0
    due: int = 0
    created: list[int] = field(default_factory=list)  # ticket ids this sweep inserted
    db_seconds: float = 0.0
    nudged: list[int] = field(default_factory=list)  # question ids the community was nudged about first


async def find_due(pol: policy.Policy, now: datetime, result: SweepResult | None = None) -> list[Due]:
    """Questions whose first-answer SLA has run out and that have no ticket yet."""
    result = result or SweepResult()
    cutoff = now - timedelta(seconds=pol.shortest)
    started = time.perf_counter()
    # One read on the background connection: on SQLite requests keep their own connection (WAL
    # readers are not blocked), on PostgreSQL it is one pooled connection among several.
    rows = await db.fetch(f"SELECT p.id, p.created_at, p.tag_names FROM {backlog.posts()} WHERE {backlog.OPEN} AND p.created_at <= ?",
                          [cutoff], db.background())
    result.db_seconds += time.perf_counter() - started
    result.candidates += len(rows)
    due: list[Due] = []
    for n, r in enumerate(rows):
        deadline = pol.first_answer_deadline(db.as_datetime(r["created_at"]), (r["tag_names"] or "").split())
        if now >= deadline:
            due.append(Due(r["id"], deadline))
        if n % 2000 == 1999:
            await asyncio.sleep(0)  # a big backlog's deadlines: let requests in now and then
    due.sort(key=lambda d: d.question_id)  # lock order: the same in every sweeper
    result.due += len(due)
    return due


async def escalate_due(due: list[Due], pol: policy.Policy, now: datetime, result: SweepResult | None = None) -> list[int]:
    """Turn due questions into tickets, batch by batch; returns the ids of the tickets made here."""
    result = result or SweepResult()
    times = new_ticket_times(pol, now)
    size = BATCH
    for start in range(0, len(due), size):
        batch = due[start:start + size]
        begun = time.perf_counter()
        async with db.background_transaction() as conn:
            made = await _escalate_batch(batch, times, now, conn)
        result.db_seconds += time.perf_counter() - begun
        result.created += made
        await asyncio.sleep(0)  # let requests in between batches
    if result.created:
        await questions.bump_generation()
    return result.created


def _rows_param(dialect: str, rows: list[tuple[int, datetime]]) -> tuple[str, list[Any]]:
    """(question id, deadline) pairs as a table, bound as one or two parameters instead of two
    per row: unnest() of arrays on PostgreSQL, json_each() of a JSON array on SQLite."""
    if dialect == "postgres":
        return ("unnest(?::int[], ?::timestamptz[]) AS v(qid, deadline)",
                [[q for q, _ in rows], [d for _, d in rows]])

    # str(datetime) is the text Tortoise stores on SQLite ("2026-01-05 09:00:00+00:00").
    return ("(SELECT json_extract(value, '$[0]') AS qid, json_extract(value, '$[1]') AS deadline FROM json_each(?)) AS v",
            [json.dumps([[q, str(d)] for q, d in rows])])


_TICKET = ("INSERT INTO support_ticket (question_id, state, source, reason, escalated_at, sla_breached_at, due_at, "
           "claim_due_at, reply_due_at, updated_at) SELECT d.id, 'open', 'sla', '', ?, d.deadline, d.deadline, ?, ?, ? "
           "FROM {due} ON CONFLICT (question_id) DO NOTHING RETURNING id, question_id")
# History and the askers' notifications, set-based from the tickets just made (`t`: id, question_id).
_HISTORY = ("INSERT INTO support_ticket_event (ticket_id, actor_id, action, detail, at) "
            "SELECT t.id, NULL, 'escalated', 'No answer from the community within the SLA', ? FROM {made}")
# Mail state as `community.notifications.notify` sets it: due at once (the composer drops it if the
# asker's preference is not "at once"), or in the digest the asker chose.
_NOTIFY = ("INSERT INTO notification (user_id, kind, text, url, created_at, question_id, post_id, reason, mail_due_at, digest) "
           "SELECT p.author_id, 'escalated', substr('Your question was passed to our support team: ' || p.title, 1, 300), "
           "'/questions/' || CAST(p.id AS TEXT), ?, p.id, p.id, '', ?, "
           "CASE WHEN np.delivery IN ('daily', 'weekly') THEN np.delivery ELSE '' END "
           "FROM {made} JOIN post p ON p.id = t.question_id "
           "LEFT JOIN notification_preference np ON np.user_id = p.author_id AND np.kind = 'escalated' "
           "WHERE p.author_id IS NOT NULL")


async def _escalate_batch(batch: list[Due], times: dict[str, datetime], now: datetime, conn: Any) -> list[int]:
    dialect = conn.capabilities.dialect
    table, table_values = _rows_param(dialect, [(d.question_id, d.deadline) for d in batch])
    # The due questions re-read inside the transaction: one answered, closed or escalated since
    # find_due drops out here. CROSS JOIN: SQLite then walks the batch and looks each question up
    # by id, instead of walking every unanswered question for each batch.
    due = f"SELECT p.id, v.deadline FROM {table} CROSS JOIN post p WHERE p.id = v.qid AND {backlog.OPEN}"
    due_values = table_values
    ticket_values = [now, times["claim_due_at"], times["reply_due_at"], now]
    if dialect == "postgres":
        # One statement: the due questions locked in id order (an answer committed meanwhile is
        # seen: the lock re-reads the row), their tickets, history and notifications.
        inserted = await db.fetch(
            f"WITH due AS ({due} ORDER BY p.id FOR UPDATE OF p), "
            f"made AS ({_TICKET.format(due='due d')}), "
            f"history AS ({_HISTORY.format(made='made t')}), "
            f"notified AS ({_NOTIFY.format(made='made t')}) "
            "SELECT id FROM made", [*due_values, *ticket_values, now, now, now], conn)
    else:
        # SQLite: the write transaction already excludes every other writer.
        inserted = await db.fetch(_TICKET.format(due=f"({due}) AS d WHERE true"), [*ticket_values, *due_values], conn)
        if inserted:
            made = "(SELECT id, question_id FROM support_ticket WHERE id IN (SELECT value FROM json_each(?))) AS t"
            made_value = json.dumps([r["id"] for r in inserted])
            await db.execute(_HISTORY.format(made=made), [now, made_value], conn)
            await db.execute(_NOTIFY.format(made=made), [now, now, made_value], conn)
    if not inserted:
        return []
    ids = sorted(r["id"] for r in inserted)
    if webhooks.enabled():
        tickets = await Ticket.filter(id__in=ids).using_db(conn).select_related("question", "assignee")
        await webhooks.WebhookDelivery.bulk_create(
            webhooks.rows("escalated", [ticket_json(t, now) for t in sorted(tickets, key=lambda t: t.id)], now), using_db=conn)
    return ids


async def sweep(now: datetime | None = None) -> SweepResult:
    """One sweep at `now` (the clock's time by default)."""
    now = now or clock.now()
    pol = policy.current()
    result = SweepResult()
    try:
        # The community's last chance first (`nudge.py`); a failing nudge must not hold up escalation.
        result.nudged = (await nudge.nudge_due(pol, now)).nudged
    except Exception as exc:
        if outage.kind(exc) is not None:
            raise  # the database is away: escalating cannot work either; the loop says so once
        log.exception("community nudge failed; escalating anyway")
    due = await find_due(pol, now, result)
    await escalate_due(due, pol, now, result)
    if result.created:
        mail.wake_event().set()  # the askers' "escalated" mails
    return result


async def sweeper_loop(every_seconds: float) -> None:
    """The in-server sweeper: runs until cancelled; a failed sweep is logged and retried."""
    guard = LoopGuard("the escalation sweeper")  # an outage: one line, back-off, one line when it is back
    while True:
        pause = max(0.2, every_seconds)
        try:
            result = await sweep()
            guard.ok()
            if result.created:
                log.info("escalated %d question(s) to support", len(result.created))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            pause = guard.failed(exc, f"escalation sweep failed; trying again in {every_seconds}s", pause)
        await asyncio.sleep(pause)
