"""Writes call `enqueue` inside their transaction; the indexer drains the outbox afterwards.

Queuing also nudges this process's indexer (if it runs here), so a new post does not wait for the
next poll; indexers in other processes still find the rows by polling.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from community import clock, db
from search.models import IndexOutbox

# One event per event loop (tests run each in a loop of its own; an Event belongs to one loop).
_nudges: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Event] = weakref.WeakKeyDictionary()


def nudge_event() -> asyncio.Event:
    """The event this loop's indexer waits on between polls."""
    loop = asyncio.get_running_loop()
    event = _nudges.get(loop)
    if event is None:
        event = _nudges[loop] = asyncio.Event()
    return event


def _nudge() -> None:
    try:
        nudge_event().set()
    except RuntimeError:  # no running loop (a synchronous caller): the indexer's poll finds the row
        pass


async def enqueue(question_id: int, using_db: Any = None) -> None:
    await IndexOutbox.create(question_id=question_id, created_at=clock.now(), using_db=using_db)
    _nudge()


async def enqueue_many(question_ids: list[int], using_db: Any = None) -> None:
    """Queue many questions with one multi-row insert (bulk writers such as the importer)."""
    if not question_ids:
        return
    now = clock.now()
    await db.insert_many([IndexOutbox(question_id=qid, created_at=now) for qid in question_ids], using_db)
    _nudge()
