"""Background loops stop when cancelled, even when a library swallowed the cancellation: on Python
3.11 asyncio.wait_for drops one that arrives as its awaitable finishes (aiosmtplib and the database
drivers await that way), and a loop that then slept for its whole poll held the app's shutdown."""

from __future__ import annotations

import asyncio

import pytest

from community.wakeup import sleep_until_woken
from search.indexer import Indexer
from search.web import search_backend


async def _swallowing_once(started: asyncio.Event) -> None:
    """What such a library call does: a cancellation arriving while it runs is lost."""
    started.set()
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        pass  # the result "arrived" at the same moment; the cancellation goes unnoticed


async def test_a_loop_whose_cancellation_was_swallowed_stops_instead_of_sleeping():
    started, wake = asyncio.Event(), asyncio.Event()

    async def loop() -> None:
        while True:
            await _swallowing_once(started)
            await sleep_until_woken(wake, 3600)  # an hour's poll: only noticing the cancellation ends it

    task = asyncio.create_task(loop())
    await started.wait()
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=10)  # a bound on a hang, not a timing
    assert done == {task} and task.cancelled()


async def test_a_wake_ends_the_sleep_and_is_used_up():
    wake = asyncio.Event()
    wake.set()
    assert await sleep_until_woken(wake, 3600) is True and not wake.is_set()
    assert await sleep_until_woken(wake, 0.01) is False


async def test_the_search_indexer_stops_when_a_drain_swallowed_its_cancellation(app, monkeypatch):
    started = asyncio.Event()
    indexer = Indexer(search_backend(app))

    async def drain_once() -> int:
        await _swallowing_once(started)
        return 0

    monkeypatch.setattr(indexer, "drain_once", drain_once)
    task = asyncio.create_task(indexer.run(poll=3600))
    await started.wait()
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=10)
    assert done == {task} and task.cancelled()
