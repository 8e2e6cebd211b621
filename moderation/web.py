"""The moderation room's plug: its routes, and the hooks that add close and lock notices and
per-post moderation links to the thread page."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from community import pages as community_pages
from community import privileges, slugs
from community.models import Post, User
from moderation import api, closing, pages
from moderation import review as _review  # noqa: F401  (subscribes the first-post queue to new posts)
from moderation import revisions as _revisions  # noqa: F401  (subscribes revisions to post_edited)

routes = api.routes + pages.routes


def _link(href: str, text: str) -> str:
    # Ids are integers and the texts are our own constants, so nothing here needs escaping;
    # plain f-strings keep the thread page cheap (this runs for every post on every view).
    return f'<a href="{href}">{text}</a>'


def post_links_for(viewer: User | None, question: Post):
    """The moderation links under each post that this viewer may use."""
    can_edit = privileges.has(viewer, "edit")
    can_flag = privileges.has(viewer, "flag")
    can_close = privileges.has(viewer, "close")
    can_moderate = privileges.has(viewer, "moderate")
    kind = (viewer is not None, can_edit, can_flag, can_close, can_moderate)

    def links(p: Post) -> tuple[str, ...]:
        # Kept on the post's row per kind of viewer: the thread page's rows are shared by every reader
        # for a content generation (community.pages), so each post's links are built once per kind.
        key = (*kind, viewer is not None and viewer.id == p.author_id)
        kept = p.__dict__.setdefault("_moderation_links", {})
        found = kept.get(key)
        if found is None:
            found = kept[key] = tuple(build(p))
        return found

    def build(p: Post) -> list[str]:
        out: list[str] = []
        if p.edited_at:
            out.append(_link(f"/posts/{p.id}/revisions", "Edit history"))
        if viewer is None:
            return out
        own = viewer.id == p.author_id
        if not own and p.deleted_at is None:
            out.append(_link(f"/posts/{p.id}/edit", "Edit" if can_edit else "Suggest edit"))
            if can_flag:
                out.append(_link(f"/posts/{p.id}/flag", "Flag"))
        if p.is_question and can_close and p.deleted_at is None:
            out.append(_link(f"/questions/{p.id}/close", "Reopen" if p.closed_reason else "Close"))
        if can_moderate:
            out.append(_link(f"/posts/{p.id}/moderate", "Undelete" if p.deleted_at else "Delete"))
            out.append(_link(f"/posts/{p.id}/moderate", "Unlock" if p.locked else "Lock"))
        return out

    return links


async def thread_extras(question: Post, viewer: User | None) -> dict[str, Any]:
    banners: list[str] = []
    if question.closed_reason:
        when = f" on {question.closed_at:%Y-%m-%d}" if question.closed_at else ""
        if question.closed_reason == "duplicate" and question.duplicate_of_id:
            titles = await closing.original_titles([question.duplicate_of_id])
            title = titles.get(question.duplicate_of_id, f"question {question.duplicate_of_id}")
            banners.append(str(Markup(
                '<div class="notice closed-notice" role="status"><strong>Closed as a duplicate{}.</strong> '
                'This question already has an answer here: <a href="{}">{}</a></div>'
            ).format(when, slugs.question_path(question.duplicate_of_id, title), title)))
        else:
            banners.append(str(Markup('<div class="notice closed-notice" role="status"><strong>Closed as {}{}.</strong> '
                                      'It takes no new answers; it can be edited and reopened.</div>')
                               .format(closing.REASON_TITLES.get(question.closed_reason, question.closed_reason), when)))
    if question.locked:
        banners.append('<div class="notice locked-notice" role="status"><strong>Locked.</strong> '
                       'This question takes no votes, answers, comments or edits.</div>')
    return {"thread_banners": banners, "post_links": post_links_for(viewer, question)}


if thread_extras not in community_pages.THREAD_EXTRAS:
    community_pages.THREAD_EXTRAS.append(thread_extras)
