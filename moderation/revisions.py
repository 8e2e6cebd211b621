"""Edits with history: every edit is a revision with the editor's comment, diffs, rollback, and
suggested edits from members without the edit privilege, which wait in the review queue.

The community's `questions.edit` does the editing; this module decides who may edit directly,
and records each revision when `post_edited` fires (revision 1, the original, is stored lazily).
"""

from __future__ import annotations

import contextvars
import difflib
from dataclasses import dataclass, field
from typing import Any

from community import clock, db, events, inputs, privileges, questions
from community.errors import Conflict, Invalid, NotAllowed
from community.models import Post, User
from moderation import audit
from moderation.models import ReviewItem, Revision, SuggestedEdit
from moderation.posts import open_item

COMMENT_MAX = 300

# What the current edit's revision should say: the editor's comment, and whose edit it really is
# (a suggested edit is applied by the reviewer but belongs to the member who suggested it).
_pending_note: contextvars.ContextVar[dict | None] = contextvars.ContextVar("revision_note", default=None)


def check_comment(value: Any) -> str:
    return inputs.one_line("comment", value, COMMENT_MAX, "edit summary")


async def on_post_edited(post: Post, editor: User, before: dict, conn: Any) -> None:
    note = _pending_note.get() or {}
    count = await Revision.filter(post_id=post.id).using_db(conn).count()
    if count == 0:
        await Revision.create(post_id=post.id, number=1, title=before.get("title") or "", body=before.get("body") or "",
                              tags=before.get("tags") or "", comment="Original", editor_id=post.author_id,
                              created_at=post.created_at, using_db=conn)
        count = 1
    editor_id = note.get("editor_id", editor.id)
    await Revision.create(post_id=post.id, number=count + 1, title=post.title, body=post.body, tags=post.tag_names,
                          comment=note.get("comment", ""), editor_id=editor_id, created_at=clock.now(), using_db=conn)
    if note.get("action") or editor_id != post.author_id:
        await audit.record(editor, note.get("action", "edit"), conn, post_id=post.id, user_id=post.author_id,
                           reason=note.get("comment", ""))


events.subscribe("post_edited", on_post_edited)


async def _apply(user: User, post: Post, title: Any, body: Any, tags: Any, note: dict, approved: bool = False) -> Post:
    token = _pending_note.set(note)
    try:
        return await questions.edit(user, post.id, title if post.is_question else None, body,
                                    tags if post.is_question else None, approved=approved)
    finally:
        _pending_note.reset(token)


async def edit(user: User | None, post_id: Any, title: Any = None, body: Any = None, tags: Any = None,
               comment: Any = None) -> tuple[str, Post | SuggestedEdit]:
    """("edited", post) for the author or a member with the edit privilege; otherwise
    ("suggested", suggested edit) waiting in review."""
    user = privileges.require_active(user)
    comment = check_comment(comment)
    post = await questions.get_post(post_id, user)
    if not post.is_question and await Post.filter(id=post.question_id, locked=True).exists():
        raise NotAllowed("This question is locked, so its answers cannot be edited.")
    if post.author_id == user.id or privileges.has(user, "edit"):
        return "edited", await _apply(user, post, title, body, tags, {"comment": comment})
    return "suggested", await suggest(user, post, title, body, tags, comment)


async def suggest(user: User, post: Post, title: Any, body: Any, tags: Any, comment: str) -> SuggestedEdit:
    if post.locked:
        raise NotAllowed("This post is locked and cannot be edited.")
    new_title = questions.check_title(title) if post.is_question and title is not None else None
    new_body = questions.check_body(body, questions.BODY_MIN if post.is_question else questions.ANSWER_MIN) if body is not None else None
    new_tags = " ".join(questions.parse_tags(tags)) if post.is_question and tags is not None else None
    if (new_title in (None, post.title)) and (new_body in (None, post.body)) and (new_tags in (None, post.tag_names)):
        raise Invalid("body", "Nothing to change: the suggested edit matches the post as it is.")
    async with db.transaction() as conn:
        waiting = await ReviewItem.filter(post_id=post.id, queue="suggested_edit", decided_at=None).using_db(conn).exists()
        if waiting:
            raise Conflict("This post already has a suggested edit waiting for review; try again once it is decided.")
        suggestion = await SuggestedEdit.create(post_id=post.id, author_id=user.id, title=new_title, body=new_body,
                                                tags=new_tags, comment=comment, created_at=clock.now(), using_db=conn)
        await open_item("suggested_edit", post, conn, note=comment or "Suggested edit", suggested_edit_id=suggestion.id)
        await audit.record(user, "suggest_edit", conn, post_id=post.id, user_id=post.author_id, reason=comment)
    return suggestion


