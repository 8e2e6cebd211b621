"""A member's data to take away: their profile, everything they wrote, the votes they cast (post ids
only) and their reputation history, as a ZIP of JSON files built in memory (with a size cap)."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from community import avatars, clock, preferences, privileges, watches
from community.errors import NotAllowed, TooLarge
from community.models import Comment, NotificationPreference, Post, ReputationEvent, User, Vote
from community.serialise import iso

MAX_BYTES = 64 * 1024 * 1024  # the JSON of one member past this is refused, not built
FILES = ("profile.json", "questions.json", "answers.json", "comments.json", "votes.json", "reputation.json")


def may_export(viewer: User | None, member: User) -> None:
    """The member themselves, or an admin."""
    viewer = privileges.require_user(viewer)
    if viewer.id != member.id and viewer.role != "admin":
        raise NotAllowed("Only the member and administrators can download a member's data.")


async def _profile(member: User) -> dict[str, Any]:
    own_prefs = await NotificationPreference.filter(user_id=member.id).exists()
    return {
        "id": member.id, "username": member.username, "display_name": member.display_name, "email": member.email,
        "pending_email": member.pending_email, "email_confirmed_at": iso(member.email_confirmed_at),
        "about": member.about, "location": member.location, "time_zone": member.time_zone, "role": member.role,
        "reputation": member.reputation, "created_at": iso(member.created_at), "last_seen_at": iso(member.last_seen_at),
        "avatar": member.avatar or None, "deleted_at": iso(member.deleted_at),
        "watched_tags": await watches.watched_tags(member),
        "notification_settings": await preferences.get(member) if own_prefs else "defaults",
    }


def _post_state(p: Post) -> dict[str, Any]:
    return {"created_at": iso(p.created_at), "edited_at": iso(p.edited_at), "score": p.score,
            "deleted": p.deleted_at is not None, "hidden": p.hidden}


async def collect(member: User) -> dict[str, Any]:
    """Each file's content, by file name."""
    posts = await Post.filter(author_id=member.id).order_by("id")
    answers = [p for p in posts if not p.is_question]
    titles = dict(await Post.filter(id__in={a.question_id for a in answers}).values_list("id", "title")) if answers else {}
    accepted = set(await Post.filter(accepted_answer_id__in=[a.id for a in answers]).values_list("accepted_answer_id", flat=True)) \
        if answers else set()
    comments = await Comment.filter(author_id=member.id).order_by("id").select_related("post")
    return {
        "profile.json": await _profile(member),
        "questions.json": [{"id": p.id, "url": f"/questions/{p.id}", "title": p.title, "body": p.body,
                            "tags": p.tag_names.split(), "state": p.state, **_post_state(p)} for p in posts if p.is_question],
        "answers.json": [{"id": a.id, "question_id": a.question_id, "question_title": titles.get(a.question_id, ""),
                          "url": f"/questions/{a.question_id}#answer-{a.id}", "body": a.body, "accepted": a.id in accepted,
                          "official": a.official, **_post_state(a)} for a in answers],
        "comments.json": [{"id": c.id, "post_id": c.post_id, "question_id": c.post.question_id or c.post_id, "body": c.body,
                           "created_at": iso(c.created_at), "deleted": c.deleted_at is not None} for c in comments],
        "votes.json": [{"post_id": post_id, "value": value, "created_at": iso(at)} for post_id, value, at in
                       await Vote.filter(voter_id=member.id).order_by("id").values_list("post_id", "value", "created_at")],
        "reputation.json": [{"id": e.id, "amount": e.amount, "reason": e.reason, "post_id": e.post_id,
                             "created_at": iso(e.created_at), "day": str(e.day)}
                            for e in await ReputationEvent.filter(user_id=member.id).order_by("id")],
    }


async def build(member: User, config: Any) -> bytes:
    """The ZIP: the JSON files, and the avatar picture when the member uploaded one."""
    files = await collect(member)
    out, total = io.BytesIO(), 0
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in FILES:
            data = json.dumps(files[name], ensure_ascii=False, indent=1).encode()
            total += len(data)
            if total > MAX_BYTES:
                raise TooLarge(f"This member's data is over {MAX_BYTES // 1048576} MB, more than an export holds. "
                               "Ask the forum's operators for a copy.")
            archive.writestr(name, data)
        stored = avatars.stored_file(member.avatar, config) if member.avatar else None
        if stored is not None:
            archive.write(stored, f"avatar{stored.suffix}")
    return out.getvalue()


def file_name(member: User) -> str:
    return f"{member.username}-export-{clock.now():%Y-%m-%d}.zip"
