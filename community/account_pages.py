"""A member's account page: their email address (confirm it, change it), change the password, see where
they are logged in, list and revoke API tokens."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from community import accounts, email_address, privileges, settings
from community.errors import Conflict, Invalid, TooMany
from community.mail_links import CONFIRM_MAX_AGE, Site
from community.web import client_address, current_user, read_form, redirect, render, session_key, with_retry_after

# What a finished action says at the top of the page after its redirect (?done=...).
_DONE = {
    "password": "Your password is changed. Every other session has ended and every API token is revoked.",
    "sessions": "You are logged out everywhere else.",
    "revoked": "The token is revoked; programs using it can no longer sign in with it.",
    "confirmation": f"We sent the confirmation link again: open it within {CONFIRM_MAX_AGE // 86400} days.",
    "email_sent": f"We sent a link to your new address: open it within {CONFIRM_MAX_AGE // 86400} days to make it your "
                  "address. Until then mail keeps going to the current one.",
    "email_cancelled": "The change is cancelled; your address stays as it is.",
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
    response = await render(request, "community/account.html", {
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


routes = [
    Route("/account", account_page),
    Route("/account/password", change_password, methods=["POST"]),
    Route("/account/email", change_email, methods=["POST"]),
    Route("/account/email/confirm", send_confirmation_again, methods=["POST"]),
    Route("/account/sessions/end-others", end_other_sessions, methods=["POST"]),
    Route("/account/tokens", create_token, methods=["POST"]),
    Route("/account/tokens/{token_id}/revoke", revoke_token, methods=["POST"]),
]
