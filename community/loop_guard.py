"""How a background loop (the search indexer, the escalation sweeper, the mail and webhook senders,
the digest schedule, the settings follower) lives through a database outage.

Each loop holds a `LoopGuard` and calls `failed(exc, message, pause)` when a round fails:

- the database unreachable (or a statement past its timeout), as `community.outage.kind` tells: no
  traceback, one line through `outage.throttle` (shared with the 503s: at most one line every
  `outage.LOG_EVERY` seconds however many loops and requests meet the outage), and a pause that
  doubles from BACKOFF_FIRST up to BACKOFF_MOST seconds so a long outage is not hammered;
- anything else: the traceback, as before, and the loop's own pause.

`ok()` after a round that worked logs one line when the loop was failing: the database is back and
the loop carries on (its work waited in the database: outbox rows are deleted only once handled).
"""

from __future__ import annotations

import logging
import time

from community import outage

log = logging.getLogger("community")

BACKOFF_FIRST = 0.5  # seconds before the first retry in an outage
BACKOFF_MOST = 10.0  # the longest pause between two tries: the loop is back within this once the database is


class LoopGuard:
    """One loop's view of the database's health (see the module's docstring)."""

    def __init__(self, name: str) -> None:
        self.name = name  # "the search indexer": the log lines' subject
        self.failures = 0  # outage failures in a row
        self.since: float | None = None  # when the outage began, for this loop

    @property
    def in_outage(self) -> bool:
        return self.since is not None

    def failed(self, exc: BaseException, message: str, pause: float = 0.0) -> float:
        """Log this failure (call it inside the `except` block); returns the seconds to wait before the
        next try: the back-off in an outage, else `pause`."""
        what = outage.kind(exc)
        if what is None:
            log.error(message, exc_info=exc)
            return pause
        if self.since is None:
            self.since = time.monotonic()
        self.failures += 1
        outage.throttle.note(what, exc, self.name, then="retrying with back-off; nothing is lost")
        return self.pause(pause)

    def pause(self, pause: float = 0.0) -> float:
        """The wait before the next try: doubling from BACKOFF_FIRST while the outage lasts."""
        if not self.failures:
            return pause
        return max(pause, min(BACKOFF_MOST, BACKOFF_FIRST * 2 ** (self.failures - 1)))

    def ok(self) -> None:
        """A round worked: one line if the database had been away for this loop."""
        if self.since is None:
            return
        away, tries = time.monotonic() - self.since, self.failures
        self.since, self.failures = None, 0
        log.warning("database reachable again: %s carries on after %.0f s (%d tries failed; nothing was lost)",
                    self.name, away, tries)
