"""The admin console's Members section (/admin/members) and its API (/api/v1/admin/users): moderators
and admins find a member and act on them; the rules live in community/admin/members.py."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from community import openapi, privileges
from community.admin import members
from community.errors import DomainError, Invalid, NotAllowed, NotFound
from community.models import ROLES, ApiToken, MemberSession, User
from community.web import current_user, read_form, read_json, redirect, render
from moderation import audit

DONE = {
    "role": "The role is changed. The member's sessions ended: they log in again under the new role.",
    "suspend": "The member is suspended and logged out everywhere; they see the reason when they log in.",
    "lift": "The suspension is lifted; the member can post again.",
    "reset": "A password reset link is on its way to the member's address (it works for an hour).",
    "end": "Every session has ended and every API token is revoked: the member must log in again.",
}


async def search_page(request: Request) -> Response:
    viewer = privileges.require_moderator(await current_user(request))
    p = request.query_params
    q = p.get("q", "")
    try:
        rows, next_cursor = await members.search(viewer, q, p.get("cursor"))
        error, status = "", 200
    except Invalid as err:
        rows, next_cursor, error, status = [], None, err.message, 422
    return await render(request, "admin/members.html", {
        "rows": rows, "query": q, "next_cursor": next_cursor, "error": error, "paged": bool(p.get("cursor")),
    }, status)


async def _page(request: Request, viewer: User, user_id: Any, errors: dict[str, str] | None = None,
                values: dict[str, Any] | None = None, status: int = 200) -> Response:
    row = await members.member(viewer, user_id)
    member = row.user
    live_sessions = await MemberSession.filter(user_id=member.id, ended_at=None).count()
    live_tokens = await ApiToken.filter(user_id=member.id, revoked_at=None).count()
    try:
        privileges.require_over(viewer, member, "act on")
        may_act = True
    except NotAllowed:
        may_act = False
    return await render(request, "admin/member.html", {
        "row": row, "member": member, "roles": [(r, privileges.role_title(r)) for r in ROLES],
        "may_change_role": viewer.role == "admin" and viewer.id != member.id, "may_act": may_act,
        "live_sessions": live_sessions, "live_tokens": live_tokens, "mail_on": bool(request.app.state.config.smtp_url),
        "entries": await members.audit_entries(viewer, member.id), "action_titles": audit.ACTION_TITLES, "errors": errors or {}, "values": values or {},
        "done": DONE.get(request.query_params.get("done", ""), ""),
    }, status)


async def member_page(request: Request) -> Response:
    viewer = privileges.require_moderator(await current_user(request))
    return await _page(request, viewer, request.path_params["user_id"])


def _action(name: str):
    """A form on the member page: run the action, then show the page again with what happened, or with
    the refusal next to the form that caused it (and what was typed)."""

    async def handler(request: Request) -> Response:
        viewer = privileges.require_moderator(await current_user(request))
        uid = request.path_params["user_id"]
        form = await read_form(request)
        try:
            if name == "role":
                await members.change_role(viewer, uid, form.get("role"))
            elif name == "suspend":
                await members.suspend(viewer, uid, form.get("days"), form.get("reason"))
            elif name == "lift":
                await members.lift_suspension(viewer, uid)
            elif name == "reset":
                await members.send_reset(viewer, uid, request.app.state.config)
            else:
                await members.end_sessions(viewer, uid)
        except NotFound:
            raise
        except DomainError as err:
            # A refused value goes next to its field; any other refusal heads the page.
            where = err.field if isinstance(err, Invalid) and err.field in ("role", "days", "reason") else "form"
            return await _page(request, viewer, uid, {where: err.message}, {"section": name, **form}, err.status)
        return redirect(f"/admin/members/{int(uid)}?done={name}")

    return handler


async def api_users(request: Request) -> Response:
    viewer = privileges.require_moderator(await current_user(request))
    p = request.query_params
    rows, next_cursor = await members.search(viewer, p.get("q", ""), p.get("cursor"))
    return JSONResponse({"items": [members.as_json(r, viewer) for r in rows], "next": next_cursor})


async def api_user(request: Request) -> Response:
    viewer = privileges.require_moderator(await current_user(request))
    return JSONResponse(members.as_json(await members.member(viewer, request.path_params["user_id"]), viewer))


async def api_update(request: Request) -> Response:
    viewer = privileges.require_moderator(await current_user(request))
    body = await read_json(request)
    row = await members.update(viewer, request.path_params["user_id"], body, request.app.state.config)
    return JSONResponse(members.as_json(row, viewer))


routes = [
    Route("/admin/members", search_page),
    Route("/admin/members/{user_id}", member_page),
    *[Route(f"/admin/members/{{user_id}}/{name}", _action(name), methods=["POST"])
      for name in ("role", "suspend", "lift", "reset", "end")],
    Route("/api/v1/admin/users", api_users),
    Route("/api/v1/admin/users/{user_id}", api_user),
    Route("/api/v1/admin/users/{user_id}", api_update, methods=["PATCH"]),
]

S, I, B = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
openapi.describe("GET", "/api/v1/admin/users", "Members by username, display name or email (moderators and admins): "
                 "{items: [{id, username, display_name, email, role, reputation, status (active, suspended, deleted, "
                 "bouncing), last_seen_at, sign_in_methods}], next}", auth=True, query=["q", "cursor"])
openapi.describe("GET", "/api/v1/admin/users/{user_id}", "One member as the console shows them (moderators and admins)", auth=True)
openapi.describe("PATCH", "/api/v1/admin/users/{user_id}",
                 "Act on a member: role (admins), suspend_days with suspension_reason, lift_suspension, end_sessions "
                 "(ends every session and revokes every token), send_reset (queues a reset link); a moderator acts on "
                 "members and agents only. Returns the member; 422 names a refused field and nothing is changed",
                 {"role": {"type": "string", "enum": list(ROLES)}, "suspend_days": I, "suspension_reason": S,
                  "lift_suspension": B, "end_sessions": B, "send_reset": B}, 200, True)
