"""Up and down votes: one per member per post, changeable and retractable, with reputation."""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from community import clock, db, events, privileges, ratelimit, reputation, settings
from community.errors import Conflict, Invalid, NotAllowed
from community.models import Post, User, Vote
from community.questions import bump_generation, get_post, lock_post
from search import outbox


def _amounts(post: Post, value: int) -> list[tuple[str, int, str]]:
    """(who, amount, reason) for a vote of `value` on `post`; who is 'author' or 'voter'."""
    if value == 1:
        key = "rep.question_upvoted" if post.is_question else "rep.answer_upvoted"
        return [("author", settings.get(key), reputation.CAPPED_REASON)]
    out = [("author", settings.get("rep.post_downvoted"), "downvoted")]
    if not post.is_question:
        out.append(("voter", settings.get("rep.answer_downvote_cost"), "downvote_cast"))
    return out


def parse_value(value: Any) -> int:
    if isinstance(value, bool) or value not in (1, -1, 0, "1", "-1", "0"):
        raise Invalid("value", "A vote is 1 (up), -1 (down) or 0 (take your vote back).")
    return int(value)


async def vote(user: User | None, post_id: Any, value: Any, *, address: str | None = None) -> int:
    """Cast, change or retract (value 0) a vote; returns the post's new score. `address`: the client's,
    when the vote comes from a request (rate limited)."""
    value = parse_value(value)
    user = privileges.require_active(user)
    if value == 1:
        privileges.require(user, "upvote")
    elif value == -1:
        privileges.require(user, "downvote")
    for attempt in range(3):
        try:
            return await _vote_once(user, post_id, value, address)
        except IntegrityError:
            if attempt == 2:
                raise Conflict("Your vote clashed with another one; please try again.") from None
    raise AssertionError("unreachable")


@db.retried
async def _vote_once(user: User, post_id: Any, value: int, address: str | None) -> int:
    async with db.transaction() as conn:
        post = await get_post(post_id, user, conn)
        # The lock order (questions.lock_post): the post's row first, then its people in one call.
        post = await lock_post(post.id, conn)
        if post.author_id == user.id:
            raise NotAllowed("You cannot vote on your own post.")
        question = post if post.is_question else await Post.filter(id=post.question_id).using_db(conn).first()
        if question.locked or post.locked:
            raise NotAllowed("This post is locked; votes are closed.")
        involved = [user.id] + ([post.author_id] if post.author_id else [])
        await reputation.lock_users(involved, conn)
        existing = await Vote.filter(post_id=post.id, voter_id=user.id).using_db(conn).first()
        old = existing.value if existing else 0
        if old != value:
            await ratelimit.spend("vote", user, address, conn)
            ref = f"vote:{post.id}:{user.id}"
            if old:
                for uid in set(involved):
                    await reputation.undo(uid, ref, conn, post.id)
            if value:
                for who, amount, reason in _amounts(post, value):
                    uid = post.author_id if who == "author" else user.id
                    if uid is not None and not (who == "author" and post.official):  # staff earn no reputation
                        await reputation.grant(uid, amount, reason, ref, post.id, conn)
            if existing and value:
                await Vote.filter(id=existing.id).using_db(conn).update(value=value, created_at=clock.now())
            elif existing:
                await Vote.filter(id=existing.id).using_db(conn).delete()
            else:
                await Vote.create(post_id=post.id, voter_id=user.id, value=value, created_at=clock.now(), using_db=conn)
            await Post.filter(id=post.id).using_db(conn).update(score=F("score") + (value - old))
            for uid in set(involved):
                await reputation.refresh_total(uid, conn)
            await outbox.enqueue(question.id, conn)
            await events.emit("vote_cast", post=post, voter=user, value=value, before=old, conn=conn)
        score = (await Post.filter(id=post.id).using_db(conn).only("score").first()).score
    # The thread, and the reputation of the voter and the post's author wherever they post.
    await bump_generation(question.id, involved)
    return score
