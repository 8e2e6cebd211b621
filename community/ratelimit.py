"""Write rate limits: how many questions, answers, comments, votes, flags, sign-ups and deflection reports a
member, or one network address, may make in an hour, counted in `rate_event` rows.

Only writes that come from a request are limited (the services take the client's address then);
demo loading, imports and other internal writes pass no address and are not counted. Moderators and
staff are never limited. A limit of 0 turns that limit off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tortoise.functions import Count

from community import clock, settings
from community.errors import TooMany
from community.models import LoginFailure, RateEvent, User

WINDOW = timedelta(hours=1)
PRUNE_EVERY = 500  # inserts between two deletions of rows older than any window


@dataclass(frozen=True)
class Rule:
    member_setting: str | None  # limit per member and hour
    address_setting: str | None  # limit per network address and hour
    thing: str  # "question"; the plural adds an s
    done: str  # "posted"
    again: str  # "post again"

    def things(self, n: int) -> str:
        return f"{n} {self.thing}{'' if n == 1 else 's'}"


RULES: dict[str, Rule] = {
    "question": Rule("limit.questions_per_hour", "limit.questions_per_hour_per_address", "question", "posted", "post again"),
    "answer": Rule("limit.answers_per_hour", "limit.answers_per_hour_per_address", "answer", "posted", "post again"),
    "comment": Rule("limit.comments_per_hour", "limit.comments_per_hour_per_address", "comment", "posted", "comment again"),
    "vote": Rule("limit.votes_per_hour", None, "vote", "cast", "vote again"),
    "signup": Rule(None, "limit.signups_per_hour_per_address", "account", "created", "sign up again"),
    "flag": Rule("limit.flags_per_hour", "limit.flags_per_hour_per_address", "flag", "raised", "flag again"),
    "deflection": Rule("limit.deflections_per_hour", "limit.deflections_per_hour_per_address",
                       "'solved my problem' report", "sent", "send more"),
    "confirmation": Rule("limit.confirmations_per_hour", "limit.confirmations_per_hour_per_address",
                         "confirmation mail", "asked for", "ask again"),
}

_inserts = 0


def exempt(user: User | int | None) -> bool:
    return isinstance(user, User) and (user.is_moderator or user.is_staff)


def in_words(seconds: float) -> str:
    """A wait as a person says it: "45 seconds", "12 minutes", "2 hours"."""
    seconds = max(1, math.ceil(seconds))
    if seconds < 60:
        n, unit = seconds, "second"
    elif seconds < 2 * 3600:
        n, unit = math.ceil(seconds / 60), "minute"
    else:
        n, unit = math.ceil(seconds / 3600), "hour"
    return f"{n} {unit}{'s' if n != 1 else ''}"


def _checks(action: str, user: User | int | None, address: str) -> list[tuple[str, int, bool]]:
    """(key, limit, is the member's own) for each limit that applies."""
    rule = RULES[action]
    out = []
    if user is not None and rule.member_setting:
        uid = user.id if isinstance(user, User) else int(user)
        out.append((f"{action}:user:{uid}", int(settings.get(rule.member_setting)), True))
    if address and rule.address_setting:
        out.append((f"{action}:ip:{address[:100]}", int(settings.get(rule.address_setting)), False))
    return [c for c in out if c[1] > 0]


async def spend(action: str, user: User | int | None, address: str | None, conn: Any = None) -> None:
    """Count one `action` by `user` (a member, or a member's id) from `address`, or raise TooMany
    (with `retry_after`) when the member or the address is at its limit for the last hour.
    `address` None: not from a request, nothing is counted."""
    if address is None or exempt(user):
        return
    checks = _checks(action, user, address)
    if not checks:
        return
    now = clock.now()
    since = now - WINDOW  # an action exactly an hour old no longer counts
    # One COUNT over the (key, at) index for every key, then one insert.
    rows = await (RateEvent.filter(key__in=[c[0] for c in checks], at__gt=since).using_db(conn)
                  .annotate(n=Count("id")).group_by("key").values("key", "n"))
    counts = {r["key"]: int(r["n"]) for r in rows}
    for key, limit, own in checks:
        n = counts.get(key, 0)
        if n >= limit:
            wait = await _retry_after(key, n - limit, since, conn)
            raise TooMany(_message(RULES[action], limit, own, wait), retry_after=wait)
    await RateEvent.bulk_create([RateEvent(key=key, at=now) for key, _, _ in checks], using_db=conn)
    await _maybe_prune(len(checks), conn)


async def _retry_after(key: str, skip: int, since: Any, conn: Any) -> int:
    """Seconds until the key's count in the window falls below its limit (the oldest events age out)."""
    first = await (RateEvent.filter(key=key, at__gt=since).using_db(conn).order_by("at")
                   .offset(skip).limit(1).values_list("at", flat=True))
    if not first:
        return 1
    return max(1, math.ceil((first[0] + WINDOW - clock.now()).total_seconds()))


def _message(rule: Rule, limit: int, own: bool, wait: int) -> str:
    when = f"you can {rule.again} in {in_words(wait)}."
    if own:
        return f"You have {rule.done} {rule.things(limit)} in the last hour; {when}"
    return (f"{rule.things(limit)} {'has' if limit == 1 else 'have'} been {rule.done} from your network address "
            f"in the last hour; {when}")


async def _maybe_prune(added: int, conn: Any) -> None:
    global _inserts
    _inserts += added
    if _inserts >= PRUNE_EVERY:
        _inserts = 0
        await prune(conn)


async def prune(conn: Any = None) -> int:
    """Delete counted actions and failed log-ins older than any window; returns how many went."""
    from community.accounts import FAILURE_WINDOW

    now = clock.now()
    gone = await RateEvent.filter(at__lt=now - WINDOW).using_db(conn).delete()
    gone += await LoginFailure.filter(at__lt=now - FAILURE_WINDOW).using_db(conn).delete()
    return gone
