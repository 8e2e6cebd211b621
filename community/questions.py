"""Asking, answering, commenting and editing; reading threads and question lists."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from community import clock, db, events, mentions, notifications, privileges, question_lists, ratelimit, settings, uploads, watches
from community.errors import Invalid, NotAllowed, NotFound
from community.models import Comment, ContentGeneration, Post, Tag, User
from community.notifications import notify
from community.rendering import count_links, image_tags, markdown
from search import outbox

TITLE_MIN, TITLE_MAX = 15, 150
BODY_MIN, BODY_MAX = 20, 30000
ANSWER_MIN = 20
COMMENT_MIN, COMMENT_MAX = 2, 600
TAG_RE = re.compile(r"^[a-z0-9+#.-]{1,35}$")
SORTS = ("newest", "active", "unanswered", "unsolved", "votes")
PAGE_SIZE = 20


def _text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid(name, f"The {name} must be text.")
    return value


def check_title(value: Any) -> str:
    title = " ".join(_text(value, "title").split())
    if len(title) < TITLE_MIN:
        raise Invalid("title", f"Write a title of at least {TITLE_MIN} characters that sums up the problem.")
    if len(title) > TITLE_MAX:
        raise Invalid("title", f"Keep the title to {TITLE_MAX} characters (it has {len(title)}).")
    return title


def check_body(value: Any, minimum: int = BODY_MIN, name: str = "body") -> str:
    body = _text(value, name).strip()
    if len(body) < minimum:
        raise Invalid(name, f"Write at least {minimum} characters so others can help.")
    if len(body) > BODY_MAX:
        raise Invalid(name, f"Keep it to {BODY_MAX} characters (it has {len(body)}).")
    return body


def parse_tags(value: Any) -> list[str]:
    if isinstance(value, str):
        raw = value.replace(",", " ").split()
    elif isinstance(value, list) and all(isinstance(t, str) for t in value):
        raw = [t.strip() for t in value if t.strip()]
    elif value is None:
        raw = []
    else:
        raise Invalid("tags", "Tags must be a list of words.")
    tags: list[str] = []
    for tag in raw:
        tag = tag.lower()
        if not TAG_RE.match(tag):
            raise Invalid("tags", f"The tag {tag[:40]!r} may use only a-z, 0-9 and + # . - (at most 35 characters).")
        if tag not in tags:
            tags.append(tag)
    if not tags:
        raise Invalid("tags", "Add at least one tag, such as 'esim' or 'roaming'.")
    if len(tags) > 5:
        raise Invalid("tags", "Use at most 5 tags.")
    return tags


def _check_links(user: User, html: str, name: str) -> None:
    if user.reputation < settings.get("limit.new_member_rep") and not user.is_moderator and not user.is_staff:
        allowed = settings.get("limit.new_member_links")
        # A picture counts as a link: both are what a spammer's first post carries.
        if count_links(html) + len(image_tags(html)) > allowed:
            raise Invalid(name, f"New members may include at most {allowed} links or pictures in a post. Earn "
                                f"{settings.get('limit.new_member_rep')} reputation to post more.")


async def render(text: str, user: User | None = None, conn: Any = None) -> tuple[str, list[User]]:
    """A post's text as it is stored (and previewed): Markdown, sanitised, uploaded images sized, @names
    linked. With `user`, the new-member link limit is checked first: a mention is not a link of theirs."""
    html = await uploads.sized(markdown(text), conn)
    if user is not None:
        _check_links(user, html, "body")
    return await mentions.link(html, conn)


async def preview(user: User | None, body: Any) -> str:
    """The composer's live preview: the very HTML `render` would store; no length minimum while typing."""
    privileges.require_active(user)
    html, _ = await render(check_body(body, 0))
    return html


def question_errors(title: Any, body: Any, tags: Any) -> dict[str, str]:
    """Every field's message at once (the ask page shows them together); {} when each field passes."""
    errors: dict[str, str] = {}
    for name, check, value in (("title", check_title, title), ("body", check_body, body), ("tags", parse_tags, tags)):
        try:
            check(value)
        except Invalid as err:
            errors[err.field or name] = err.message
    return errors


