"""JSON API of the community room under /api/v1; same services as the pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from community import (acceptance, accounts, email_address, notification_settings, notifications, oidc, preferences, privileges,
                       questions, reputation, serialise, uploads, voting, watches)
from community.errors import Invalid, NotFound, TooLarge
from community.inputs import REFUSED
from community.web import check_api_csrf, client_address, current_user, read_json


def _int(value: Any, name: str) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise NotFound(f"There is no {name} with that id.") from None
    if not -2**31 < n < 2**31:
        raise NotFound(f"There is no {name} with that id.")
    return n


# Other rooms decorate questions' JSON (escalation, closed) through these hooks, a page of questions at
# a time so a room reads what it adds with one query: fn([(question, data), ...], viewer).
QUESTION_DECORATORS: list = []


async def _decorate(items: list[tuple[Any, dict]], viewer: Any) -> None:
    for _, data in items:
        data.setdefault("escalation", None)
    for decorate in QUESTION_DECORATORS:
        await decorate(items, viewer)


async def question_json(q: Any, viewer: Any, with_answers: bool = True) -> dict:
    data = serialise.question_brief(q)
    data["body"], data["body_html"] = q.body, q.body_html
    if with_answers:
        t = await questions.thread(q.id, viewer)
        data["author"] = serialise.user_brief(t.question.author if t.question.author_id else None)
        data["comments"] = [serialise.comment(c) for c in t.comments.get(q.id, [])]
        data["answers"] = [serialise.answer(a, q.accepted_answer_id, t.comments.get(a.id)) for a in t.answers]
    await _decorate([(q, data)], viewer)
    return data


async def create_user(request: Request) -> Response:
    oidc.refuse_passwords(request)  # SSO_ONLY: members come in through the company's sign-in
    body = await read_json(request)
    user = await accounts.sign_up(body.get("username"), body.get("email"), body.get("password"),
                                  address=client_address(request))
    await email_address.confirm_new_member(user, request.app.state.config)
    return JSONResponse(serialise.me(user), status_code=201)


async def create_token(request: Request) -> Response:
    body = await read_json(request)
    user = await accounts.authenticate(body.get("username"), body.get("password"), client_address(request))
    oidc.refuse_passwords(request, user)  # SSO_ONLY: only an admin's password still gets a token
    token, row = await accounts.new_token(user, body.get("label"))
    return JSONResponse({"token": token, **serialise.api_token(row), "user": serialise.me(user)}, status_code=201)


async def revoke_token(request: Request) -> Response:
    auth = request.headers.get("authorization", "")
    privileges.require_user(await current_user(request))
    await accounts.revoke_token(auth[7:].strip())
    return Response(status_code=204)


async def list_tokens(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    current = getattr(request.state, "token_id", None)
    return JSONResponse({"items": [serialise.api_token(t, current) for t in await accounts.tokens(user)]})


async def revoke_token_by_id(request: Request) -> Response:
    await read_json(request)  # no fields; reading it checks the CSRF header for cookie callers
    user = privileges.require_user(await current_user(request))
    await accounts.revoke_member_token(user, request.path_params["token_id"])
    return Response(status_code=204)


async def me(request: Request) -> Response:
    from community.account_api import me_json  # the same fields PATCH /api/v1/me answers with

    user = privileges.require_user(await current_user(request))
    return JSONResponse(me_json(user))


async def get_user(request: Request) -> Response:
    user = await accounts.get_user(_int(request.path_params["user_id"], "member"))
    return JSONResponse(serialise.user_full(user))


async def user_reputation(request: Request) -> Response:
    user = await accounts.get_user(_int(request.path_params["user_id"], "member"))
    events = await reputation.ledger(user.id)
    return JSONResponse({"user_id": user.id, "reputation": user.reputation,
                         "items": [serialise.ledger_event(e) for e in events]})


async def list_questions(request: Request) -> Response:
    p = request.query_params
    items, next_cursor = await questions.list_questions(p.get("sort", "newest"), p.get("tag") or None, p.get("cursor"),
                                                        viewer=await current_user(request))
    out = [(q, serialise.question_brief(q)) for q in items]
    await _decorate(out, None)
    return JSONResponse({"items": [data for _, data in out], "next_cursor": next_cursor})


async def create_question(request: Request) -> Response:
    body = await read_json(request)
    user = await current_user(request)
    q = await questions.ask(user, body.get("title"), body.get("body"), body.get("tags"), address=client_address(request))
    return JSONResponse(await question_json(q, user), status_code=201)


async def get_question(request: Request) -> Response:
    viewer = await current_user(request)
    q = await questions.get_question(_int(request.path_params["question_id"], "question"), viewer)
    return JSONResponse(await question_json(q, viewer))


async def create_answer(request: Request) -> Response:
    body = await read_json(request)
    user = await current_user(request)
    a = await questions.answer(user, _int(request.path_params["question_id"], "question"), body.get("body"),
                               address=client_address(request))
    await a.fetch_related("author")
    return JSONResponse(serialise.answer(a, None), status_code=201)


async def vote(request: Request) -> Response:
    body = await read_json(request)
    if "value" not in body:
        raise Invalid("value", "Send value: 1 (up), -1 (down) or 0 (take your vote back).")
    score = await voting.vote(await current_user(request), _int(request.path_params["post_id"], "post"), body["value"],
                              address=client_address(request))
    return JSONResponse({"score": score, "value": int(body["value"])})


async def accept(request: Request) -> Response:
    body = await read_json(request)
    user = await current_user(request)
    qid = _int(request.path_params["question_id"], "question")
    if "answer_id" not in body:
        raise Invalid("answer_id", "Say which answer to accept: answer_id.")
    a = await acceptance.accept(user, qid, body.get("answer_id"))
    return JSONResponse({"question_id": qid, "accepted_answer_id": a.id})


async def unaccept(request: Request) -> Response:
    await read_json(request)  # no fields; reading it checks the CSRF header for cookie callers
    qid = _int(request.path_params["question_id"], "question")
    await acceptance.unaccept(await current_user(request), qid)
    return JSONResponse({"question_id": qid, "accepted_answer_id": None})


async def create_comment(request: Request) -> Response:
    body = await read_json(request)
    c = await questions.comment(await current_user(request), _int(request.path_params["post_id"], "post"), body.get("body"),
                                address=client_address(request))
    await c.fetch_related("author")
    return JSONResponse(serialise.comment(c), status_code=201)


async def list_notifications(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    items = await notifications.inbox(user)
    return JSONResponse({"items": [{"id": n.id, "kind": n.kind, "text": n.text, "url": n.url,
                                    "created_at": serialise.iso(n.created_at), "read": n.read_at is not None} for n in items],
                         "unread": sum(1 for n in items if n.read_at is None)})


async def my_unread(request: Request) -> Response:
    """The header's unread count, polled by the page (community/static/unread.js): one COUNT, or none for
    a browser session, whose member row was read with it."""
    user = privileges.require_user(await current_user(request))
    known = getattr(request.state, "unread", None)
    unread = known if known is not None else await notifications.unread_count(user)
    return JSONResponse({"unread": unread}, headers={"cache-control": "no-store"})


async def my_watches(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    return JSONResponse(await watches.watches(user))


async def replace_watches(request: Request) -> Response:
    body = await read_json(request)
    user = privileges.require_user(await current_user(request))
    return JSONResponse(await watches.replace(user, body))


async def watch_question(request: Request) -> Response:
    """PUT starts watching, DELETE stops (and taking part later does not start it again)."""
    await read_json(request)  # no fields; reading it checks the CSRF header for cookie callers
    user = privileges.require_user(await current_user(request))
    q = await questions.get_question(_int(request.path_params["question_id"], "question"), user)
    watching = await watches.set_question(user, q.id, request.method == "PUT")
    return JSONResponse({"question_id": q.id, "watching": watching})


async def watch_tag(request: Request) -> Response:
    await read_json(request)  # no fields; reading it checks the CSRF header for cookie callers
    user = privileges.require_user(await current_user(request))
    name = request.path_params["name"]
    watching = await watches.set_tag(user, name, request.method == "PUT")
    return JSONResponse({"tag": name.strip().lower(), "watching": watching})


async def my_notification_settings(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    return JSONResponse(await notification_settings.read(user))


async def put_notification_settings(request: Request) -> Response:
    body = await read_json(request)
    user = privileges.require_user(await current_user(request))
    if "settings" not in body:
        raise Invalid("settings", "Send settings: {kind: delivery}, e.g. {\"answer\": \"daily\"}.")
    await preferences.put(user, body["settings"])
    return JSONResponse(await notification_settings.read(user))


async def privilege_list(request: Request) -> Response:
    return JSONResponse({"items": privileges.progress(await current_user(request))})


async def preview(request: Request) -> Response:
    """The composer's live preview: the body rendered as it would be stored."""
    body = await read_json(request)
    return JSONResponse({"html": await questions.preview(await current_user(request), body.get("body"))})


