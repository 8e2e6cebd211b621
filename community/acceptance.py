"""The asker accepts the answer that solved it (and may switch or undo); one service does it all."""

from __future__ import annotations

from typing import Any

from community import db, events, privileges, reputation, settings
from community.errors import Invalid, NotAllowed, NotFound
from community.models import Post, User
from community.notifications import notify
from community.questions import bump_generation, get_question, lock_post, refresh_state
from search import outbox


async def _lock_question(question_id: Any, user: User, conn: Any) -> Post:
    q = await lock_post((await get_question(question_id, user, conn)).id, conn)  # first: the lock order is lock_post's
    if q.author_id != user.id:
        raise NotAllowed("Only the person who asked can accept an answer.")
    if q.locked or q.deleted_at is not None:
        raise NotAllowed("This question is locked; its accepted answer cannot change.")
    return q


async def _undo_accept(q: Post, conn: Any) -> Post | None:
    if not q.accepted_answer_id:
        return None
    old = await Post.filter(id=q.accepted_answer_id).using_db(conn).first()
    ref = f"accept:{q.id}"
    users = [q.author_id] + ([old.author_id] if old and old.author_id else [])
    await reputation.lock_users(users, conn)
    for uid in set(users):
        await reputation.undo(uid, ref, conn, q.id)
        await reputation.refresh_total(uid, conn)
    return old


@db.retried
async def accept(user: User | None, question_id: Any, answer_id: Any) -> Post:
    """Accept `answer_id`; idempotent. Accepting your own answer is allowed but earns nothing."""
    user = privileges.require_active(user)
    try:
        if isinstance(answer_id, (bool, float)):  # int() would quietly turn true into answer 1
            raise TypeError
        aid = int(answer_id)
    except (TypeError, ValueError):
        raise Invalid("answer_id", "Say which answer to accept.") from None
    async with db.transaction() as conn:
        q = await _lock_question(question_id, user, conn)
        ans = await Post.filter(id=aid, kind="answer").using_db(conn).first() if -2**31 < aid < 2**31 else None
        if ans is None or ans.question_id != q.id or not ans.visible:
            raise NotFound("That answer does not belong to this question.", "answer_id")
        if q.accepted_answer_id == ans.id:
            return ans
        # Lock everyone this may touch in one go, in id order: locking the previous answerer, then
        # the new one, in two steps could deadlock with a vote that locks them the other way round.
        people = [q.author_id, ans.author_id]
        if q.accepted_answer_id:
            people += [p.author_id for p in await Post.filter(id=q.accepted_answer_id).using_db(conn).only("id", "author_id")]
        await reputation.lock_users([uid for uid in people if uid], conn)
        old = await _undo_accept(q, conn)
        if ans.author_id and ans.author_id != q.author_id:
            await reputation.lock_users([q.author_id, ans.author_id], conn)
            ref = f"accept:{q.id}"
            if not ans.official:  # support staff answer as their job: no reputation for it
                await reputation.grant(ans.author_id, settings.get("rep.answer_accepted"), "accepted", ref, q.id, conn)
            await reputation.grant(q.author_id, settings.get("rep.asker_accepts"), "accepts", ref, q.id, conn)
            for uid in (ans.author_id, q.author_id):
                await reputation.refresh_total(uid, conn)
        await Post.filter(id=q.id).using_db(conn).update(accepted_answer_id=ans.id)
        await refresh_state(q.id, conn)
        await notify(ans.author_id, "accepted", f"Your answer was accepted: {q.title}",
                     f"/questions/{q.id}#answer-{ans.id}", conn, skip=user.id, question_id=q.id, post_id=ans.id)
        await outbox.enqueue(q.id, conn)
        if old is not None:
            await events.emit("answer_unaccepted", question=q, answer=old, conn=conn)
        await events.emit("answer_accepted", question=q, answer=ans, by=user, conn=conn)
    await bump_generation(q.id, people)  # the thread, and the reputation of everyone it moved
    return ans


@db.retried
async def unaccept(user: User | None, question_id: Any) -> None:
    user = privileges.require_active(user)
    async with db.transaction() as conn:
        q = await _lock_question(question_id, user, conn)
        old = await _undo_accept(q, conn)
        if old is None:
            return
        await Post.filter(id=q.id).using_db(conn).update(accepted_answer_id=None)
        await refresh_state(q.id, conn)
        await outbox.enqueue(q.id, conn)
        await events.emit("answer_unaccepted", question=q, answer=old, conn=conn)
    await bump_generation(q.id, [q.author_id, old.author_id])