async def _check_daily_limit(user: User, kind: str) -> None:
    if user.reputation >= settings.get("limit.new_member_rep") or user.is_moderator or user.is_staff:
        return
    now = clock.now()
    if (now - user.created_at).total_seconds() > 86400:
        return
    limit = settings.get(f"limit.new_member_{kind}s_per_day")
    if await Post.filter(author_id=user.id, kind=kind).count() >= limit:
        raise NotAllowed(f"New members may post {limit} {kind}s in their first day. "
                         "Please come back tomorrow, or earn reputation first.")


_local_bumps = 0


async def bump_generation(question_id: int | None = None, users: Iterable[int | None] = ()) -> None:
    """Tell every worker's anonymous page cache that content changed: the thread of `question_id` and
    how the `users` show beside their posts, or, with neither, everything (community/page_changes.py)."""
    from community import page_changes

    global _local_bumps
    await page_changes.record(question_id, users)
    _local_bumps += 1  # this worker's cache re-reads the generation at once (community.web.PageCache)


def local_bumps() -> int:
    """How many writes this process has made; lets the page cache skip a query when nothing changed here."""
    return _local_bumps


async def generation() -> int:
    rows = await db.fetch("SELECT value FROM content_generation WHERE id = 1")
    return int(rows[0]["value"]) if rows else 0


async def ensure_generation_row() -> None:
    if not await ContentGeneration.filter(id=1).exists():
        await ContentGeneration.create(id=1, value=0)


async def _set_tags(question: Post, names: list[str], conn: Any) -> list[int]:
    """Give the question exactly these tags; returns their ids."""
    old = {t.name: t for t in await question.tags.all().using_db(conn)}
    ids = [old[name].id for name in names if name in old]
    for name in names:
        if name not in old:
            tag = await Tag.filter(name=name).using_db(conn).first()
            if tag is None:
                tag = await Tag.create(name=name, using_db=conn)
            await question.tags.add(tag, using_db=conn)
            await Tag.filter(id=tag.id).using_db(conn).update(question_count=tag.question_count + 1)
            ids.append(tag.id)
    for name, tag in old.items():
        if name not in names:
            await question.tags.remove(tag, using_db=conn)
            await Tag.filter(id=tag.id).using_db(conn).update(question_count=max(0, tag.question_count - 1))
    question.tag_names = " ".join(names)
    return ids


@db.retried
async def ask(user: User | None, title: Any, body: Any, tags: Any, *, address: str | None = None) -> Post:
    """Post a question. `address`: the client's, when asked through a request (the write rate limits apply)."""
    user = privileges.require_active(user)
    title, body, tag_list = check_title(title), check_body(body), parse_tags(tags)
    html, mentioned = await render(body, user)
    await _check_daily_limit(user, "question")
    now = clock.now()
    async with db.transaction() as conn:
        await ratelimit.spend("question", user, address, conn)
        question = await Post.create(
            kind="question", author_id=user.id, title=title, body=body, body_html=html,
            created_at=now, last_activity_at=now, using_db=conn,
        )
        tag_ids = await _set_tags(question, tag_list, conn)
        await question.save(update_fields=["tag_names"], using_db=conn)
        await watches.auto_watch(user.id, question.id, conn)
        await notifications.notify_tag_watchers(question, tag_ids, conn)
        await mentions.notify_post(mentioned, author=user, question=question, post=question, conn=conn)
        await outbox.enqueue(question.id, conn)
        await events.emit("question_asked", question=question, conn=conn)
    await bump_generation(question.id, [user.id])  # its own thread, and the asker's badges elsewhere
    return question


async def get_question(question_id: Any, viewer: User | None = None, conn: Any = None) -> Post:
    try:
        qid = int(question_id)
    except (TypeError, ValueError):
        raise NotFound("There is no question with that id.") from None
    q = await Post.filter(id=qid, kind="question").using_db(conn).first() if -2**31 < qid < 2**31 else None
    if q is None or not can_see(q, viewer):
        raise NotFound("There is no question with that id; it may have been deleted.")
    return q


