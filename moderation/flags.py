"""Flags: members point moderators at spam, abuse and problems; weighted flags hide a post.

A flag's weight comes from the flagger's standing, fixed when the flag is raised:
    base + min(rep_cap, reputation // 1000 * per_1000_rep)
         + min(helpful_cap, helpful * per_helpful) - declined * per_declined,  at least weight_min.
A moderator's spam or abuse flag weighs the whole hide threshold, so it hides the post at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError

from community import clock, db, privileges, questions, ratelimit, settings
from community.errors import Conflict, Invalid, NotAllowed, NotFound
from community.models import User
from moderation import audit
from moderation.models import FLAG_REASONS, Flag
from moderation.posts import _hide, load_post, open_item

HIDING_REASONS = ("spam", "rude")
REASON_TITLES = {"spam": "spam", "rude": "rude or abusive", "off_topic": "off-topic", "moderator": "needs a moderator"}
MESSAGE_MIN, MESSAGE_MAX = 10, 500


@dataclass(frozen=True)
class Standing:
    """A flagger's record, and what it makes their next flag weigh."""

    helpful: int
    declined: int
    weight: int


def weight_for(user: User, helpful: int, declined: int) -> int:
    if user.is_moderator:
        return int(settings.get("flag.hide_threshold"))
    rep_bonus = min(int(settings.get("flag.weight_rep_cap")), user.reputation // 1000 * int(settings.get("flag.weight_per_1000_rep")))
    accuracy = min(int(settings.get("flag.weight_helpful_cap")), helpful * int(settings.get("flag.weight_per_helpful")))
    accuracy -= declined * int(settings.get("flag.weight_per_declined"))
    return max(int(settings.get("flag.weight_min")), int(settings.get("flag.weight_base")) + rep_bonus + accuracy)


async def standing(user: User, conn: Any = None) -> Standing:
    rows = await db.fetch(
        "SELECT status, COUNT(*) AS n FROM moderation_flag WHERE flagger_id = ? AND status <> 'pending' GROUP BY status",
        [user.id], conn,
    )
    counts = {r["status"]: int(r["n"]) for r in rows}
    helpful, declined = counts.get("helpful", 0), counts.get("declined", 0)
    return Standing(helpful, declined, weight_for(user, helpful, declined))


async def hiding_weight(post_id: int, conn: Any = None) -> int:
    rows = await db.fetch(
        "SELECT COALESCE(SUM(weight), 0) AS total FROM moderation_flag "
        "WHERE post_id = ? AND status = 'pending' AND reason IN ('spam', 'rude')",
        [post_id], conn,
    )
    return int(rows[0]["total"])


def _check(reason: Any, message: Any) -> tuple[str, str]:
    if reason not in FLAG_REASONS:
        raise Invalid("reason", "Choose why you are flagging: spam, rude or abusive, off-topic, or needs a moderator.")
    if message is None:
        message = ""
    if not isinstance(message, str):
        raise Invalid("message", "The message must be text.")
    message = message.strip()
    if reason == "moderator" and len(message) < MESSAGE_MIN:
        raise Invalid("message", f"Tell the moderators what is wrong in at least {MESSAGE_MIN} characters.")
    if len(message) > MESSAGE_MAX:
        raise Invalid("message", f"Keep the message to {MESSAGE_MAX} characters (it has {len(message)}).")
    return reason, message


async def raise_flag(user: User | None, post_id: Any, reason: Any, message: Any = "", *,
                     address: str | None = None) -> tuple[Flag, bool]:
    """Flag a post; returns the flag and whether the post is now hidden. `address`: the client's, when
    the flag comes through a request (rate limited per member and address, community.ratelimit)."""
    user = privileges.require(user, "flag")
    reason, message = _check(reason, message)
    try:
        async with db.transaction() as conn:
            # The post row is locked so that concurrent flags add up one after another.
            post = await load_post(post_id, conn, for_update=True)
            if post.deleted_at is not None or not questions.can_see(post, user):
                raise NotFound("There is no post with that id; it may have been deleted.")
            if post.author_id == user.id:
                raise NotAllowed("You cannot flag your own post; edit or delete it instead.")
            if await Flag.filter(post_id=post.id, flagger_id=user.id).using_db(conn).exists():
                raise Conflict("You have already flagged this post; moderators will look at it.")
            await ratelimit.spend("flag", user, address, conn)
            weight = (await standing(user, conn)).weight
            flag = await Flag.create(post_id=post.id, flagger_id=user.id, reason=reason, message=message,
                                     weight=weight, created_at=clock.now(), using_db=conn)
            await open_item("flagged", post, conn, note=f"Flagged as {REASON_TITLES[reason]}")
            await audit.record(user, "flag", conn, post_id=post.id, user_id=post.author_id,
                               reason=f"{REASON_TITLES[reason]}" + (f": {message}" if message else ""))
            hidden_now = False
            if reason in HIDING_REASONS and not post.hidden:
                threshold = int(settings.get("flag.hide_threshold"))
                total = await hiding_weight(post.id, conn)
                if total >= threshold:
                    if user.is_moderator:
                        hidden_now = await _hide(post, user, f"Moderator flagged it as {REASON_TITLES[reason]}", conn)
                    else:
                        hidden_now = await _hide(post, None, f"Weighted spam and abuse flags reached {total} "
                                                             f"(threshold {threshold})", conn, action="auto_hide")
    except IntegrityError:
        raise Conflict("You have already flagged this post; moderators will look at it.") from None
    if hidden_now:
        await questions.bump_generation()
    return flag, post.hidden or hidden_now


async def flags_on(post_ids: list[int], conn: Any = None) -> dict[int, list[Flag]]:
    out: dict[int, list[Flag]] = {pid: [] for pid in post_ids}
    for f in await Flag.filter(post_id__in=post_ids).using_db(conn).select_related("flagger").order_by("id"):
        out[f.post_id].append(f)
    return out
