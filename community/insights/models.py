"""The insights room's tables: narrow, derived rows that every insights figure reads instead of
the wide `post`, ledger and ticket tables.

None of them is written by the application. Database triggers, created by this room's migration,
keep them in step with every write to `post`, `reputation_event` and `support_ticket`, whichever
path made it: the services, moderators, the importer's bulk SQL. Times are integer milliseconds
since 1970 (UTC) and days are days since 1970-01-01, so a median, a 'within the hour' or an SLA
what-if is integer arithmetic on both databases instead of parsing a timestamp per row.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class QuestionFact(Model):
    """One row per question."""

    question_id = fields.IntField(primary_key=True, generated=False)
    day = fields.IntField()  # the UTC day it was asked
    month = fields.IntField()  # the UTC month it was asked, as months since January 1970
    asked_ms = fields.BigIntField()
    # Until the first answer by someone other than the asker (the SLA's clock); null: none yet.
    first_wait_ms = fields.BigIntField(null=True)
    # Until the accepted answer was posted; null: not solved.
    solution_wait_ms = fields.BigIntField(null=True)
    solved_at_ms = fields.BigIntField(null=True)  # when the accepted answer was posted
    solver_id = fields.IntField(null=True)  # who wrote it
    solved_officially = fields.BooleanField(null=True)  # whether it was an official (staff) answer
    visible = fields.BooleanField()  # neither deleted nor hidden by moderators

    class Meta:
        table = "insights_question"
        # By day, for the per-question pass of a what-if in business hours; by wait, for the exact
        # value inside one histogram bucket and the what-if's edges; accepted answers by when they
        # were posted, for the days at a range's ends (named: SQLite is told which to use).
        indexes = (Index(fields=("visible", "day", "first_wait_ms"), name="insights_question_by_day"),
                   Index(fields=("visible", "first_wait_ms", "day", "asked_ms"), name="insights_question_by_first_wait"),
                   Index(fields=("visible", "solution_wait_ms", "day"), name="insights_question_by_solution_wait"),
                   Index(fields=("visible", "solved_at_ms", "solver_id"), name="insights_question_by_solved_at"))


class DayCount(Model):
    """Per day: questions asked, answered (by someone other than the asker), answered within the
    hour, solved."""

    day = fields.IntField(primary_key=True, generated=False)
    asked = fields.IntField(default=0)
    answered = fields.IntField(default=0)
    within_hour = fields.IntField(default=0)
    solved = fields.IntField(default=0)

    class Meta:
        table = "insights_day"


class WaitCount(Model):
    """How many questions asked in a day (span 'day') or a month ('month') waited how long: the
    first-answer wait (bucket -1: no answer yet) and the time to the accepted answer, in the
    buckets of `rollup.py`. Percentiles of a range start from these rows, not from a million facts."""

    id = fields.IntField(primary_key=True)
    measure = fields.CharField(max_length=10)  # first | solution
    span = fields.CharField(max_length=5)  # day | month
    period = fields.IntField()  # the day or month number
    bucket = fields.IntField()
    n = fields.IntField(default=0)

    class Meta:
        table = "insights_wait"
        unique_together = (("measure", "span", "period", "bucket"),)
        # One range of buckets over many days (the what-if's late answers).
        indexes = (Index(fields=("measure", "span", "bucket", "period", "n"), name="insights_wait_by_bucket"),)


class TicketFact(Model):
    """One row per support ticket, with the day its question was asked and whether staff solved it."""

    ticket_id = fields.IntField(primary_key=True, generated=False)
    question_id = fields.IntField()
    day = fields.IntField()
    visible = fields.BooleanField()
    solved_officially = fields.BooleanField(null=True)
    resolved = fields.BooleanField()
    escalated_ms = fields.BigIntField()
    claimed_ms = fields.BigIntField(null=True)
    claim_due_ms = fields.BigIntField()
    first_reply_ms = fields.BigIntField(null=True)
    reply_due_ms = fields.BigIntField()
    claim_wait_ms = fields.BigIntField(null=True)  # escalated -> claimed
    reply_wait_ms = fields.BigIntField(null=True)  # escalated -> first staff reply

    class Meta:
        table = "insights_ticket"
        # The waits in order, so a median is one short walk along an index.
        indexes = (("question_id",), Index(fields=("visible", "claim_wait_ms", "day"), name="insights_ticket_by_claim_wait"),
                   Index(fields=("visible", "reply_wait_ms", "day"), name="insights_ticket_by_reply_wait"))


class Contribution(Model):
    """Per member and month or year (UTC): reputation gained (from the ledger) and answers accepted
    (by when the answer was posted). The top contributors of a long range add whole years and
    months up instead of every ledger row."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharField(max_length=10)  # reputation | accepted
    span = fields.CharField(max_length=5)  # month | year
    period = fields.IntField()  # months since January 1970, or the year
    user_id = fields.IntField()
    amount = fields.IntField(default=0)

    class Meta:
        table = "insights_contribution"
        unique_together = (("kind", "span", "period", "user_id"),)
