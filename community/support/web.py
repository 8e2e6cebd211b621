"""The support room's plug: the staff desk pages, the support API, the escalation notice on
threads, the `escalation` key of question JSON, and the sweeper and webhook sender loops.

Importing this module registers the hooks; every handler reads input, calls one service in
community.support.tickets, and renders or answers JSON.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from community import api as community_api
from community import clock, openapi, privileges, questions
from community import pages as community_pages
from community.errors import DomainError, NotFound
from community.models import Post, User
from community.support import duplicates, policy, sla_notice, sweeper, tickets, webhooks
from community.web import current_user, read_form, read_json, redirect, render
from search.backend import search_backend

# ---- hooks into the community room -------------------------------------------------------------


async def thread_extras(question: Post, viewer: User | None) -> dict[str, Any]:
    """The public notice (and who is on it), the asker's "Ask for an agent" button, and the
    moderators' and agents' escalate / de-escalate forms, rendered by support/_thread.html."""
    # Ticket changes bump the content generation, so the ticket is read once per generation, not per view.
    t = await community_pages.kept_with_thread(question, "support_ticket", lambda: tickets.thread_ticket(question.id))
    active = t is not None and t.state in tickets.ACTIVE
    # Support has had its say once staff answered or resolved the ticket; only a ticket taken off the
    # queue by hand (de-escalated) leaves the asker free to ask again.
    handled = t is not None and (t.staff_answered or (t.state == "resolved" and t.resolution != "de_escalated"))
    ask_from = None
    can_ask = can_escalate = False
    now = clock.now()
    if viewer is not None and tickets.escalation_blocker(question) is None and not active:
        if viewer.is_staff or viewer.is_moderator:
            can_escalate = True
        elif viewer.id == question.author_id and question.state != "solved" and not handled:
            ask_from = tickets.asker_may_ask_from(question)
            can_ask = now >= ask_from
    return {
        "thread_includes": ["support/_thread.html"],
        "support": {
            "ticket": t, "active": active, "can_ask": can_ask, "ask_from": ask_from, "can_escalate": can_escalate,
            "can_de_escalate": active and viewer is not None and (viewer.is_staff or viewer.is_moderator),
            "step_in": sla_notice.step_in(question, viewer, t, now),
        },
    }


async def decorate_questions(items: list[tuple[Any, dict]], viewer: Any) -> None:
    found = await tickets.escalation_for([q.id for q, _ in items])  # one query for the whole page
    for q, data in items:
        data["escalation"] = tickets.escalation_json(found.get(q.id))


if thread_extras not in community_pages.THREAD_EXTRAS:
    community_pages.THREAD_EXTRAS.append(thread_extras)
if decorate_questions not in community_api.QUESTION_DECORATORS:
    community_api.QUESTION_DECORATORS.append(decorate_questions)


def configure(config: Any) -> None:
    """Apply the deployment's SLA_FIRST_ANSWER and webhook settings to this process."""
    policy.configure(config.sla_first_answer or "")
    webhooks.configure(config.support_webhook_url or "", config.support_webhook_secret or "")


async def startup(app: Starlette) -> list:
    config = app.state.config
    configure(config)
    loops = []
    if config.run_sweeper:
        loops.append(sweeper.sweeper_loop(config.escalation_sweep_seconds))
    if webhooks.enabled():
        loops.append(webhooks.delivery_loop())
    return loops


# ---- pages -------------------------------------------------------------------------------------

DESK_FILTERS = {"all": "All open", "unclaimed": "Unclaimed", "mine": "Mine", "breached": "Breached", "resolved": "Resolved"}