async def get_post(post_id: Any, viewer: User | None = None, conn: Any = None) -> Post:
    try:
        pid = int(post_id)
    except (TypeError, ValueError):
        raise NotFound("There is no post with that id.") from None
    post = await Post.filter(id=pid).using_db(conn).first() if -2**31 < pid < 2**31 else None
    if post is None or not can_see(post, viewer):
        raise NotFound("There is no post with that id; it may have been deleted.")
    return post


async def lock_post(post_id: int, conn: Any) -> Post:
    """Lock a post's row for the rest of the transaction and read it afresh.

    Every write takes its locks in one order, so two writes never wait for each other in a circle:
    1. the one post the change is about (the question answered or accepted on, the post voted on);
    2. the members it touches, all in one `reputation.lock_users` call (in id order);
    3. rows it inserts or updates; the insights roll-ups (per day and month, shared by many
       questions) last, in key order, from the triggers that follow the update of the question's row.
    Locks are FOR NO KEY UPDATE, which still excludes every other writer of the row but not a row
    that refers to it: inserting an answer, a vote, a notification or a ledger event takes a KEY SHARE
    lock on its question and members (foreign keys), in no order of ours, and FOR UPDATE conflicted
    with it. An answer holding its author's key-share lock waited for the question an accept held,
    while the accept waited in `lock_users` for that author: a deadlock.
    """
    return await Post.filter(id=post_id).using_db(conn).select_for_update(no_key=True).first()


def can_see(post: Post, viewer: User | None) -> bool:
    if post.visible:
        return True
    return viewer is not None and (viewer.is_moderator or viewer.id == post.author_id)


def _check_open(question: Post, action: str) -> None:
    if question.locked:
        raise NotAllowed(f"This question is locked, so it cannot take {action}.")
    if question.closed_reason and action == "new answers":
        raise NotAllowed("This question is closed, so it takes no new answers.")
    if question.deleted_at is not None:
        raise NotAllowed(f"This question was deleted, so it cannot take {action}.")


async def refresh_state(question_id: int, conn: Any) -> str:
    """Recompute a question's answer count and state from its answers."""
    q = await Post.filter(id=question_id).using_db(conn).first()
    answers = await Post.filter(question_id=question_id, kind="answer", deleted_at=None, hidden=False).using_db(conn).only("id", "author_id", "created_at")
    others = [a for a in answers if a.author_id != q.author_id]
    if q.accepted_answer_id and any(a.id == q.accepted_answer_id for a in answers):
        state = "solved"
    else:
        state = "answered" if others else "unanswered"
    await Post.filter(id=question_id).using_db(conn).update(answer_count=len(answers), state=state)
    return state


@db.retried
async def answer(user: User | None, question_id: Any, body: Any, official: bool = False, *,
                 address: str | None = None) -> Post:
    """Answer a question. `address`: the client's, when answered through a request (rate limited)."""
    user = privileges.require_active(user)
    body = check_body(body, ANSWER_MIN)
    html, mentioned = await render(body, user)
    now = clock.now()
    async with db.transaction() as conn:
        # The question first (the lock order: lock_post), and read under the lock: a close, or another
        # first answer, committed meanwhile is seen.
        question = await lock_post((await get_question(question_id, user, conn)).id, conn)
        _check_open(question, "new answers")
        await _check_daily_limit(user, "answer")
        await ratelimit.spend("answer", user, address, conn)
        ans = await Post.create(
            kind="answer", question_id=question.id, author_id=user.id, body=body, body_html=html,
            created_at=now, last_activity_at=now, official=official, using_db=conn,
        )
        updates: dict[str, Any] = {"last_activity_at": now}
        if user.id != question.author_id and question.first_answer_at is None:
            updates["first_answer_at"] = now
        await Post.filter(id=question.id).using_db(conn).update(**updates)
        await refresh_state(question.id, conn)
        url, where = f"/questions/{question.id}#answer-{ans.id}", {"question_id": question.id, "post_id": ans.id}
        if official:
            await notify(question.author_id, "agent_reply", f"Our support team replied to your question: {question.title}",
                         url, conn, skip=user.id, **where)
        else:
            await notify(question.author_id, "answer", f"{user.username} answered your question: {question.title}",
                         url, conn, skip=user.id, **where)
        watchers = [uid for uid in await watches.question_watchers(question.id, conn) if uid != question.author_id]
        await notifications.notify_many(watchers, "watched_answer", f"{user.username} answered: {question.title}",
                                        url, conn, skip=user.id, **where)
        await mentions.notify_post(mentioned, author=user, question=question, post=ans, conn=conn)
        await watches.auto_watch(user.id, question.id, conn)
        await outbox.enqueue(question.id, conn)
        await events.emit("answer_posted", question=question, answer=ans, conn=conn)
    await bump_generation(question.id, [user.id])  # this thread, and the answerer's badges on others
    return ans


