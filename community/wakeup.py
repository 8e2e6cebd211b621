"""How a background loop (the search indexer, the mail sender) waits between rounds: until its poll
interval passes or this process wakes it, stopping at once when it has been cancelled."""

from __future__ import annotations

import asyncio


async def sleep_until_woken(wake: asyncio.Event, seconds: float) -> bool:
    """Sleep `seconds`, or until `wake` is set (then True, and the event is cleared).

    A cancellation some library swallowed (asyncio.wait_for on Python 3.11 drops one that arrives as
    its awaitable finishes; aiosmtplib and the database drivers await that way) is honoured here
    rather than slept through, so the app's shutdown never waits on a loop that missed it.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
    if not wake.is_set():
        try:
            async with asyncio.timeout(seconds):  # not asyncio.wait_for, for the reason above
                await wake.wait()
        except TimeoutError:
            return False
    wake.clear()
    return True
