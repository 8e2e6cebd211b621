"""Rows of the search room: the outbox that keeps the index in step with the database."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class IndexOutbox(Model):
    """A question whose search document must be rewritten (or removed)."""

    id = fields.BigIntField(primary_key=True)
    question_id = fields.IntField(db_index=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "search_outbox"
