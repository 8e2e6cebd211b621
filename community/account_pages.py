"""A member's account page: their profile and picture, their email address (confirm it, change it),
change the password, see where they are logged in, list and revoke API tokens, download their data
and delete the account; and the generated avatars."""

from __future__ import annotations

import re
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from community import (account_api, account_deletion, accounts, avatars, email_address, inputs, oidc, privileges,
                       profile, settings, web)
from community.errors import BadRequest, Conflict, Invalid, NotAllowed, NotFound, TooLarge, TooMany
from community.mail_links import CONFIRM_MAX_AGE, Site
from community.web import (check_csrf, client_address, current_user, log_out, read_form, redirect, render, session_key,
                           with_retry_after)

web.templates.env.globals["avatar_url"] = avatars.avatar_url
# A picture up to twice the limit still reaches the form, which says the limit beside the field.
AVATAR_BODY = 2 * avatars.MAX_BYTES + 64 * 1024
web.LARGER_BODIES.append((re.compile(r"^/account/avatar$"), AVATAR_BODY,
                          f"Pictures may be at most {avatars.MAX_BYTES // 1048576} MB; this one is far larger.", "avatar"))
PROFILE_FIELDS = ("display_name", "about", "location", "time_zone")

# What a finished action says at the top of the page after its redirect (?done=...).
_DONE = {
    "password": "Your password is changed. Every other session has ended and every API token is revoked.",
    "sessions": "You are logged out everywhere else.",
    "revoked": "The token is revoked; programs using it can no longer sign in with it.",
    "confirmation": f"We sent the confirmation link again: open it within {CONFIRM_MAX_AGE // 86400} days.",
    "email_sent": f"We sent a link to your new address: open it within {CONFIRM_MAX_AGE // 86400} days to make it your "
                  "address. Until then mail keeps going to the current one.",
    "email_cancelled": "The change is cancelled; your address stays as it is.",
    "profile": "Your profile is saved.",
    "avatar": "Your picture is saved; it shows beside your posts.",
    "avatar_removed": "Your picture is removed; a generated one with your initials shows instead.",
}


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Chromium/", "Chromium"),
             ("Safari/", "Safari"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"), ("Mac OS X", "macOS"),
            ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def browser_name(user_agent: str) -> str:
    """What a person calls the browser behind a User-Agent header: "Firefox on Windows"."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), "")
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or (user_agent[:40] if user_agent else "Unknown browser")


async def _page(request: Request, user: Any, extra: dict[str, Any], status: int = 200) -> Response:
    key = session_key(request)
    values = extra.get("values", {})
    response = await render(request, "community/account.html", {
        "profile_values": {f: values.get(f, getattr(user, f)) for f in PROFILE_FIELDS},
        "zone_groups": profile.zone_groups(),
        "avatar_max_mb": avatars.MAX_BYTES // 1048576,
        "confirm_word": account_deletion.CONFIRM_WORD,
        "tokens": await accounts.tokens(user),
        "sessions": await accounts.sessions(user),
        "this_session": key,
        "token_expires": accounts.token_expires,
        "token_days": settings.get("auth.token_days"),
        "browser_name": browser_name,
        "done": _DONE.get(request.query_params.get("done", "")),
        "errors": {}, "values": {},
        **extra,
    }, status)
    response.headers["cache-control"] = "no-store"  # a new token is shown on this page once
    return response


async def account_page(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    return await _page(request, user, {})


async def change_password(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    oidc.refuse_passwords(request, user)
    form = await read_form(request)
    try:
        await accounts.change_password(user, form.get("current_password"), form.get("new_password"), session_key(request))
    except (Invalid, TooMany) as err:
        # Passwords are never sent back into the page; the message says which one to fix.
        return await _page(request, user, {"errors": {err.field or "password_form": err.message}}, err.status)
    return redirect("/account?done=password#password")


async def send_confirmation_again(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    await read_form(request)
    config = request.app.state.config
    try:
        await email_address.send_again(user, Site.from_config(config), address=client_address(request),
                                       mail_on=bool(config.smtp_url))
    except (Invalid, Conflict, TooMany) as err:
        page = await _page(request, user, {"errors": {err.field or "email_form": err.message}}, err.status)
        return with_retry_after(page, err)
    return redirect("/account?done=confirmation#email")


async def change_email(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    form = await read_form(request)
    config = request.app.state.config
    try:
        done = await email_address.change(user, form.get("new_email"), form.get("email_password"), Site.from_config(config),
                                          address=client_address(request), mail_on=bool(config.smtp_url))
    except (Invalid, TooMany) as err:
        # The password is never sent back into the page; the address is.
        page = await _page(request, user, {"errors": {err.field or "email_form": err.message},
                                           "values": {"new_email": form.get("new_email", "")}}, err.status)
        return with_retry_after(page, err)
    return redirect(f"/account?done=email_{done}#email")


async def end_other_sessions(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    await read_form(request)
    await accounts.end_sessions(user.id, keep=session_key(request))
    return redirect("/account?done=sessions#sessions")


async def create_token(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    form = await read_form(request)
    try:
        token, row = await accounts.new_token(user, form.get("label"))
    except Invalid as err:
        return await _page(request, user, {"errors": {err.field or "token_form": err.message},
                                           "values": {"label": form.get("label", "")}}, err.status)
    return await _page(request, user, {"new_token": token, "new_token_row": row})


async def revoke_token(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    await read_form(request)
    await accounts.revoke_member_token(user, request.path_params["token_id"])
    return redirect("/account?done=revoked#tokens")


async def save_profile(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    form = await read_form(request)
    try:
        await profile.update(user, *(form.get(f) for f in PROFILE_FIELDS))
    except Invalid as err:
        errors = getattr(err, "errors", None) or {err.field or "profile_form": err.message}
        return await _page(request, user, {"errors": errors, "values": {f: form.get(f, "") for f in PROFILE_FIELDS}}, err.status)
    return redirect("/account?done=profile#profile")


async def _picture(request: Request) -> bytes:
    """The uploaded file's bytes (at most a little over the limit: the service says how big is too big)."""
    try:
        form = await request.form(max_files=1, max_fields=5)
    except TooLarge:
        raise
    except Exception:
        raise BadRequest("The upload could not be read; please choose the picture again.") from None
    try:
        check_csrf(request, form)
        inputs.check_form({k: v for k, v in form.multi_items() if isinstance(v, str)})
        file = form.get("avatar")
        return await file.read(avatars.MAX_BYTES + 1) if isinstance(file, UploadFile) else b""
    finally:
        await form.close()


async def upload_avatar(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    data = await _picture(request)
    try:
        await avatars.set_avatar(user, data, request.app.state.config, address=client_address(request))
    except (Invalid, NotAllowed, TooMany) as err:
        page = await _page(request, user, {"errors": {"avatar": err.message}}, err.status)
        return with_retry_after(page, err)
    return redirect("/account?done=avatar#picture")


async def remove_avatar(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    await read_form(request)
    await avatars.remove_avatar(user, request.app.state.config)
    return redirect("/account?done=avatar_removed#picture")


async def export_own(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    await read_form(request)
    return await account_api.export_response(user, user, request.app.state.config)


async def export_member(request: Request) -> Response:
    """An admin downloads a member's data from their profile."""
    viewer = privileges.require_user(await current_user(request))
    await read_form(request)
    member = await account_api.member(request.path_params["user_id"])
    return await account_api.export_response(viewer, member, request.app.state.config)


async def delete_own(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    form = await read_form(request)
    try:
        await account_deletion.delete_own(user, form.get("delete_password"), form.get("confirm"), request.app.state.config)
    except (Invalid, Conflict, TooMany) as err:
        # The password is never sent back into the page; the word typed is.
        page = await _page(request, user, {"errors": {err.field or "delete_form": err.message},
                                           "values": {"confirm": form.get("confirm", "")}}, err.status)
        return with_retry_after(page, err)
    await log_out(request)
    request.state.user = None  # the page below is an anonymous reader's
    return await render(request, "community/account_deleted.html", {"own": True})


async def delete_member(request: Request) -> Response:
    """An admin deletes a member's account from their profile."""
    viewer = privileges.require_user(await current_user(request))
    form = await read_form(request)
    member = await account_deletion.delete_by_admin(viewer, request.path_params["user_id"], form.get("confirm"),
                                                    request.app.state.config)
    return await render(request, "community/account_deleted.html", {"own": False, "member_id": member.id})


_SVG_NAME = re.compile(r"^(\d{1,10})\.svg$")
# The SVG is an image, never a page: nothing in it may load or run, whoever opens it directly.
_SVG_HEADERS = {"cache-control": "public, max-age=86400", "content-security-policy": "default-src 'none'; sandbox"}


async def avatar_svg(request: Request) -> Response:
    """A member's generated avatar (/avatars/ID.svg), or the deleted member's (/avatars/member.svg)."""
    name = request.path_params["name"]
    found = _SVG_NAME.match(name)
    if name == avatars.ANONYMOUS_URL.rsplit("/", 1)[1]:
        svg = avatars.default_svg(None, profile.DELETED_NAME)
    elif found:
        svg = await avatars.default_for(int(found.group(1)))
    else:
        raise NotFound("There is no avatar at this address.")
    return Response(svg, media_type="image/svg+xml", headers=_SVG_HEADERS)


routes = [
    Route("/account", account_page),
    Route("/account/profile", save_profile, methods=["POST"]),
    Route("/account/avatar", upload_avatar, methods=["POST"]),
    Route("/account/avatar/remove", remove_avatar, methods=["POST"]),
    Route("/account/export", export_own, methods=["POST"]),
    Route("/account/delete", delete_own, methods=["POST"]),
    Route("/users/{user_id}/export", export_member, methods=["POST"]),
    Route("/users/{user_id}/delete", delete_member, methods=["POST"]),
    Route("/avatars/{name}", avatar_svg),
    Route("/account/password", change_password, methods=["POST"]),
    Route("/account/email", change_email, methods=["POST"]),
    Route("/account/email/confirm", send_confirmation_again, methods=["POST"]),
    Route("/account/sessions/end-others", end_other_sessions, methods=["POST"]),
    Route("/account/tokens", create_token, methods=["POST"]),
    Route("/account/tokens/{token_id}/revoke", revoke_token, methods=["POST"]),
    *account_api.routes,
]