async def approve(reviewer: User, suggestion: SuggestedEdit, conn: Any) -> Post:
    """Apply a suggested edit as its author's revision, approved by the reviewer."""
    post = await Post.filter(id=suggestion.post_id).using_db(conn).first()
    author = await User.filter(id=suggestion.author_id).using_db(conn).first()
    comment = suggestion.comment or "Suggested edit"
    note = {"comment": f"{comment} (suggested by {author.username if author else 'a former member'}, "
                       f"approved by {reviewer.username})"[:COMMENT_MAX],
            "editor_id": suggestion.author_id, "action": "approve_edit"}
    return await _apply(reviewer, post, suggestion.title, suggestion.body, suggestion.tags, note, approved=True)


async def rollback(user: User | None, post_id: Any, number: Any, comment: Any = None) -> Post:
    """Put a post back as it stood at revision `number` (itself a new revision)."""
    user = privileges.require_active(user)
    comment = check_comment(comment)
    post = await questions.get_post(post_id, user)
    if post.author_id != user.id:
        privileges.require(user, "edit")
    if isinstance(number, bool):
        number = None
    try:
        n = int(number)
    except (TypeError, ValueError):
        raise Invalid("revision", "Say which revision to go back to, by its number.") from None
    target = await Revision.filter(post_id=post.id, number=n).first() if 0 < n < 2**31 else None
    if target is None:
        raise Invalid("revision", f"This post has no revision {n}; see its edit history for the numbers.")
    if target.body == post.body and target.title == post.title and target.tags == post.tag_names:
        raise Invalid("revision", f"The post already reads as revision {n}.")
    note = {"comment": comment or f"Rolled back to revision {n}", "action": "rollback"}
    return await _apply(user, post, target.title, target.body, target.tags, note)


@dataclass
class DiffLine:
    kind: str  # same | added | removed | gap
    text: str


@dataclass
class RevisionView:
    number: int
    revision: Revision | None
    title: str
    tags: str
    comment: str
    editor: User | None
    created_at: Any
    title_before: str | None = None
    tags_before: str | None = None
    body_diff: list[DiffLine] = field(default_factory=list)


def body_diff(before: str, after: str, context: int = 2) -> list[DiffLine]:
    lines: list[DiffLine] = []
    for raw in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=context):
        if raw.startswith(("---", "+++")):
            continue
        if raw.startswith("@@"):
            lines.append(DiffLine("gap", "…"))
        elif raw.startswith("+"):
            lines.append(DiffLine("added", raw[1:]))
        elif raw.startswith("-"):
            lines.append(DiffLine("removed", raw[1:]))
        else:
            lines.append(DiffLine("same", raw[1:]))
    return lines


async def history(post_id: Any, viewer: User | None) -> tuple[Post, list[RevisionView]]:
    """A post's revisions, newest first, each with its changes against the one before."""
    post = await questions.get_post(post_id, viewer)
    rows = await Revision.filter(post_id=post.id).order_by("number").select_related("editor")
    if not rows:
        await post.fetch_related("author")
        return post, [RevisionView(1, None, post.title, post.tag_names, "Original", post.author, post.created_at)]
    views: list[RevisionView] = []
    previous: Revision | None = None
    for r in rows:
        v = RevisionView(r.number, r, r.title, r.tags, r.comment, r.editor, r.created_at)
        if previous is not None:
            v.title_before = previous.title if previous.title != r.title else None
            v.tags_before = previous.tags if previous.tags != r.tags else None
            v.body_diff = body_diff(previous.body, r.body)
        views.append(v)
        previous = r
    return post, list(reversed(views))