@db.retried
async def comment(user: User | None, post_id: Any, body: Any, *, address: str | None = None) -> Comment:
    """Comment on a post. `address`: the client's, when commented through a request (rate limited)."""
    user = privileges.require_active(user)
    text = _text(body, "body").strip()
    if len(text) < COMMENT_MIN or len(text) > COMMENT_MAX:
        raise Invalid("body", f"Comments are {COMMENT_MIN} to {COMMENT_MAX} characters (this one has {len(text)}).")
    async with db.transaction() as conn:
        post = await get_post(post_id, user, conn)
        question = post if post.is_question else await Post.filter(id=post.question_id).using_db(conn).first()
        _check_open(question, "comments")
        own = user.id in (post.author_id, question.author_id)
        if not own:
            privileges.require(user, "comment")
        await ratelimit.spend("comment", user, address, conn)
        html, mentioned = await render(text, conn=conn)
        c = await Comment.create(post_id=post.id, author_id=user.id, body=text, body_html=html,
                                 created_at=clock.now(), using_db=conn)
        await notify(post.author_id, "comment", f"{user.username} commented on your post in: {question.title}",
                     f"/questions/{question.id}#c{c.id}", conn, skip=user.id,
                     question_id=question.id, post_id=post.id, comment_id=c.id)
        await mentions.notify_post(mentioned, author=user, question=question, post=post, comment=c, conn=conn)
        await watches.auto_watch(user.id, question.id, conn)
        await events.emit("comment_posted", post=post, comment=c, conn=conn)
    await bump_generation(question.id, [user.id])
    return c


@db.retried
async def edit(user: User | None, post_id: Any, title: Any = None, body: Any = None, tags: Any = None,
               *, approved: bool = False) -> Post:
    """An author edits their own post; others need the edit privilege, or a reviewer who approves a
    suggested edit (`approved`, from moderation, which also keeps the revisions)."""
    user = privileges.require_active(user)
    async with db.transaction() as conn:
        post = await get_post(post_id, user, conn)
        if post.author_id != user.id and not privileges.has(user, "edit") and not approved:
            raise NotAllowed("You can edit only your own posts.")
        if post.locked:
            raise NotAllowed("This post is locked and cannot be edited.")
        fields_: list[str] = []
        before = {"title": post.title, "body": post.body, "tags": post.tag_names}
        if body is not None:
            post.body = check_body(body, BODY_MIN if post.is_question else ANSWER_MIN)
            mentioned_before = await mentions.mentioned_in(post.body_html, conn)
            post.body_html, mentioned = await render(post.body, user, conn)
            fields_ += ["body", "body_html"]
        if post.is_question and title is not None:
            post.title = check_title(title)
            fields_.append("title")
        if post.is_question and tags is not None:
            await _set_tags(post, parse_tags(tags), conn)
            fields_.append("tag_names")
        if not fields_:
            raise Invalid("body", "Nothing to change: send a new title, body or tags.")
        now = clock.now()
        post.edited_at = post.last_activity_at = now
        await post.save(update_fields=fields_ + ["edited_at", "last_activity_at"], using_db=conn)
        qid = post.id if post.is_question else post.question_id
        if body is not None:  # only the names this edit adds are told
            question = post if post.is_question else await Post.filter(id=qid).using_db(conn).first()
            await mentions.notify_post(mentioned, author=user, question=question, post=post, conn=conn,
                                       before=mentioned_before)
        await outbox.enqueue(qid, conn)
        await events.emit("post_edited", post=post, editor=user, before=before, conn=conn)
    await bump_generation()
    return post


