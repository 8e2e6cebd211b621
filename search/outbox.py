"""Writes call `enqueue` inside their transaction; the indexer drains the outbox afterwards."""

from __future__ import annotations

from typing import Any

from community import clock
from search.models import IndexOutbox


async def enqueue(question_id: int, using_db: Any = None) -> None:
    await IndexOutbox.create(question_id=question_id, created_at=clock.now(), using_db=using_db)


async def enqueue_many(question_ids: list[int], using_db: Any = None) -> None:
    """Queue many questions with one multi-row insert (bulk writers such as the importer)."""
    if not question_ids:
        return
    now = clock.now()
    await IndexOutbox.bulk_create([IndexOutbox(question_id=qid, created_at=now) for qid in question_ids],
                                  using_db=using_db)
