"""Writes call `enqueue` inside their transaction; the indexer drains the outbox afterwards."""

from __future__ import annotations

from typing import Any

from community import clock
from search.models import IndexOutbox


async def enqueue(question_id: int, using_db: Any = None) -> None:
    await IndexOutbox.create(question_id=question_id, created_at=clock.now(), using_db=using_db)