async def desk_page(request: Request) -> Response:
    user = privileges.require_staff(await current_user(request))
    p = request.query_params
    show = p.get("show", "all") if p.get("show") in DESK_FILTERS else "all"
    tag = (p.get("tag") or "").strip().lower() or None
    items, next_cursor = await tickets.list_tickets(
        user, state="resolved" if show == "resolved" else None, mine=show == "mine", breached=show == "breached",
        unclaimed=show == "unclaimed", tag=tag, cursor=p.get("cursor"))
    now = clock.now()
    return await render(request, "support/desk.html", {
        "items": items, "next_cursor": next_cursor, "show": show, "tag": tag or "", "filters": DESK_FILTERS,
        "counts": await tickets.desk_counts(user), "now": now, "breaches": {t.id: tickets.breaches(t, now) for t in items},
        "waits": {t.id: tickets.wait(t, now) for t in items},
        "titles": tickets.RESOLUTIONS | tickets.SYSTEM_RESOLUTIONS,
    })


async def _ticket_page(request: Request, user: User, error: str = "", values: dict | None = None, status: int = 200) -> Response:
    detail = await tickets.ticket_detail(user, request.path_params["ticket_id"])
    try:  # the whole thread as the community sees it: answers and comments, with their authors
        thread = await questions.thread_content(detail["question_id"])
    except NotFound:
        thread = None
    question = thread.question if thread else None
    answers = [a for a in thread.answers if questions.can_see(a, user)] if thread else []
    agents = await User.filter(role__in=("staff", "admin")).order_by("username") if user.role == "admin" else []
    similar = await duplicates.similar_solved(search_backend(request.app), question)
    return await render(request, "support/ticket.html", {
        "ticket": detail, "question": question, "answers": answers, "comments": thread.comments if thread else {}, "error": error, "values": values or {}, "agents": agents, "similar": similar,
        "resolutions": tickets.RESOLUTIONS, "titles": tickets.RESOLUTIONS | tickets.SYSTEM_RESOLUTIONS,
        "sources": tickets.SOURCE_TITLES, "actions": tickets.HISTORY_TITLES,
    }, status)


async def ticket_page(request: Request) -> Response:
    user = privileges.require_staff(await current_user(request))
    return await _ticket_page(request, user)


async def ticket_action(request: Request) -> Response:
    """Claim, release, reassign, reply, note or resolve from the desk; a refusal (e.g. someone
    else claimed it first) re-renders the ticket with the reason and the agent's text kept."""
    user = privileges.require_staff(await current_user(request))
    form = await read_form(request)
    tid, action = request.path_params["ticket_id"], request.path_params["action"]
    try:
        if action == "claim":
            await tickets.claim(user, tid)
        elif action == "release":
            await tickets.release(user, tid)
        elif action == "reassign":
            await tickets.reassign(user, tid, form.get("assignee"))
        elif action == "reply":
            await tickets.reply(user, tid, form.get("body"))
        elif action == "notes":
            await tickets.add_note(user, tid, form.get("body"))
        elif action == "resolve":
            await tickets.resolve(user, tid, form.get("resolution"))
        elif action == "reply-with-link":
            await duplicates.reply_with_link(user, tid, form.get("question_id"))
        elif action == "resolve-duplicate":
            await duplicates.resolve_duplicate(user, tid, form.get("question_id"))
        else:
            return await _ticket_page(request, user, "That is not something a ticket can do.", form, 404)
    except DomainError as err:
        if err.status == 401 or (err.status == 404 and err.field != "question_id"):
            raise
        return await _ticket_page(request, user, err.message, {**form, "action": action}, err.status)
    return redirect(f"/support/tickets/{tid}")


async def escalate_page(request: Request) -> Response:
    """The no-JavaScript home of escalation: the asker's one-click button and the moderators'
    form with a reason both post here."""
    user = privileges.require_user(await current_user(request))
    qid = request.path_params["question_id"]
    question = await questions.get_question(qid, user)
    if request.method == "GET":
        return await render(request, "support/escalate.html", {"question": question, "values": {}, "error": "", "undo": False})
    form = await read_form(request)
    try:
        await tickets.escalate(user, question.id, form.get("reason"))
    except DomainError as err:
        if err.status in (401, 404):
            raise
        return await render(request, "support/escalate.html", {"question": question, "values": form, "error": err.message,
                                                               "undo": False}, err.status)
    return redirect(f"/questions/{question.id}")


