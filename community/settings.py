"""The community's tunable numbers: reputation points, privilege thresholds, limits, SLAs.

Each number is declared once here (or by the room that owns it, via `declare`) with its
default; a community overrides it with a row in the `community_setting` table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Tunable:
    name: str
    default: Any
    description: str
    group: str


DECLARED: dict[str, Tunable] = {}
_overrides: dict[str, Any] = {}


def declare(name: str, default: Any, description: str, group: str = "general") -> None:
    DECLARED[name] = Tunable(name, default, description, group)


def get(name: str) -> Any:
    if name in _overrides:
        return _overrides[name]
    return DECLARED[name].default


def all_values() -> dict[str, Any]:
    return {name: get(name) for name in DECLARED}


async def load() -> None:
    """Read the stored overrides into this process."""
    from community.models import CommunitySetting

    _overrides.clear()
    for row in await CommunitySetting.all():
        if row.name in DECLARED:
            _overrides[row.name] = json.loads(row.value)


async def put(name: str, value: Any) -> None:
    from community.errors import Invalid
    from community.models import CommunitySetting

    if name not in DECLARED:
        raise Invalid("name", f"There is no setting called {name!r}.")
    default = DECLARED[name].default
    if isinstance(default, bool) and not isinstance(value, bool):
        raise Invalid("value", f"{name} takes true or false.")
    if isinstance(default, int) and not isinstance(default, bool):
        try:
            value = int(value)
        except (TypeError, ValueError):
            raise Invalid("value", f"{name} takes a whole number.") from None
    await CommunitySetting.update_or_create(name=name, defaults={"value": json.dumps(value)})
    _overrides[name] = value


def reset_overrides() -> None:
    _overrides.clear()


def override(name: str, value: Any) -> None:
    """Set a value in this process only (tests, demos)."""
    _overrides[name] = value


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
declare("limit.new_member_rep", 10, "Below this reputation a member counts as new", "limits")
declare("limit.new_member_questions_per_day", 3, "Questions a new member may ask in their first day", "limits")
declare("limit.new_member_answers_per_day", 10, "Answers a new member may post in their first day", "limits")
declare("limit.new_member_links", 2, "Links a new member may put in one post", "limits")
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