async def _read_image(request: Request) -> tuple[bytes, str]:
    """The uploaded file's bytes (at most one past the limit, so the service can say how large it was)
    and an alt text: the form's "alt", else the file's name."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise Invalid("file", 'Send the image as multipart/form-data, in the field "file".')
    try:
        async with request.form(max_files=1, max_fields=4, max_part_size=4096) as form:
            file = form.get("file")
            if not isinstance(file, UploadFile):
                raise Invalid("file", 'Choose an image to upload (the field "file").')
            data = await file.read(uploads.MAX_BYTES + 1)
            alt = form.get("alt")
            alt = alt if isinstance(alt, str) else Path(file.filename or "").stem
    except (Invalid, TooLarge):
        raise
    except Exception:  # a malformed multipart body
        raise Invalid("file", 'The upload could not be read: send one image in the field "file".') from None
    return data, REFUSED.sub("", alt)


async def upload(request: Request) -> Response:
    """A picture from the composer, re-encoded and stored once; answers the Markdown that shows it."""
    check_api_csrf(request)
    user = uploads.check_may_upload(await current_user(request))  # before reading up to 10 MB
    data, alt = await _read_image(request)
    row = await uploads.store(user, data, request.app.state.config.upload_dir, address=client_address(request))
    return JSONResponse({"name": row.name, "url": f"/uploads/{row.name}", "content_type": row.content_type,
                         "width": row.width, "height": row.height, "size": row.size,
                         "markdown": uploads.markdown_for(row, alt)}, status_code=201)


async def serve_upload(request: Request) -> Response:
    """A stored picture: its name is its content's hash, so it never changes and may be cached for a year."""
    row = await uploads.find(request.path_params["name"])
    path = request.app.state.config.upload_dir / row.name
    if not path.is_file():
        raise NotFound("There is no image with that name.")
    return FileResponse(path, media_type=row.content_type, headers={
        "cache-control": "public, max-age=31536000, immutable", "x-content-type-options": "nosniff"})


