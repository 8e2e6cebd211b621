"""HTML pages of the moderation room: review queue, flag and close forms, revisions, moderation
tools, suspension and the audit log. Each handler reads input, calls one service, renders."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from community import accounts, privileges, questions
from community.errors import Conflict, Invalid, NotAllowed, NotFound, TooMany
from community.web import client_address, current_user, read_form, redirect, render, with_retry_after
from moderation import audit, closing, flags, members, posts, review, revisions
from moderation.models import CLOSE_REASONS, FLAG_REASONS
from search import related
from search.backend import search_backend


def _thread_url(post: Any) -> str:
    return f"/questions/{posts.question_id_of(post)}#post-{post.id}"


async def review_page(request: Request, message: str = "", status: int = 200) -> Response:
    user = await current_user(request)
    privileges.require_user(user)
    queue = request.query_params.get("queue") or None
    queues = await review.summary(user)
    items = await review.waiting(user, queue)
    done = request.query_params.get("done", "")
    voted = request.query_params.get("voted", "")
    waiting_for = request.query_params.get("waiting_for", "")
    return await render(request, "moderation/review.html", {
        "queues": queues, "items": items, "queue": queue, "message": message, "done": done, "voted": voted,
        "waiting_for": waiting_for,
        "decision_titles": review.DECISION_TITLES, "flag_titles": flags.REASON_TITLES, "queue_titles": review.QUEUE_TITLES,
        "close_titles": closing.REASON_TITLES, "can_vote_close": privileges.has(user, "close"),
    }, status)


async def review_decide(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    form = await read_form(request)
    try:
        result = await review.decide(user, request.path_params["item_id"], form.get("decision"), form.get("reason"))
    except (Conflict, Invalid, NotAllowed) as err:
        return await review_page(request, err.message, err.status)
    title = review.DECISION_TITLES.get(result["decision"], result["decision"])
    if result["decided"] or result["queue"] in ("close", "reopen"):
        query = {"done": title}
    else:  # a vote to remove, waiting for another reviewer or for a moderator
        query = {"voted": title, "waiting_for": result["waiting_for"]}
    if form.get("queue"):
        query["queue"] = form["queue"]
    return redirect("/review?" + urlencode(query))


async def flag_page(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    post = await questions.get_post(request.path_params["post_id"], user)
    values: dict[str, Any] = {}
    if request.method == "POST":
        values = await read_form(request)
        try:
            await flags.raise_flag(user, post.id, values.get("reason"), values.get("message"),
                                   address=client_address(request))
        except (Invalid, Conflict, NotAllowed, TooMany) as err:
            return with_retry_after(await render(request, "moderation/flag.html", {
                "post": post, "values": values, "errors": {err.field or "form": err.message},
                "reasons": FLAG_REASONS, "titles": flags.REASON_TITLES}, err.status), err)
        return redirect(_thread_url(post))
    privileges.require(user, "flag")
    return await render(request, "moderation/flag.html", {"post": post, "values": values, "errors": {},
                                                          "reasons": FLAG_REASONS, "titles": flags.REASON_TITLES})


async def _likely_originals(request: Request, q: Any) -> list:
    """What the close form offers as the original: similar threads, solved first, each a radio."""
    return [] if q.closed_reason else await related.similar_to(search_backend(request.app), q)


async def close_page(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    q = await questions.get_question(request.path_params["question_id"], user)
    ctx: dict[str, Any] = {"question": q, "values": {}, "errors": {}, "reasons": CLOSE_REASONS, "titles": closing.REASON_TITLES,
                           "labels": closing.REASON_LABELS}
    if request.method == "POST":
        ctx["values"] = form = await read_form(request)
        # An id typed in the field wins over a suggestion chosen above it; giving one means "duplicate".
        original = (form.get("duplicate_of") or "").strip() or form.get("suggested_original") or ""
        if original and not form.get("reason"):
            form["reason"] = "duplicate"
        try:
            await closing.vote(user, q.id, "close", form.get("reason"), original)
        except (Invalid, Conflict) as err:
            ctx["errors"] = {err.field or "form": err.message}
            ctx["suggestions"] = await _likely_originals(request, q)
            return await render(request, "moderation/close.html", ctx, err.status)
        return redirect(f"/questions/{q.id}")
    privileges.require(user, "close")
    ctx["suggestions"] = await _likely_originals(request, q)
    ctx["votes"] = await closing._tally(q, "reopen" if q.closed_reason else "close", None)
    return await render(request, "moderation/close.html", ctx)


async def reopen(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    await read_form(request)
    result = await closing.vote(user, request.path_params["question_id"], "reopen")
    return redirect(f"/questions/{result['question_id']}")


async def revisions_page(request: Request) -> Response:
    user = await current_user(request)
    post, views = await revisions.history(request.path_params["post_id"], user)
    can_roll_back = user is not None and (user.id == post.author_id or privileges.has(user, "edit"))
    return await render(request, "moderation/revisions.html", {"post": post, "views": views, "can_roll_back": can_roll_back,
                                                               "thread_url": _thread_url(post)})


async def rollback(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    form = await read_form(request)
    post = await revisions.rollback(user, request.path_params["post_id"], form.get("revision"), form.get("comment"))
    return redirect(f"/posts/{post.id}/revisions")


async def edit_submit(request: Request) -> Response:
    """The community edit form posts here: an edit, or a suggested edit for members under the edit privilege."""
    user = privileges.require_user(await current_user(request))
    post = await questions.get_post(request.path_params["post_id"], user)
    form = await read_form(request)
    try:
        outcome, _ = await revisions.edit(user, post.id, form.get("title") if post.is_question else None, form.get("body"),
                                          form.get("tags") if post.is_question else None, form.get("comment"))
    except (Invalid, NotAllowed, Conflict) as err:
        return await render(request, "community/edit.html", {"post": post, "values": form,
                                                             "errors": {err.field or "form": err.message}}, err.status)
    if outcome == "suggested":
        return await render(request, "moderation/suggested.html", {"post": post, "thread_url": _thread_url(post),
                                                                   "edit_reputation": privileges.PRIVILEGES["edit"].reputation}, 202)
    return redirect(_thread_url(post))


async def tools_page(request: Request) -> Response:
    privileges.require(await current_user(request), "moderate")
    post = await posts.load_post(request.path_params["post_id"])
    return await render(request, "moderation/tools.html", {"post": post, "thread_url": _thread_url(post)})


def _tool(action: str):
    """A moderation-tools form handler: lock, unlock, delete or undelete."""

    async def handler(request: Request) -> Response:
        user = privileges.require_user(await current_user(request))
        form = await read_form(request)
        pid, reason = request.path_params["post_id"], form.get("reason")
        if action in ("lock", "unlock"):
            post = await posts.set_locked(user, pid, action == "lock", reason)
        elif action == "delete":
            post = await posts.delete(user, pid, reason)
        else:
            post = await posts.undelete(user, pid, reason)
        return redirect(f"/posts/{post.id}/moderate?done={action}")

    return handler


async def suspend_page(request: Request) -> Response:
    user = privileges.require_moderator(await current_user(request))
    try:
        member = await accounts.get_user(int(request.path_params["user_id"]))
    except (ValueError, OverflowError):
        raise NotFound("There is no member with that id.") from None
    ctx: dict[str, Any] = {"member": member, "values": {}, "errors": {}}
    if request.method == "POST":
        ctx["values"] = form = await read_form(request)
        try:
            await members.suspend(user, member.id, form.get("days"), form.get("reason"))
        except (Invalid, NotAllowed) as err:
            ctx["errors"] = {err.field or "form": err.message}
            return await render(request, "moderation/suspend.html", ctx, err.status)
        return redirect(f"/moderation/log?user_id={member.id}")
    return await render(request, "moderation/suspend.html", ctx)


async def log_page(request: Request) -> Response:
    p = request.query_params
    filters = {k: p.get(k, "") for k in ("action", "actor", "post_id", "user_id")}
    try:
        rows, before = await audit.entries(await current_user(request), p.get("action"), p.get("actor"), p.get("post_id"),
                                           p.get("user_id"), p.get("before"))
        error = ""
    except Invalid as err:
        privileges.require_moderator(await current_user(request))
        rows, before, error = [], None, err.message
    next_query = urlencode({**{k: v for k, v in filters.items() if v}, "before": before}) if before else ""
    posts_on, members_on = await audit.subjects(rows)
    return await render(request, "moderation/log.html", {"rows": rows, "filters": filters, "actions": audit.ACTIONS,
                                                         "action_titles": audit.ACTION_TITLES, "posts_on": posts_on,
                                                         "members_on": members_on, "error": error, "next_query": next_query},
                        422 if error else 200)


routes = [
    Route("/review", review_page),
    Route("/review/{item_id}", review_decide, methods=["POST"]),
    Route("/posts/{post_id}/flag", flag_page, methods=["GET", "POST"]),
    Route("/questions/{question_id}/close", close_page, methods=["GET", "POST"]),
    Route("/questions/{question_id}/reopen", reopen, methods=["POST"]),
    Route("/posts/{post_id}/revisions", revisions_page),
    Route("/posts/{post_id}/rollback", rollback, methods=["POST"]),
    Route("/posts/{post_id}/edit", edit_submit, methods=["POST"]),
    Route("/posts/{post_id}/moderate", tools_page),
    *[Route(f"/posts/{{post_id}}/{action}", _tool(action), methods=["POST"]) for action in ("lock", "unlock", "delete", "undelete")],
    Route("/users/{user_id}/suspend", suspend_page, methods=["GET", "POST"]),
    Route("/moderation/log", log_page),
]
