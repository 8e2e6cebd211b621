"""Watching: a member follows a question (automatically when they ask, answer or comment, or with
the button) or a tag. Stopping is remembered, so taking part again later does not restart it."""

from __future__ import annotations

from typing import Any

from community import clock, db
from community.errors import Invalid, NotFound
from community.models import Post, QuestionWatch, Tag, TagWatch, User

MAX_TAG_WATCHES = 100
MAX_QUESTION_WATCHES = 1000
TAG_MAX = 35  # Tag.name's length (community.questions.TAG_RE)


async def auto_watch(user_id: int, question_id: int, conn: Any) -> None:
    """Start watching because the member took part, unless they once stopped (the row is kept)."""
    # ON CONFLICT: a concurrent write that made the row first must not abort the caller's transaction.
    await db.execute("INSERT INTO question_watch (user_id, question_id, active, created_at) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT (user_id, question_id) DO NOTHING", [user_id, question_id, True, clock.now()], conn)


async def set_question(user: User, question_id: int, watching: bool, conn: Any = None) -> bool:
    """The watch button: start or stop watching one question."""
    await db.execute("INSERT INTO question_watch (user_id, question_id, active, created_at) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT (user_id, question_id) DO UPDATE SET active = excluded.active",
                     [user.id, question_id, watching, clock.now()], conn)
    return watching


async def question_watchers(question_id: int, conn: Any = None) -> list[int]:
    rows = await QuestionWatch.filter(question_id=question_id, active=True).using_db(conn).values_list("user_id", flat=True)
    return sorted(rows)


async def _tag(name: Any, conn: Any = None) -> Tag:
    if not isinstance(name, str) or not name.strip():
        raise Invalid("tags", "Name the tag to watch.")
    key = name.strip().lower()
    tag = await Tag.filter(name=key).using_db(conn).first() if len(key) <= TAG_MAX else None
    if tag is None:
        raise NotFound(f"There is no tag {name.strip()[:35]!r}.")
    return tag


async def set_tag(user: User, name: Any, watching: bool, conn: Any = None) -> bool:
    tag = await _tag(name, conn)
    if not watching:
        await TagWatch.filter(user_id=user.id, tag_id=tag.id).using_db(conn).delete()
        return False
    if await TagWatch.filter(user_id=user.id, tag_id=tag.id).using_db(conn).exists():
        return True
    if await TagWatch.filter(user_id=user.id).using_db(conn).count() >= MAX_TAG_WATCHES:
        raise Invalid("tags", f"You can watch at most {MAX_TAG_WATCHES} tags; stop watching one first.")
    await db.execute("INSERT INTO tag_watch (user_id, tag_id, created_at) VALUES (?, ?, ?) "
                     "ON CONFLICT (user_id, tag_id) DO NOTHING", [user.id, tag.id, clock.now()], conn)
    return True


async def watching_tag(user: User | None, name: str) -> bool:
    if user is None:
        return False
    return await TagWatch.filter(user_id=user.id, tag__name=name).exists()


async def watched_tags(user: User, conn: Any = None) -> list[str]:
    return sorted(await TagWatch.filter(user_id=user.id).using_db(conn).values_list("tag__name", flat=True))


async def watched_questions(user: User, conn: Any = None) -> list[dict[str, Any]]:
    rows = await (QuestionWatch.filter(user_id=user.id, active=True, question__deleted_at=None, question__hidden=False)
                  .using_db(conn).order_by("-id").limit(MAX_QUESTION_WATCHES).values("question_id", "question__title"))
    return [{"id": r["question_id"], "title": r["question__title"]} for r in rows]


async def watches(user: User, conn: Any = None) -> dict[str, Any]:
    return {"questions": await watched_questions(user, conn), "tags": await watched_tags(user, conn)}


def _ids(value: Any) -> list[int]:
    if not isinstance(value, list) or len(value) > MAX_QUESTION_WATCHES:
        raise Invalid("questions", f"Send questions as a list of at most {MAX_QUESTION_WATCHES} question ids.")
    ids: list[int] = []
    for item in value:
        qid = item.get("id") if isinstance(item, dict) else item
        if isinstance(qid, bool) or not isinstance(qid, int) or not -2**31 < qid < 2**31:
            raise Invalid("questions", "Each question is an id (a whole number).")
        ids.append(qid)
    return sorted(set(ids))


def _names(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_TAG_WATCHES:
        raise Invalid("tags", f"Send tags as a list of at most {MAX_TAG_WATCHES} tag names.")
    if not all(isinstance(n, str) for n in value):
        raise Invalid("tags", "Each tag is a name (text).")
    names = sorted({n.strip().lower() for n in value if n.strip()})
    too_long = [n for n in names if len(n) > TAG_MAX]
    if too_long:
        raise Invalid("tags", f"There is no tag {too_long[0][:40]!r}: tag names are at most {TAG_MAX} characters.")
    return names


async def replace(user: User, body: Any) -> dict[str, Any]:
    """PUT /api/v1/me/watches: the lists given become the member's watches (a list left out is kept)."""
    if not isinstance(body, dict):
        raise Invalid("questions", "Send {\"questions\": [ids], \"tags\": [names]}.")
    async with db.transaction() as conn:
        if "tags" in body:
            names = _names(body["tags"])
            tags = {t.name: t.id for t in await Tag.filter(name__in=names).using_db(conn)} if names else {}
            missing = [n for n in names if n not in tags]
            if missing:
                raise Invalid("tags", f"There is no tag {missing[0][:35]!r}.")
            await TagWatch.filter(user_id=user.id).exclude(tag_id__in=list(tags.values()) or [0]).using_db(conn).delete()
            have = set(await TagWatch.filter(user_id=user.id).using_db(conn).values_list("tag_id", flat=True))
            for tag_id in sorted(set(tags.values()) - have):
                await db.execute("INSERT INTO tag_watch (user_id, tag_id, created_at) VALUES (?, ?, ?) "
                                 "ON CONFLICT (user_id, tag_id) DO NOTHING", [user.id, tag_id, clock.now()], conn)
        if "questions" in body:
            ids = _ids(body["questions"])
            found = set(await Post.filter(id__in=ids, kind="question", deleted_at=None, hidden=False)
                        .using_db(conn).values_list("id", flat=True)) if ids else set()
            missing_q = [i for i in ids if i not in found]
            if missing_q:
                raise Invalid("questions", f"There is no question with id {missing_q[0]}.")
            await QuestionWatch.filter(user_id=user.id, active=True).exclude(question_id__in=ids or [0]).using_db(conn).update(active=False)
            for qid in ids:
                await set_question(user, qid, True, conn)
    return await watches(user)