routes = [
    Route("/api/v1/users", create_user, methods=["POST"]),
    Route("/api/v1/tokens", create_token, methods=["POST"]),
    Route("/api/v1/tokens", list_tokens, methods=["GET"]),
    Route("/api/v1/tokens/current", revoke_token, methods=["DELETE"]),
    Route("/api/v1/tokens/{token_id}", revoke_token_by_id, methods=["DELETE"]),
    Route("/api/v1/me", me),
    Route("/api/v1/users/{user_id}", get_user),
    Route("/api/v1/users/{user_id}/reputation", user_reputation),
    Route("/api/v1/questions", list_questions, methods=["GET"]),
    Route("/api/v1/questions", create_question, methods=["POST"]),
    Route("/api/v1/questions/{question_id}", get_question),
    Route("/api/v1/questions/{question_id}/answers", create_answer, methods=["POST"]),
    Route("/api/v1/questions/{question_id}/accept", accept, methods=["POST"]),
    Route("/api/v1/questions/{question_id}/accept", unaccept, methods=["DELETE"]),
    Route("/api/v1/posts/{post_id}/vote", vote, methods=["POST"]),
    Route("/api/v1/posts/{post_id}/comments", create_comment, methods=["POST"]),
    # PATCH /api/v1/posts/{post_id} (edits, suggested edits, revisions) is served by moderation/api.py.
    Route("/api/v1/notifications", list_notifications),
    Route("/api/v1/privileges", privilege_list),
    Route("/api/v1/me/unread", my_unread),
    Route("/api/v1/me/watches", my_watches, methods=["GET"]),
    Route("/api/v1/me/watches", replace_watches, methods=["PUT"]),
    Route("/api/v1/me/notification-settings", my_notification_settings, methods=["GET"]),
    Route("/api/v1/me/notification-settings", put_notification_settings, methods=["PUT"]),
    Route("/api/v1/questions/{question_id}/watch", watch_question, methods=["PUT", "DELETE"]),
    Route("/api/v1/tags/{name}/watch", watch_tag, methods=["PUT", "DELETE"]),
    Route("/api/v1/preview", preview, methods=["POST"]),
    Route("/api/v1/uploads", upload, methods=["POST"]),
    Route("/uploads/{name}", serve_upload),
]