@dataclass
class Thread:
    question: Post
    answers: list[Post]
    comments: dict[int, list[Comment]]
    my_votes: dict[int, int] = field(default_factory=dict)
    watching: bool = False  # the viewer watches the question (community.watches)


def thread_scope(content: Thread) -> tuple[int, frozenset[int]]:
    """What a kept thread shows (community/page_changes.py): its question, and every author on it
    (their names, reputation and badges show beside their posts)."""
    authors = {p.author_id for p in (content.question, *content.answers)}
    authors.update(c.author_id for kept in content.comments.values() for c in kept)
    authors.discard(None)
    return content.question.id, frozenset(authors)


async def thread_content(question_id: Any) -> Thread:
    """What a thread page shows every reader alike: the question, all its answers (accepted first,
    then by score) and comments, before any viewer's visibility or votes. Two statements whatever the
    number of answers; the page keeps it for as long as the content generation is unchanged."""
    from community import thread_rows

    try:
        qid = int(question_id)
    except (TypeError, ValueError):
        raise NotFound("There is no question with that id.") from None
    # Two statements of plain SQL (community/thread_rows.py): the ORM's query building was most of a miss.
    q, answers, found = await thread_rows.load(qid) if -2**31 < qid < 2**31 else (None, [], [])
    if q is None:
        raise NotFound("There is no question with that id; it may have been deleted.")
    answers.sort(key=lambda a: (a.id != q.accepted_answer_id, not a.official, -a.score, a.created_at))
    comments: dict[int, list[Comment]] = {i: [] for i in [q.id] + [a.id for a in answers]}
    for c in found:
        if c.post_id in comments:
            comments[c.post_id].append(c)
    return Thread(q, answers, comments)


async def thread(question_id: Any, viewer: User | None, content: Thread | None = None) -> Thread:
    """A question with the answers and comments this viewer may see, the viewer's votes, and whether
    they watch the question.

    `content` is a `thread_content` the caller kept (it is never changed here); a fixed number of
    queries whatever the number of answers.
    """
    content = content or await thread_content(question_id)
    q = content.question
    if not can_see(q, viewer):
        raise NotFound("There is no question with that id; it may have been deleted.")
    answers = [a for a in content.answers if can_see(a, viewer)]
    my_votes: dict[int, int] = {}
    watching = False
    if viewer is not None:
        ids = [q.id] + [a.id for a in answers]
        # Plain SQL: on every member's view of a thread, and a seventh of the ORM query's cost. One round
        # trip for everything about this viewer: their votes, and a row with post_id 0 if they watch it.
        marks = ", ".join("?" * len(ids))
        for v in await db.fetch(f"SELECT post_id, value FROM vote WHERE voter_id = ? AND post_id IN ({marks}) "
                                "UNION ALL SELECT 0, 1 FROM question_watch WHERE user_id = ? AND question_id = ? AND active",
                                [viewer.id, *ids, viewer.id, q.id]):
            if int(v["post_id"]) == 0:
                watching = True
            else:
                my_votes[int(v["post_id"])] = int(v["value"])
    return Thread(q, answers, content.comments, my_votes, watching)


_SORT_FIELDS = question_lists.SORT_FIELDS  # the column each sort orders by


