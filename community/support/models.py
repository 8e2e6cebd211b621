"""Rows of support escalation: tickets, their history and notes, webhook deliveries."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

TICKET_STATES = ("open", "claimed", "resolved")


class Ticket(Model):
    """One question handed to the support team. A question has at most one ticket, ever:
    the unique question id is what stops two sweepers from escalating it twice."""

    id = fields.IntField(primary_key=True)
    question = fields.OneToOneField("community.Post", related_name="support_ticket", on_delete=fields.CASCADE)
    state = fields.CharField(max_length=10, default="open")  # open|claimed|resolved
    source = fields.CharField(max_length=10, default="sla")  # sla (the sweeper) | asker | staff | moderator
    reason = fields.TextField(default="")
    escalated_by = fields.ForeignKeyField("community.User", related_name="tickets_escalated", null=True, on_delete=fields.SET_NULL)
    escalated_at = fields.DatetimeField()
    # When the question's first-answer SLA ran out (null: escalated by hand before it did).
    sla_breached_at = fields.DatetimeField(null=True)
    # Urgency: the moment the customer started waiting on staff; the desk lists the oldest first.
    due_at = fields.DatetimeField()
    assignee = fields.ForeignKeyField("community.User", related_name="tickets_assigned", null=True, on_delete=fields.SET_NULL)
    claimed_at = fields.DatetimeField(null=True)
    claim_due_at = fields.DatetimeField()
    first_reply_at = fields.DatetimeField(null=True)
    reply_due_at = fields.DatetimeField()
    # A community member answered after escalation, before any agent: agents look there first.
    community_answer_id = fields.IntField(null=True)
    community_answer_at = fields.DatetimeField(null=True)
    resolution = fields.CharField(max_length=24, null=True)
    resolved_at = fields.DatetimeField(null=True)
    resolved_by = fields.ForeignKeyField("community.User", related_name="tickets_resolved", null=True, on_delete=fields.SET_NULL)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "support_ticket"
        indexes = (("state", "due_at"), ("assignee_id", "state"))


class TicketEvent(Model):
    """The ticket's history: who did what, when (actor null: the system, e.g. the sweeper)."""

    id = fields.IntField(primary_key=True)
    ticket = fields.ForeignKeyField("support.Ticket", related_name="history", on_delete=fields.CASCADE)
    actor = fields.ForeignKeyField("community.User", related_name="ticket_events", null=True, on_delete=fields.SET_NULL)
    action = fields.CharField(max_length=24)
    detail = fields.TextField(default="")
    at = fields.DatetimeField()

    class Meta:
        table = "support_ticket_event"
        indexes = (("ticket_id", "id"),)


class TicketNote(Model):
    """An internal note between agents, which members never see."""

    id = fields.IntField(primary_key=True)
    ticket = fields.ForeignKeyField("support.Ticket", related_name="notes", on_delete=fields.CASCADE)
    author = fields.ForeignKeyField("community.User", related_name="ticket_notes", null=True, on_delete=fields.SET_NULL)
    body = fields.TextField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "support_ticket_note"


class WebhookDelivery(Model):
    """The helpdesk outbox: one ticket event to POST, kept until the receiver acknowledges it."""

    id = fields.IntField(primary_key=True)
    event = fields.CharField(max_length=20)  # escalated|claimed|released|replied|resolved|...
    ticket_id = fields.IntField()
    payload = fields.TextField()  # the exact JSON body that is signed and sent
    created_at = fields.DatetimeField()
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    locked_until = fields.DatetimeField(null=True)  # a sender's lease, so two processes never send one row at once
    delivered_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(default="")

    class Meta:
        table = "support_webhook_delivery"
        indexes = (("delivered_at", "id"),)


class Nudge(Model):
    """The community's last chance: a question that waited a share of its SLA unanswered was shown to
    the members most likely to answer it, before it reached paid staff. At most one per question."""

    id = fields.IntField(primary_key=True)
    question = fields.OneToOneField("community.Post", related_name="nudge", on_delete=fields.CASCADE)
    at = fields.DatetimeField()
    sla_due_at = fields.DatetimeField()  # when the question would escalate
    recipients = fields.IntField(default=0)

    class Meta:
        table = "support_nudge"


class NudgeRecipient(Model):
    id = fields.IntField(primary_key=True)
    nudge = fields.ForeignKeyField("support.Nudge", related_name="sent_to", on_delete=fields.CASCADE)
    user = fields.ForeignKeyField("community.User", related_name="nudges", on_delete=fields.CASCADE)
    at = fields.DatetimeField()

    class Meta:
        table = "support_nudge_recipient"
        indexes = (("user_id", "at"),)
