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
declare("limit.login_failures_per_account", 5, "Failed logins per account per 15 minutes", "limits")
declare("limit.login_failures_per_ip", 20, "Failed logins per address per 15 minutes", "limits")

# Support escalation.
declare("sla.first_answer_minutes", 60, "Minutes a question may wait for a first answer before escalation", "support")
declare("sla.tag_minutes", {"billing": 15}, "Per-tag first-answer SLA overrides, in minutes", "support")
declare("sla.business_hours", None, "Business hours during which the SLA clock runs, or none", "support")
declare("sla.claim_minutes", 30, "Minutes a ticket may wait to be claimed", "support")
declare("sla.first_reply_minutes", 120, "Minutes a ticket may wait for a first staff reply", "support")
