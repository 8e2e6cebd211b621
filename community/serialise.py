"""The JSON shapes of members, questions, answers and comments, shared by every API route."""

from __future__ import annotations

from typing import Any

from community.accounts import token_expires
from community.models import ApiToken, Comment, Post, ReputationEvent, User


def iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def user_brief(user: User | None) -> dict | None:
    if user is None:
        return None
    return {"id": user.id, "username": user.username, "reputation": user.reputation, "role": user.role}


def user_full(user: User) -> dict:
    # display_name: the name to show (an imported member's own, else the username).
    return {**user_brief(user), "display_name": user.display_name or user.username, "created_at": iso(user.created_at),
            "about": user.about}


def me(user: User) -> dict:
    return {**user_full(user), "email": user.email}


def api_token(t: ApiToken, current_id: int | None = None) -> dict:
    """A token as its owner sees it: never the token itself (only its digest is stored)."""
    return {"id": t.id, "label": t.label, "created_at": iso(t.created_at), "last_used_at": iso(t.last_used_at),
            "expires_at": iso(token_expires(t)), "current": t.id == current_id}


def comment(c: Comment) -> dict:
    return {"id": c.id, "post_id": c.post_id, "body": c.body, "body_html": c.body_html,
            "author": user_brief(_author(c)), "created_at": iso(c.created_at)}


def question_brief(q: Post) -> dict:
    return {
        "id": q.id, "title": q.title, "tags": q.tag_names.split() if q.tag_names else [],
        "state": q.state, "score": q.score, "answer_count": q.answer_count,
        "accepted_answer_id": q.accepted_answer_id, "created_at": iso(q.created_at),
        "last_activity_at": iso(q.last_activity_at),
        "author": user_brief(_author(q)),
        "closed": {"reason": q.closed_reason, "duplicate_of": q.duplicate_of_id} if q.closed_reason else None,
    }


def answer(a: Post, accepted_id: int | None, comments: list[Comment] | None = None) -> dict:
    return {
        "id": a.id, "question_id": a.question_id, "score": a.score, "body": a.body, "body_html": a.body_html,
        "author": user_brief(_author(a)),
        "accepted": a.id == accepted_id, "official": a.official, "created_at": iso(a.created_at),
        "edited_at": iso(a.edited_at), "comments": [comment(c) for c in comments or []],
    }


def ledger_event(e: ReputationEvent) -> dict:
    return {"id": e.id, "amount": e.amount, "reason": e.reason, "ref": e.ref, "post_id": e.post_id,
            "created_at": iso(e.created_at), "day": str(e.day)}


def _author(row: Any) -> User | None:
    """The row's author if it was fetched with the row (never a query per row)."""
    if not row.author_id:
        return None
    author = row.__dict__.get("_author")
    return author if isinstance(author, User) else None