async def de_escalate_page(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    question = await questions.get_question(request.path_params["question_id"], user)
    if request.method == "GET":
        return await render(request, "support/escalate.html", {"question": question, "values": {}, "error": "", "undo": True})
    form = await read_form(request)
    try:
        await tickets.de_escalate(user, question.id, form.get("reason"))
    except DomainError as err:
        if err.status in (401, 404):
            raise
        return await render(request, "support/escalate.html", {"question": question, "values": form, "error": err.message,
                                                               "undo": True}, err.status)
    return redirect(f"/questions/{question.id}")


# ---- API ---------------------------------------------------------------------------------------

async def _staff(request: Request) -> User:
    """Who may use the support API: anonymous 401, members 403, before anything else is read."""
    return privileges.require_staff(await current_user(request))


async def api_escalate(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    body = await read_json(request)
    t = await tickets.escalate(user, community_api._int(request.path_params["question_id"], "question"), body.get("reason"))
    return JSONResponse({"escalation": tickets.escalation_json(t)}, status_code=201)


async def api_de_escalate(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    body = await read_json(request)
    t = await tickets.de_escalate(user, community_api._int(request.path_params["question_id"], "question"), body.get("reason"))
    return JSONResponse({"escalation": tickets.escalation_json(t)})


async def api_list(request: Request) -> Response:
    user = await _staff(request)
    p = request.query_params
    items, next_cursor = await tickets.list_tickets(user, p.get("state"), p.get("mine"), p.get("breached"), p.get("tag"),
                                                    p.get("unclaimed"), p.get("cursor"))
    now = clock.now()
    return JSONResponse({"items": [tickets.ticket_json(t, now) for t in items], "next_cursor": next_cursor})


async def api_detail(request: Request) -> Response:
    user = await _staff(request)
    return JSONResponse(await tickets.ticket_detail(user, request.path_params["ticket_id"]))


async def api_action(request: Request) -> Response:
    user = await _staff(request)
    body = await read_json(request)
    tid, action = request.path_params["ticket_id"], request.path_params["action"]
    if action == "claim":
        await tickets.claim(user, tid)
    elif action == "release":
        await tickets.release(user, tid)
    elif action == "reassign":
        await tickets.reassign(user, tid, body.get("assignee"))
    elif action == "reply":
        answer = await tickets.reply(user, tid, body.get("body"))
        return JSONResponse({"answer_id": answer.id, "question_id": answer.question_id, "official": True,
                             "ticket": await tickets.ticket_detail(user, tid)}, status_code=201)
    elif action == "notes":
        note = await tickets.add_note(user, tid, body.get("body"))
        return JSONResponse({"id": note.id, "body": note.body, "created_at": note.created_at.isoformat(),
                             "author": {"id": user.id, "username": user.username}}, status_code=201)
    elif action == "resolve":
        await tickets.resolve(user, tid, body.get("resolution"))
    elif action == "reply-with-link":
        answer = await duplicates.reply_with_link(user, tid, body.get("question_id"))
        return JSONResponse({"answer_id": answer.id, "question_id": answer.question_id, "official": True, "body": answer.body,
                             "ticket": await tickets.ticket_detail(user, tid)}, status_code=201)
    elif action == "resolve-duplicate":
        t = await duplicates.resolve_duplicate(user, tid, body.get("question_id"))
        question = await Post.filter(id=t.question_id).first()
        return JSONResponse({**await tickets.ticket_detail(user, tid),
                             "closed": {"reason": question.closed_reason, "duplicate_of": question.duplicate_of_id}})
    else:
        raise NotFound("A ticket can be claimed, released, reassigned, replied to, noted, resolved, "
                       "replied to with a link, or resolved as a duplicate.")
    return JSONResponse(await tickets.ticket_detail(user, tid))


async def api_similar(request: Request) -> Response:
    """The ticket's similar solved threads, as its page shows them."""
    user = await _staff(request)
    detail = await tickets.ticket_detail(user, request.path_params["ticket_id"])
    question = await Post.filter(id=detail["question_id"]).first()
    hits = await duplicates.similar_solved(search_backend(request.app), question)
    return JSONResponse({"items": [{**h.as_json(), "url": f"/questions/{h.question_id}"} for h in hits]})


routes = [
    Route("/support", desk_page),
    Route("/support/tickets/{ticket_id}", ticket_page),
    Route("/support/tickets/{ticket_id}/{action}", ticket_action, methods=["POST"]),
    Route("/questions/{question_id}/escalate", escalate_page, methods=["GET", "POST"]),
    Route("/questions/{question_id}/de-escalate", de_escalate_page, methods=["GET", "POST"]),
    Route("/api/v1/questions/{question_id}/escalate", api_escalate, methods=["POST"]),
    Route("/api/v1/questions/{question_id}/de-escalate", api_de_escalate, methods=["POST"]),
    Route("/api/v1/support/tickets", api_list),
    Route("/api/v1/support/tickets/{ticket_id}", api_detail),
    Route("/api/v1/support/tickets/{ticket_id}/similar", api_similar),
    Route("/api/v1/support/tickets/{ticket_id}/{action}", api_action, methods=["POST"]),
]

S = {"type": "string"}
openapi.describe("POST", "/api/v1/questions/{question_id}/escalate",
                 "Ask for an agent (the asker, once past the SLA) or escalate by hand (moderators, staff)", {"reason": S}, 201, True)
openapi.describe("POST", "/api/v1/questions/{question_id}/de-escalate", "Take a question off the support queue", {"reason": S}, 200, True)
openapi.describe("GET", "/api/v1/support/tickets", "The support queue, most urgent first (staff)", auth=True,
                 query=["state", "mine", "breached", "unclaimed", "tag", "cursor"])
openapi.describe("GET", "/api/v1/support/tickets/{ticket_id}", "A ticket with its history and internal notes (staff)", auth=True)
openapi.describe("POST", "/api/v1/support/tickets/{ticket_id}/claim", "Claim a ticket; 409 names the agent who has it", None, 200, True)
openapi.describe("POST", "/api/v1/support/tickets/{ticket_id}/release", "Hand a ticket back to the queue", None, 200, True)
openapi.describe("POST", "/api/v1/support/tickets/{ticket_id}/reassign", "Give a ticket to another agent (leads)", {"assignee": S}, 200, True)
openapi.describe("POST", "/api/v1/support/tickets/{ticket_id}/reply", "Post an Official support answer in the thread", {"body": S}, 201, True)
openapi.describe("POST", "/api/v1/support/tickets/{ticket_id}/notes", "Add an internal note", {"body": S}, 201, True)
openapi.describe("POST", "/api/v1/support/tickets/{ticket_id}/resolve", "Resolve: answered_by_staff, answered_by_community, "
                 "duplicate or no_response", {"resolution": S}, 200, True)
openapi.describe("GET", "/api/v1/support/tickets/{ticket_id}/similar", "The five threads most like the ticket's question "
                 "that are solved (staff)", auth=True)
openapi.describe("POST", "/api/v1/support/tickets/{ticket_id}/reply-with-link", "Post an Official support answer linking to "
                 "another thread (422 bad or own question_id, 404 unknown)", {"question_id": {"type": "integer"}}, 201, True)
openapi.describe("POST", "/api/v1/support/tickets/{ticket_id}/resolve-duplicate", "Resolve as duplicate: close the question "
                 "as a duplicate of question_id and resolve the ticket \"duplicate\" (409 if resolved or closed)",
                 {"question_id": {"type": "integer"}}, 200, True)
