"""The community's tunable numbers: reputation points, privilege thresholds, limits, SLAs.

Each number is declared once here (or by the room that owns it, via `declare`) with its
default; a community overrides it with a row in the `community_setting` table. A value is
stored only once `validate` accepts it: the type of its default, the sign of its default (a
count or a number of minutes is never negative, a penalty never positive), and the rule its owner
declared (`declare(check=)`, or `rule(name, check)` from the module that reads it). Every change
bumps the settings generation (a row of `content_generation`), and each process re-reads the
stored values when that changed (`refresh`, at most every FOLLOW_SECONDS; `follow` is the loop),
so a change saved in one worker is in force in every worker and host within about a second.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("community.settings")

# A setting's own rule: returns the value to store (tidied, e.g. a colour in lower case) or raises
# community.errors.Invalid; validate names the setting as the error's field, whatever field it named.
Check = Callable[[Any], Any]


@dataclass(frozen=True)
class Tunable:
    name: str
    default: Any
    description: str
    group: str


DECLARED: dict[str, Tunable] = {}
CHECKS: dict[str, Check] = {}
# The console's sections, in this order, with what they are called; a group not named here shows after them.
GROUPS: dict[str, str] = {
    "reputation": "Reputation", "privileges": "Privileges", "new_members": "New members",
    "support": "SLA and business hours", "flags": "Flags and review", "limits": "Limits", "mail": "Mail",
    "brand": "Brand and time zone", "auth": "Sessions and sign-in", "ui": "Pages", "insights": "Insights",
    "spam": "Spam triage",
}
GENERATION_ROW = 2  # content_generation's row that every settings change bumps (row 1 is the content's)
FOLLOW_SECONDS = 1.0
LARGEST = 2**31 - 1  # a whole number a setting may hold: what a database integer column holds

_stored: dict[str, Any] = {}  # the table's overrides, as this process last read them
_local: dict[str, Any] = {}  # this process only (tests, demos); wins over the table
_known_generation: int | None = None
_checked_at = -math.inf
# Called after another process's change was read in (e.g. forget pages kept with the old values).
AFTER_RELOAD: list[Callable[[], None]] = []


def declare(name: str, default: Any, description: str, group: str = "general", check: Check | None = None) -> None:
    DECLARED[name] = Tunable(name, default, description, group)
    if check is not None:
        CHECKS[name] = check


def rule(name: str, check: Check) -> None:
    """Give an already declared setting its rule, from the module whose code reads the value."""
    CHECKS[name] = check


def group_label(group: str) -> str:
    return GROUPS.get(group, group.replace("_", " ").capitalize())


def get(name: str) -> Any:
    if name in _local:
        return _local[name]
    if name in _stored:
        return _stored[name]
    return DECLARED[name].default


def all_values() -> dict[str, Any]:
    return {name: get(name) for name in DECLARED}


# ---- rules ---------------------------------------------------------------------------------------

def between(low: float | None, high: float | None, unit: str = "") -> Check:
    """A rule: a number from `low` to `high` (either end open when None)."""
    def check(value: Any) -> Any:
        from community.errors import Invalid

        what = f" {unit}" if unit else ""
        if low is not None and value < low:
            raise Invalid(None, f"Give {low:g} or more{what}." if low else f"This cannot be negative: give 0 or more{what}.")
        if high is not None and value > high:
            raise Invalid(None, f"Give at most {high:,g}{what}.")
        return value

    return check


def _storable(name: str, value: Any) -> None:
    """What a JSON column holds and a database stores: finite numbers, text without refused characters."""
    from community import inputs
    from community.errors import Invalid

    stack, seen = [value], 0
    while stack:
        item = stack.pop()
        seen += 1
        if seen > 10_000:
            raise Invalid(name, "This value is too large to store as a setting.")
        if isinstance(item, float) and not math.isfinite(item):
            raise Invalid(name, "Numbers must be finite.")
        if isinstance(item, int) and not isinstance(item, bool) and abs(item) > 10**15:
            raise Invalid(name, f"{item} is too large a number for a setting.")
        if isinstance(item, str):
            inputs.check_text(name, item)
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            for k, v in item.items():
                inputs.check_text(name, k)
                stack.append(v)
        elif not (item is None or isinstance(item, (bool, int, float))):
            raise Invalid(name, "This is not a value a setting can hold.")


def _number(name: str, value: Any, whole: bool) -> int | float:
    from community.errors import Invalid

    kind = "a whole number" if whole else "a number"
    if isinstance(value, str):
        text = value.strip().replace(",", "") if len(value) < 40 else ""
        try:
            value = int(text) if whole else float(text)
        except ValueError:
            raise Invalid(name, f"{name} takes {kind}" + (f"; “{value.strip()[:40]}” is not one." if value.strip() else ".")) from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not math.isfinite(value)):
        raise Invalid(name, f"{name} takes {kind}.")
    if whole:
        if isinstance(value, float) and not value.is_integer():
            raise Invalid(name, f"{name} takes a whole number, not {value:g}.")
        value = int(value)
        if abs(value) > LARGEST:
            raise Invalid(name, f"{value} is too large for {name}.")
    return value


def validate(name: Any, value: Any) -> Any:
    """The value as it would be stored, or Invalid naming the setting (the field) and what is wrong."""
    from community.errors import Invalid

    if not isinstance(name, str) or name not in DECLARED:
        shown = name[:80] if isinstance(name, str) else name
        raise Invalid(name if isinstance(name, str) else "name", f"There is no setting called {shown!r}.")
    default = DECLARED[name].default
    _storable(name, value)
    if isinstance(default, bool):
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            value = value.strip().lower() == "true"
        if not isinstance(value, bool):
            raise Invalid(name, f"{name} takes true or false.")
    elif isinstance(default, (int, float)):
        value = _number(name, value, whole=isinstance(default, int))
        if name in CHECKS:
            pass  # its own rule says what range it takes
        elif default >= 0 and value < 0:
            raise Invalid(name, f"{name} cannot be negative: give 0 or more.")
        if default < 0 and value > 0:
            raise Invalid(name, f"{name} is a loss of reputation: give 0 or a negative number.")
    elif isinstance(default, str) and not isinstance(value, str):
        raise Invalid(name, f"{name} takes text.")
    elif isinstance(default, list) and not isinstance(value, list):
        raise Invalid(name, f"{name} takes a list, written in JSON like {json.dumps(default)}.")
    elif isinstance(default, dict) and not isinstance(value, dict):
        raise Invalid(name, f"{name} takes an object, written in JSON like {json.dumps(default)}.")
    check = CHECKS.get(name)
    if check is not None:
        try:
            value = check(value)
        except Invalid as err:
            raise Invalid(name, err.message) from None
    return value


# ---- storing and following -----------------------------------------------------------------------

async def _generation(conn: Any = None) -> int:
    from community import db

    rows = await db.fetch("SELECT value FROM content_generation WHERE id = ?", [GENERATION_ROW], conn)
    return int(rows[0]["value"]) if rows else 0


async def load() -> None:
    """Read the stored overrides into this process."""
    global _known_generation, _checked_at
    from community.models import CommunitySetting

    generation = await _generation()  # first: a change saved while the rows are read is read again next time
    stored = {}
    for row in await CommunitySetting.all():
        if row.name in DECLARED:
            try:
                stored[row.name] = json.loads(row.value)
            except ValueError:
                log.warning("setting %s holds %r, which is not JSON; its default is in force", row.name, row.value[:80])
    _stored.clear()
    _stored.update(stored)
    _known_generation, _checked_at = generation, time.monotonic()


async def refresh(force: bool = False) -> bool:
    """Re-read the stored values if any process changed them since this one last read them (one
    small query, at most every FOLLOW_SECONDS unless `force`). Returns whether they were read."""
    global _checked_at
    now = time.monotonic()
    if not force and now - _checked_at < FOLLOW_SECONDS:
        return False
    _checked_at = now
    if await _generation() == _known_generation:
        return False
    await load()
    for hook in AFTER_RELOAD:
        hook()
    return True


async def follow(every: float = FOLLOW_SECONDS) -> None:
    """Keep this process's settings in step with the table: what a worker's (or a command's) loop runs."""
    from community.loop_guard import LoopGuard
    from community.outage import kind

    guard = LoopGuard("the settings follower")  # an outage: one line, back-off, one line when it is back
    while True:
        pause = every
        try:
            await refresh(force=True)
            guard.ok()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database is away for a moment: the values in force stay, and the next look tries again
            if kind(exc) is None:
                log.warning("could not check for changed settings: %s", exc)
            else:
                pause = guard.failed(exc, "", every)
        await asyncio.sleep(pause)


Also = Callable[[dict[str, tuple[Any, Any]], Any], Awaitable[None]]


async def put_many(values: dict[str, Any], also: Also | None = None) -> dict[str, tuple[Any, Any]]:
    """Store these values, all or none: each is validated first (Invalid names the first one refused,
    and nothing is written). Returns {name: (old, new)} for those that changed, the old values read
    in the writing transaction; `also(changes, conn)` writes more in that transaction (the audit log).
    Every process takes them up within about a second (`refresh`); this one at once."""
    from community import db

    checked = {name: validate(name, value) for name, value in values.items()}
    changes: dict[str, tuple[Any, Any]] = {}
    present: set[str] = set()

    @db.retried
    async def write() -> None:
        changes.clear()
        present.clear()
        async with db.transaction() as conn:
            marks = ", ".join("?" * len(checked))
            for row in await db.fetch(f"SELECT name, value FROM community_setting WHERE name IN ({marks})", list(checked), conn):
                present.add(row["name"])
                try:
                    old = json.loads(row["value"])
                except ValueError:
                    old = row["value"]
                if old != checked[row["name"]]:
                    changes[row["name"]] = (old, checked[row["name"]])
            for name, new in checked.items():
                if name not in present and new != DECLARED[name].default:
                    changes[name] = (DECLARED[name].default, new)
            if not changes:
                return
            for name in sorted(changes):  # in name order: two admins' saves lock rows in one order
                await db.execute("INSERT INTO community_setting (name, value) VALUES (?, ?) "
                                 "ON CONFLICT (name) DO UPDATE SET value = excluded.value", [name, json.dumps(changes[name][1])], conn)
            await db.execute("INSERT INTO content_generation (id, value) VALUES (?, 1) "
                             "ON CONFLICT (id) DO UPDATE SET value = content_generation.value + 1", [GENERATION_ROW], conn)
            if also is not None:
                await also(dict(sorted(changes.items())), conn)

    if checked:
        await write()
    for name, new in checked.items():
        if name in present or name in changes:
            _stored[name] = new
        else:
            _stored.pop(name, None)  # no row, and the default was asked for
        _local.pop(name, None)
    return dict(sorted(changes.items()))


async def put(name: str, value: Any) -> Any:
    """Store one value (validated as `put_many` does); returns the value stored."""
    await put_many({name: value})
    return get(name)


def reset_overrides() -> None:
    """Forget every value this process holds (tests: each starts from the defaults and a new database)."""
    global _known_generation, _checked_at
    _stored.clear()
    _local.clear()
    _known_generation, _checked_at = None, -math.inf


def override(name: str, value: Any) -> None:
    """Set a value in this process only (tests, demos)."""
    _local[name] = value


# Reputation (Stack Exchange's current rules).
declare("rep.answer_upvoted", 10, "Reputation an answer's author gains per upvote", "reputation")
declare("rep.question_upvoted", 10, "Reputation a question's author gains per upvote", "reputation")
declare("rep.post_downvoted", -2, "Reputation a post's author loses per downvote", "reputation")
declare("rep.answer_downvote_cost", -1, "Reputation a voter spends to downvote an answer", "reputation")
declare("rep.answer_accepted", 15, "Reputation for the author of an accepted answer", "reputation")
declare("rep.asker_accepts", 2, "Reputation for the asker who accepts an answer", "reputation")
declare("rep.daily_vote_cap", 200, "Most reputation gained from votes in one UTC day", "reputation")
declare("rep.spam_penalty", -100, "Reputation lost when a post is confirmed spam", "reputation")
# Named ranks (community.ranks): [the reputation a rank starts at, its name], lowest first.
declare("rep.ranks", [[1, "Newcomer"], [50, "Member"], [200, "Regular"], [1000, "Trusted"], [5000, "Expert"], [20000, "Legend"]],
        "Named ranks: the reputation each starts at and its name, lowest first", "reputation")

# Privileges (Stack Exchange's defaults).
declare("priv.upvote", 15, "Vote up", "privileges")
declare("priv.flag", 15, "Flag posts", "privileges")
declare("priv.comment", 50, "Comment everywhere", "privileges")
declare("priv.downvote", 125, "Vote down", "privileges")
declare("priv.review", 500, "Access review queues", "privileges")
declare("priv.edit", 2000, "Edit any post without review", "privileges")
declare("priv.close", 3000, "Cast close and reopen votes", "privileges")
declare("priv.moderate", 10000, "Moderator tools", "privileges")

# New members and abuse limits.
declare("limit.new_member_rep", 10, "Below this reputation a member counts as new", "new_members")
declare("limit.new_member_questions_per_day", 3, "Questions a new member may ask in their first day", "new_members")
declare("limit.new_member_answers_per_day", 10, "Answers a new member may post in their first day", "new_members")
declare("limit.new_member_links", 2, "Links a new member may put in one post", "new_members")
# Log-in slows down, never locks: failures are counted per account and address pair (and, more
# generously, per address), and past the free ones each try must wait (community.accounts).
declare("limit.login_failures_per_pair", 5, "Failed log-ins to one account from one address in an hour before tries must wait", "limits")
declare("limit.login_failures_per_address", 20, "Failed log-ins from one address (any accounts) in an hour before tries must wait", "limits")
declare("limit.login_wait_seconds", 15, "Wait after the first failure past those; it doubles with each further failure", "limits")
declare("limit.login_max_wait_seconds", 300, "The longest wait between log-in tries", "limits")
# Write rate limits per member and per network address, per hour (community.ratelimit; 0: no limit).
# Moderators and staff are not limited.
declare("limit.questions_per_hour", 10, "Questions one member may ask in an hour", "limits")
declare("limit.questions_per_hour_per_address", 30, "Questions that may be asked from one network address in an hour", "limits")
declare("limit.answers_per_hour", 30, "Answers one member may post in an hour", "limits")
declare("limit.answers_per_hour_per_address", 90, "Answers that may be posted from one network address in an hour", "limits")
declare("limit.comments_per_hour", 60, "Comments one member may post in an hour", "limits")
declare("limit.comments_per_hour_per_address", 180, "Comments that may be posted from one network address in an hour", "limits")
declare("limit.votes_per_hour", 120, "Votes (cast, changed or taken back) one member may make in an hour", "limits")
declare("limit.flags_per_hour", 30, "Flags one member may raise in an hour", "limits")
declare("limit.flags_per_hour_per_address", 60, "Flags that may be raised from one network address in an hour", "limits")
declare("limit.signups_per_hour_per_address", 10, "Accounts that may be created from one network address in an hour", "limits")
declare("limit.deflections_per_hour", 20, "'This solved my problem' reports one member may send in an hour", "limits")
declare("limit.deflections_per_hour_per_address", 30, "'This solved my problem' reports from one network address in an hour", "limits")
declare("limit.confirmations_per_hour", 5, "Address confirmation mails (sent again, or for a new address) one member may ask for in an hour", "limits")
declare("limit.confirmations_per_hour_per_address", 20, "Address confirmation mails that may be asked for from one network address in an hour", "limits")

# Support escalation.
declare("sla.first_answer_minutes", 60, "Minutes a question may wait for a first answer before escalation", "support")
declare("sla.tag_minutes", {"billing": 15}, "Per-tag first-answer SLA overrides, in minutes", "support")
declare("sla.business_hours", None, "Business hours during which the SLA clock runs, or none", "support")
declare("sla.claim_minutes", 30, "Minutes a ticket may wait to be claimed", "support")
declare("sla.first_reply_minutes", 120, "Minutes a ticket may wait for a first staff reply", "support")

# Sessions and API tokens.
declare("auth.token_days", 90, "Days an API token works after it is issued", "auth")
declare("auth.seen_every_minutes", 5, "Minutes between updates of a session's last-seen and a token's last-used time", "auth")
declare("auth.password_change_failures", 5, "Wrong current passwords a member may give in an hour when changing it", "auth")
declare("ui.unread_poll_seconds", 45, "Seconds between a member's page asking for its unread count (only while it is visible)", "ui")

# Rules past a number's sign (validate). The formats of the per-tag SLAs, the business hours and the
# ranks are checked by the code that reads them (community/support/policy.py, community/ranks.py).
MAX_SLA_MINUTES = 525_600  # a year: past it a deadline is no deadline
for _name in ("sla.first_answer_minutes", "sla.claim_minutes", "sla.first_reply_minutes"):
    rule(_name, between(1, MAX_SLA_MINUTES, "minutes"))
rule("auth.token_days", between(1, 3650, "days"))
rule("auth.seen_every_minutes", between(1, 1440, "minutes"))
rule("auth.password_change_failures", between(1, None))
rule("ui.unread_poll_seconds", between(1, 86_400, "seconds"))
