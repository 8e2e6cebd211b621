"""JSON API of the moderation room under /api/v1; the same services as the moderation pages."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from community import openapi, serialise
from community.errors import Invalid
from community.web import client_address, current_user, read_json
from moderation import audit, closing, flags, members, posts, review, revisions
from moderation.models import AuditEntry, Flag, SuggestedEdit


def _post_json(post: Any) -> dict:
    return {"id": post.id, "kind": post.kind, "title": post.title, "body": post.body, "body_html": post.body_html,
            "tags": post.tag_names.split() if post.tag_names else [], "locked": post.locked, "hidden": post.hidden,
            "deleted": post.deleted_at is not None, "edited_at": serialise.iso(post.edited_at)}


def _flag_json(f: Flag) -> dict:
    return {"id": f.id, "post_id": f.post_id, "reason": f.reason, "message": f.message, "weight": f.weight,
            "status": f.status, "created_at": serialise.iso(f.created_at)}


def _suggestion_json(s: SuggestedEdit) -> dict:
    return {"id": s.id, "post_id": s.post_id, "author_id": s.author_id, "title": s.title, "body": s.body,
            "tags": s.tags.split() if s.tags is not None else None, "comment": s.comment,
            "created_at": serialise.iso(s.created_at)}


def _audit_json(e: AuditEntry) -> dict:
    return {"id": e.id, "action": e.action, "actor": serialise.user_brief(e.actor) if e.actor_id else None,
            "post_id": e.post_id, "user_id": e.user_id, "reason": e.reason, "created_at": serialise.iso(e.created_at)}


async def create_flag(request: Request) -> Response:
    body = await read_json(request)
    flag, hidden = await flags.raise_flag(await current_user(request), request.path_params["post_id"],
                                          body.get("reason"), body.get("message"), address=client_address(request))
    return JSONResponse({**_flag_json(flag), "post_hidden": hidden}, status_code=201)


async def review_queues(request: Request) -> Response:
    user = await current_user(request)
    queues = await review.summary(user)
    items = await review.waiting(user, request.query_params.get("queue") or None)
    return JSONResponse({
        "queues": [{"name": q.name, "title": q.title, "count": q.count, "oldest_at": serialise.iso(q.oldest_at),
                    "oldest_age_seconds": q.oldest_age_seconds} for q in queues],
        "items": [{
            "id": v.item.id, "queue": v.item.queue, "note": v.item.note, "created_at": serialise.iso(v.item.created_at),
            "decisions": list(v.decisions), "question_title": v.question_title,
            "post": {**_post_json(v.post), "question_id": posts.question_id_of(v.post),
                     "author": serialise.user_brief(serialise._author(v.post))},
            "flags": [_flag_json(f) for f in v.flags],
            "suggested_edit": _suggestion_json(v.suggestion) if v.suggestion else None,
            "votes": [{"voter_id": x.voter_id, "reason": x.reason, "duplicate_of": x.duplicate_of_id} for x in v.votes],
            "removal_votes": [rv.decision for rv in v.removal_votes], "needs_moderator": v.item.needs_moderator,
        } for v in items],
    })


async def decide_item(request: Request) -> Response:
    body = await read_json(request)
    if "decision" not in body:
        raise Invalid("decision", "Send decision: one of the item's decisions (see GET /api/v1/review).")
    result = await review.decide(await current_user(request), request.path_params["item_id"], body.get("decision"),
                                 body.get("reason"))
    return JSONResponse(result)


async def close_question(request: Request) -> Response:
    body = await read_json(request)
    result = await closing.vote(await current_user(request), request.path_params["question_id"], "close",
                                body.get("reason"), body.get("duplicate_of"))
    return JSONResponse(result)


async def reopen_question(request: Request) -> Response:
    await read_json(request)
    result = await closing.vote(await current_user(request), request.path_params["question_id"], "reopen")
    return JSONResponse(result)


async def edit_post(request: Request) -> Response:
    body = await read_json(request)
    outcome, thing = await revisions.edit(await current_user(request), request.path_params["post_id"], body.get("title"),
                                          body.get("body"), body.get("tags"), body.get("comment"))
    if outcome == "suggested":
        return JSONResponse({"status": "suggested", "suggested_edit": _suggestion_json(thing)}, status_code=202)
    return JSONResponse({"status": "edited", **_post_json(thing)})


async def list_revisions(request: Request) -> Response:
    post, views = await revisions.history(request.path_params["post_id"], await current_user(request))
    return JSONResponse({"post_id": post.id, "items": [{
        "number": v.number, "title": v.title, "tags": v.tags.split() if v.tags else [], "comment": v.comment,
        "editor": serialise.user_brief(v.editor), "created_at": serialise.iso(v.created_at),
        "body": v.revision.body if v.revision else post.body,
        "diff": [{"kind": d.kind, "text": d.text} for d in v.body_diff],
        "title_before": v.title_before, "tags_before": v.tags_before,
    } for v in views]})


async def rollback(request: Request) -> Response:
    body = await read_json(request)
    post = await revisions.rollback(await current_user(request), request.path_params["post_id"], body.get("revision"),
                                    body.get("comment"))
    return JSONResponse({"status": "edited", **_post_json(post)})


async def lock_post(request: Request) -> Response:
    body = await read_json(request)
    post = await posts.set_locked(await current_user(request), request.path_params["post_id"], body.get("locked", True),
                                  body.get("reason"))
    return JSONResponse(_post_json(post))


async def delete_post(request: Request) -> Response:
    body = await read_json(request)
    post = await posts.delete(await current_user(request), request.path_params["post_id"], body.get("reason"))
    return JSONResponse(_post_json(post))


async def undelete_post(request: Request) -> Response:
    body = await read_json(request)
    post = await posts.undelete(await current_user(request), request.path_params["post_id"], body.get("reason"))
    return JSONResponse(_post_json(post))


async def suspend_member(request: Request) -> Response:
    body = await read_json(request)
    member = await members.suspend(await current_user(request), request.path_params["user_id"], body.get("days"),
                                   body.get("reason"))
    return JSONResponse({**serialise.user_brief(member), "suspended_until": serialise.iso(member.suspended_until),
                         "suspension_reason": member.suspension_reason})


async def moderation_log(request: Request) -> Response:
    p = request.query_params
    rows, before = await audit.entries(await current_user(request), p.get("action"), p.get("actor"), p.get("post_id"),
                                       p.get("user_id"), p.get("before"))
    return JSONResponse({"items": [_audit_json(e) for e in rows], "next_before": before})


routes = [
    Route("/api/v1/posts/{post_id}/flags", create_flag, methods=["POST"]),
    Route("/api/v1/review", review_queues, methods=["GET"]),
    Route("/api/v1/review/{item_id}", decide_item, methods=["POST"]),
    Route("/api/v1/questions/{question_id}/close", close_question, methods=["POST"]),
    Route("/api/v1/questions/{question_id}/reopen", reopen_question, methods=["POST"]),
    Route("/api/v1/posts/{post_id}", edit_post, methods=["PATCH"]),
    Route("/api/v1/posts/{post_id}", delete_post, methods=["DELETE"]),
    Route("/api/v1/posts/{post_id}/revisions", list_revisions, methods=["GET"]),
    Route("/api/v1/posts/{post_id}/rollback", rollback, methods=["POST"]),
    Route("/api/v1/posts/{post_id}/lock", lock_post, methods=["POST"]),
    Route("/api/v1/posts/{post_id}/undelete", undelete_post, methods=["POST"]),
    Route("/api/v1/users/{user_id}/suspend", suspend_member, methods=["POST"]),
    Route("/api/v1/moderation/log", moderation_log, methods=["GET"]),
]

S, I, B = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
A = {"type": "array", "items": {"type": "string"}}
openapi.describe("POST", "/api/v1/posts/{post_id}/flags", "Flag a post: spam, rude, off_topic or moderator (with a message)",
                 {"reason": S, "message": S}, 201, True)
openapi.describe("GET", "/api/v1/review", "Review queues: counts, oldest item, and the items waiting", auth=True, query=["queue"])
openapi.describe("POST", "/api/v1/review/{item_id}", "Decide a review item (decided once; 409 if someone was first). "
                 "Spam, rude or delete from a non-moderator is a vote until a second reviewer agrees",
                 {"decision": S, "reason": S}, 200, True)
openapi.describe("POST", "/api/v1/questions/{question_id}/close", "Vote to close (a moderator closes at once)",
                 {"reason": S, "duplicate_of": I}, 200, True)
openapi.describe("POST", "/api/v1/questions/{question_id}/reopen", "Vote to reopen (a moderator reopens at once)", None, 200, True)
openapi.describe("PATCH", "/api/v1/posts/{post_id}", "Edit a post (200), or suggest an edit for review (202)",
                 {"title": S, "body": S, "tags": A, "comment": S}, 200, True)
openapi.describe("DELETE", "/api/v1/posts/{post_id}", "Delete a post (soft; moderator tools)", None, 200, True)
openapi.describe("GET", "/api/v1/posts/{post_id}/revisions", "A post's revisions with diffs, newest first")
openapi.describe("POST", "/api/v1/posts/{post_id}/rollback", "Roll a post back to a revision", {"revision": I, "comment": S}, 200, True)
openapi.describe("POST", "/api/v1/posts/{post_id}/lock", "Lock (or unlock with locked: false) a post", {"locked": B, "reason": S}, 200, True)
openapi.describe("POST", "/api/v1/posts/{post_id}/undelete", "Undelete a post", {"reason": S}, 200, True)
openapi.describe("POST", "/api/v1/users/{user_id}/suspend", "Suspend a member for days (0 lifts it), with a reason",
                 {"days": I, "reason": S}, 200, True)
openapi.describe("GET", "/api/v1/moderation/log", "The moderator audit log, newest first", auth=True,
                 query=["action", "actor", "post_id", "user_id", "before"])
