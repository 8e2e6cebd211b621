"""The account's API: edit your profile, download your data (or, as an admin, a member's) as a ZIP,
and delete your account (or, as an admin, a member's). The pages in community/account_pages.py call
the same services."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from community import account_deletion, account_export, accounts, avatars, openapi, privileges, profile, serialise
from community.errors import NotFound
from community.models import User
from community.web import current_user, read_json


async def member(user_id: Any) -> User:
    """The member a path names (404 for what is not an id in range)."""
    try:
        return await accounts.get_user(int(user_id))
    except (TypeError, ValueError):
        raise NotFound("There is no member with that id.") from None


async def export_response(viewer: User | None, subject: User, config: Any) -> Response:
    """The member's data as a ZIP download, for the member or an admin."""
    account_export.may_export(viewer, subject)
    data = await account_export.build(subject, config)
    return Response(data, media_type="application/zip", headers={
        "content-disposition": f'attachment; filename="{account_export.file_name(subject)}"',
        "cache-control": "no-store",  # personal data: no cache keeps a copy
    })


def me_json(user: User) -> dict[str, Any]:
    return {**serialise.me(user), "location": user.location, "time_zone": user.time_zone or None,
            "avatar_url": avatars.avatar_url(user)}


async def update_me(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    body = await read_json(request)
    # A field left out keeps its value; null or "" empties it.
    fields = {f: body[f] if f in body else getattr(user, f) for f in ("display_name", "about", "location", "time_zone")}
    await profile.update(user, fields["display_name"], fields["about"], fields["location"], fields["time_zone"])
    return JSONResponse(me_json(user))


async def export_me(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    return await export_response(user, user, request.app.state.config)


async def export_user(request: Request) -> Response:
    viewer = privileges.require_user(await current_user(request))
    return await export_response(viewer, await member(request.path_params["user_id"]), request.app.state.config)


async def delete_me(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    body = await read_json(request)
    done = await account_deletion.delete_own(user, body.get("password"), body.get("confirm"), request.app.state.config)
    return JSONResponse({"id": done.id, "deleted_at": serialise.iso(done.deleted_at)})


async def delete_user(request: Request) -> Response:
    viewer = privileges.require_user(await current_user(request))
    body = await read_json(request)
    done = await account_deletion.delete_by_admin(viewer, request.path_params["user_id"], body.get("confirm"),
                                                  request.app.state.config)
    return JSONResponse({"id": done.id, "deleted_at": serialise.iso(done.deleted_at)})


routes = [
    Route("/api/v1/me", update_me, methods=["PATCH"]),
    Route("/api/v1/me", delete_me, methods=["DELETE"]),
    Route("/api/v1/me/export", export_me, methods=["GET"]),
    Route("/api/v1/users/{user_id}/export", export_user, methods=["GET"]),
    Route("/api/v1/users/{user_id}", delete_user, methods=["DELETE"]),
]

S = {"type": "string"}
openapi.describe("PATCH", "/api/v1/me", "Edit your profile: display name, about, location, IANA time zone (fields left out stay)",
                 {"display_name": S, "about": S, "location": S, "time_zone": S}, 200, True)
openapi.describe("DELETE", "/api/v1/me", "Delete your account (confirm: \"delete\", and your password); your posts stay, "
                 "shown as written by a deleted member", {"password": S, "confirm": S}, 200, True)
openapi.describe("GET", "/api/v1/me/export", "Your data as a ZIP of JSON files: profile, questions, answers, comments, "
                 "votes cast, reputation", auth=True)
openapi.describe("GET", "/api/v1/users/{user_id}/export", "A member's data as a ZIP (admins)", auth=True)
openapi.describe("DELETE", "/api/v1/users/{user_id}", "Delete a member's account (admins; confirm: \"delete\")",
                 {"confirm": S}, 200, True)