def _encode_cursor(value: Any, pk: int) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    return base64.urlsafe_b64encode(json.dumps([value, pk]).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        value, pk = raw
        pk = int(pk)
        if _SORT_FIELDS[sort] == "score":
            value = int(value)
        else:
            value = datetime.fromisoformat(value)
            # We only ever write UTC times with their offset; one near the calendar's ends cannot go
            # to UTC inside the driver (PostgreSQL answered a 500).
            if value.tzinfo is None or not 1970 <= value.year <= 9000:
                raise ValueError(value)
        # A hand-made cursor must not carry numbers the integer columns cannot compare with.
        if not (-2**31 < pk < 2**31 and (isinstance(value, datetime) or -2**31 < value < 2**31)):
            raise ValueError(pk)
        return value, pk
    except Exception:
        raise Invalid("cursor", "That page link is broken; go back to the first page.") from None


async def list_questions(sort: Any = "newest", tag: Any = None, cursor: Any = None, limit: int = PAGE_SIZE,
                         viewer: User | None = None) -> tuple[list[Post], str | None]:
    sort = sort or "newest"
    _check_list(sort, tag)
    key = _SORT_FIELDS[sort]
    listed_tag = await _list_tag(tag)
    after = None
    if cursor:
        if not isinstance(cursor, str):
            raise Invalid("cursor", "That page link is broken; go back to the first page.")
        after = _decode_cursor(cursor, sort)
    # The page as an index range, with its rows and authors, in one statement (community/question_lists.py).
    rows = await question_lists.questions(sort, listed_tag, after, limit + 1) if listed_tag is not False else []
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = _encode_cursor(getattr(last, key), last.id)
    return rows, next_cursor


def _check_list(sort: Any, tag: Any) -> None:
    """Refuses a sort or a tag name a list cannot have."""
    if sort not in SORTS:
        raise Invalid("sort", f"Sort by one of: {', '.join(SORTS)}.")
    if tag and (not isinstance(tag, str) or not TAG_RE.match(tag)):
        raise Invalid("tag", "That is not a valid tag name.")


async def _list_tag(tag: Any) -> int | None | bool:
    """None for no tag, the tag's id, or False for a tag that does not exist (no questions)."""
    if not tag:
        return None
    return await question_lists.tag_for_list(tag) or False


async def previous_cursor(sort: Any, tag: Any, first: Post, limit: int = PAGE_SIZE) -> str | None:
    """The page before the one that starts with `first`, as list_questions' cursor ("" for the first
    page): the `limit` questions listed just before it, and the one before those, are read backwards."""
    sort = sort or "newest"
    _check_list(sort, tag)
    key = _SORT_FIELDS[sort]
    listed_tag = await _list_tag(tag)
    if listed_tag is False:
        return ""
    rows = await question_lists.page(sort, listed_tag, (getattr(first, key), first.id), limit + 1, backwards=True)
    if len(rows) <= limit:
        return ""
    return _encode_cursor(*rows[limit])


async def tags(limit: int = 200) -> list[Tag]:
    return await Tag.filter(question_count__gt=0).order_by("-question_count", "name").limit(limit)


@dataclass(frozen=True)
class PostLink:
    """What a member's page lists of one of their posts: its score and the thread it links to."""

    id: int
    question_id: int | None  # None for a question
    title: str  # the thread's title (an answer's question's)
    score: int


async def user_posts(user_id: int, kind: str, limit: int = 30) -> list[PostLink]:
    """The member's latest visible questions or answers, newest first: one plain statement (a page
    that is not kept; two querysets and 30 whole posts cost more than the statement)."""
    title = "p.title" if kind == "question" else "(SELECT q.title FROM post q WHERE q.id = p.question_id)"
    rows = await db.fetch(f"SELECT p.id, p.question_id, p.score, {title} AS title FROM post p WHERE p.author_id = ? "
                          "AND p.kind = ? AND p.deleted_at IS NULL AND p.hidden = ? ORDER BY p.created_at DESC LIMIT ?",
                          [user_id, kind, False, limit])
    return [PostLink(int(r["id"]), r["question_id"], r["title"] or "", int(r["score"])) for r in rows]


