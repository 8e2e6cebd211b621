"""Sign in with OpenID Connect: the pages and routes (the protocol is community/oidc_flow.py, members
and their identities community/oidc_accounts.py, the configuration community/oidc_settings.py).

- GET /login/oidc/{name}: a fresh state, nonce and PKCE verifier kept in the signed session, then
  off to the provider. GET /login/oidc/{name}/callback: state first, then the code exchange and the
  ID token's checks; a failure is a page saying what did not work (400) and starts no session.
- GET/POST /login/oidc/{name}/existing: a first sign-in whose verified address belongs to a password
  member here; that account's forum password links the identity (kept in the session meanwhile).
- /account/sign-in: the member's linked providers; linking one needs the password, unlinking
  keeps at least one way to sign in.
- SSO_ONLY=1: sign-up and password log-in are refused for members (`refuse_passwords`); admins
  keep /admin/login. Log-out sends the browser to the provider's end-session endpoint when it has one.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any
from urllib.parse import quote

from jinja2 import pass_context
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from community import accounts, clock, email_address, oidc_accounts, privileges, web
from community.errors import Conflict, DomainError, Invalid, NotAllowed, NotFound, TooMany
from community.models import User
from community.oidc_flow import Provider, SignInFailed
from community.oidc_settings import ProviderSettings
from community.web import client_address, current_user, log_in, read_form, redirect, render, with_retry_after

log = logging.getLogger("community.oidc")
FLOW_KEY, SIGNED_IN_KEY = "oidc_flow", "oidc"
FLOW_SECONDS = 15 * 60  # an authorization request left longer than this is not finished


def _config(request: Request) -> Any:
    return request.app.state.config


def configured(request: Request) -> list[ProviderSettings]:
    return list(_config(request).oidc_providers)


def sso_only(request: Request) -> bool:
    """SSO_ONLY is set and there is a provider to sign in with (without one it would lock everyone out)."""
    config = _config(request)
    return bool(config.sso_only and config.oidc_providers)


def _labels(request: Request) -> str:
    return " or ".join(f"“Sign in with {p.label}”" for p in configured(request))


def refuse_passwords(request: Request, user: User | None = None) -> None:
    """Under SSO_ONLY, sign-up and passwords are not for members: refuse with where to go instead.
    `user`: an admin (the emergency log-in, an admin's API token) is let through."""
    if not sso_only(request) or (user is not None and user.role == "admin"):
        return
    raise NotAllowed(f"This community signs members in through their company account: use {_labels(request)} "
                     "on the log-in page. Administrators have an emergency log-in at /admin/login.")


def providers(request: Request) -> dict[str, Provider]:
    """Each configured provider, its discovery document and keys kept for the life of the app."""
    kept: dict[str, Provider] | None = getattr(request.app.state, "oidc_providers", None)
    if kept is None:
        base = _config(request).base_url
        kept = request.app.state.oidc_providers = {p.name: Provider(p, base) for p in configured(request)}
    return kept


def _provider(request: Request) -> Provider:
    found = providers(request).get(request.path_params["name"])
    if found is None:
        raise NotFound("There is no sign-in provider with that name here. Go back to the log-in page and choose one.")
    return found


def _safe_next(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    return value if value.isprintable() and "\\" not in value and len(value) < 500 else "/"


async def _failed(request: Request, provider: Provider, reason: str, status: int = 400) -> Response:
    page = await render(request, "community/oidc_failed.html", {
        "label": provider.settings.label, "name": provider.settings.name, "reason": reason.rstrip("."),
        "status": status}, status)
    page.headers["cache-control"] = "no-store"
    return page


async def _begin(request: Request, provider: Provider, next_path: str, link_uid: int = 0) -> Response:
    try:
        started = await provider.start()
    except SignInFailed as exc:
        return await _failed(request, provider, exc.reason, exc.status)
    request.session[FLOW_KEY] = {"p": provider.settings.name, "s": started.state, "n": started.nonce,
                                 "v": started.verifier, "next": next_path, "link": link_uid,
                                 "t": int(clock.now().timestamp())}
    response = redirect(started.url)
    response.headers["cache-control"] = "no-store"
    return response


async def start(request: Request) -> Response:
    """GET /login/oidc/{name}: off to the provider."""
    provider = _provider(request)
    return await _begin(request, provider, _safe_next(request.query_params.get("next")))


def _take_flow(request: Request, provider: Provider) -> dict[str, Any]:
    """The authorization request this browser started, taken out of the session (a callback is used once)."""
    flow = request.session.pop(FLOW_KEY, None)
    if not isinstance(flow, dict) or flow.get("p") != provider.settings.name:
        raise SignInFailed("this browser did not start a sign-in with it (or already finished it)")
    sent = request.query_params.get("state", "")
    if not sent or not secrets.compare_digest(sent, str(flow.get("s", ""))):
        raise SignInFailed("the answer does not belong to the sign-in this browser started (its state is wrong)")
    if clock.now().timestamp() - float(flow.get("t", 0)) > FLOW_SECONDS:
        raise SignInFailed("it took longer than 15 minutes")
    return flow


async def callback(request: Request) -> Response:
    """GET /login/oidc/{name}/callback: state, code exchange, ID token; then the member's session."""
    provider = _provider(request)
    settings, params = provider.settings, request.query_params
    linking = False
    try:
        flow = _take_flow(request, provider)
        linking = bool(flow.get("link"))
        if params.get("error"):
            said = (params.get("error_description") or params["error"])[:200]
            raise SignInFailed(f"{settings.label} said “{said}”")
        code = params.get("code", "")
        if not code:
            raise SignInFailed(f"{settings.label} sent no sign-in code")
        signed = await provider.finish(code, str(flow["v"]), str(flow["n"]))
        if linking:
            return await _finish_link(request, provider, int(flow["link"]), signed.claims)
        user, created = await oidc_accounts.sign_in(settings, signed.claims)
    except SignInFailed as exc:
        log.info("OIDC %s: sign-in refused: %s", settings.name, exc.reason)
        return await _failed(request, provider, exc.reason, exc.status)
    except oidc_accounts.AccountExists as exc:
        return _hold_link(request, provider, signed.claims, signed.id_token, exc.user_ids, flow.get("next"))
    except (Conflict, NotAllowed) as exc:
        return await _failed(request, provider, exc.message, exc.status)
    await log_in(request, user)
    request.session[SIGNED_IN_KEY] = {"p": settings.name, "idt": signed.id_token}
    if created:
        request.session["welcome"] = True  # the welcome panel, as after sign-up (community.guidance)
        email, verified = oidc_accounts.claimed_email(signed.claims)
        if email and not verified:
            await email_address.confirm_new_member(user, _config(request))
    return redirect(_safe_next(flow.get("next")))


# A first sign-in whose verified address belongs to a password member here: that member links the
# identity by entering the account's forum password (/login/oidc/{name}/existing). The checked
# identity waits in the signed session (never in the form) for LINK_SECONDS.

LINK_KEY = "oidc_existing"
LINK_SECONDS = 10 * 60
_KEPT_TOKEN = 1500  # an ID token longer than this is not kept (the cookie's size); log-out then stays here


def _hold_link(request: Request, provider: Provider, claims: dict[str, Any], id_token: str, user_ids: list[int],
               next_path: Any) -> Response:
    request.session[LINK_KEY] = {"p": provider.settings.name, "c": oidc_accounts.kept_claims(provider.settings, claims),
                                 "u": user_ids[:5], "t": int(clock.now().timestamp()), "next": _safe_next(next_path),
                                 "idt": id_token if len(id_token) <= _KEPT_TOKEN else ""}
    response = redirect(f"/login/oidc/{provider.settings.name}/existing")
    response.headers["cache-control"] = "no-store"
    return response


def _held_link(request: Request, provider: Provider) -> dict[str, Any]:
    """The identity waiting to be linked in this browser, or SignInFailed (then it is forgotten)."""
    held = request.session.get(LINK_KEY)
    if not isinstance(held, dict) or held.get("p") != provider.settings.name or not isinstance(held.get("c"), dict) \
            or not isinstance(held.get("u"), list):
        request.session.pop(LINK_KEY, None)
        raise SignInFailed("there is no sign-in waiting to be linked in this browser (or it was already finished)")
    if clock.now().timestamp() - float(held.get("t", 0)) > LINK_SECONDS:
        request.session.pop(LINK_KEY, None)
        raise SignInFailed("the account was not linked within 10 minutes of signing in")
    return held


async def _existing_page(request: Request, provider: Provider, held: dict[str, Any], errors: dict[str, str],
                         values: dict[str, str], status: int = 200) -> Response:
    holders = await oidc_accounts.candidates([i for i in held["u"] if isinstance(i, int)])
    if not holders:
        request.session.pop(LINK_KEY, None)
        return await _failed(request, provider, "the account with that address is no longer here, or has no password "
                                                "now; sign in again to start over", 409)
    email, _ = oidc_accounts.claimed_email(held["c"])
    page = await render(request, "community/oidc_existing.html", {
        "label": provider.settings.label, "name": provider.settings.name, "email": email, "holders": holders,
        "errors": errors, "values": values, "form_page": True}, status)
    page.headers["cache-control"] = "no-store"
    return page


async def existing(request: Request) -> Response:
    """GET/POST /login/oidc/{name}/existing: the existing account's forum password links the identity
    waiting in the session and signs in; a wrong one links nothing and counts as a failed log-in."""
    provider = _provider(request)
    try:
        held = _held_link(request, provider)
    except SignInFailed as exc:
        return await _failed(request, provider, exc.reason, exc.status)
    if request.method == "GET":
        return await _existing_page(request, provider, held, {}, {})
    form = await read_form(request)
    values = {"username": str(form.get("username", ""))[:40]}
    try:
        user = await oidc_accounts.link_existing(provider.settings, held["c"], [i for i in held["u"] if isinstance(i, int)],
                                                 form.get("username"), form.get("password"), client_address(request))
    except (Invalid, TooMany) as err:
        page = await _existing_page(request, provider, held, {err.field or "password": err.message}, values, err.status)
        return with_retry_after(page, err)
    except (Conflict, NotAllowed, NotFound) as err:
        request.session.pop(LINK_KEY, None)
        return await _failed(request, provider, err.message, err.status)
    request.session.pop(LINK_KEY, None)
    await log_in(request, user)
    if held.get("idt"):
        request.session[SIGNED_IN_KEY] = {"p": provider.settings.name, "idt": held["idt"]}
    response = redirect(_safe_next(held.get("next")))
    response.headers["cache-control"] = "no-store"
    return response


async def _finish_link(request: Request, provider: Provider, uid: int, claims: dict[str, Any]) -> Response:
    user = await current_user(request)
    if user is None or user.id != uid:
        raise SignInFailed("you are no longer logged in as the member who started linking; log in and link again")
    await oidc_accounts.link(user, provider.settings, claims)
    return redirect("/account/sign-in?done=linked")


async def after_log_out(request: Request) -> str | None:
    """Where log-out sends the browser: the provider's end-session endpoint (RP-Initiated Logout, with
    id_token_hint and post_logout_redirect_uri) when the member signed in through one that has it."""
    kept = request.session.get(SIGNED_IN_KEY) if "session" in request.scope else None
    if not isinstance(kept, dict):
        return None
    provider = providers(request).get(str(kept.get("p")))
    token = kept.get("idt")
    if provider is None or not isinstance(token, str):
        return None
    return await provider.end_session_url(token, _config(request).base_url.rstrip("/") + "/")


# The member's sign-in methods (/account/sign-in).

_DONE = {"linked": "The provider is linked: you can sign in with it from now on.",
         "unlinked": "The provider is unlinked; it no longer signs you in here."}


async def _methods_page(request: Request, user: User, extra: dict[str, Any] | None = None, status: int = 200) -> Response:
    linked = {i.provider: i for i in await oidc_accounts.identities(user)}
    page = await render(request, "community/sign_in_methods.html", {
        "providers": configured(request), "linked": linked, "has_password": bool(user.password_hash),
        "passwords_count": not sso_only(request) or user.role == "admin",
        "done": _DONE.get(request.query_params.get("done", "")), "errors": {}, **(extra or {})}, status)
    page.headers["cache-control"] = "no-store"
    return page


async def methods_page(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    return await _methods_page(request, user)


async def link(request: Request) -> Response:
    """POST /account/sign-in/{name}/link: the password again, then off to the provider to link it."""
    user = privileges.require_user(await current_user(request))
    form = await read_form(request)
    provider = _provider(request)
    try:
        await oidc_accounts.check_link_password(user, form.get("password"))
    except (Invalid, TooMany) as err:
        page = await _methods_page(request, user, {"errors": {provider.settings.name: err.message}}, err.status)
        return with_retry_after(page, err)
    return await _begin(request, provider, "/account/sign-in", link_uid=user.id)


async def unlink(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    await read_form(request)
    provider = _provider(request)
    passwords_count = not sso_only(request) or user.role == "admin"
    try:
        await oidc_accounts.unlink(user, provider.settings.name, passwords_count)
    except (Conflict, NotFound) as err:
        return await _methods_page(request, user, {"errors": {provider.settings.name: err.message}}, err.status)
    return redirect("/account/sign-in?done=unlinked")


# The administrators' emergency password log-in (always there; the only one under SSO_ONLY).


async def admin_login(request: Request) -> Response:
    context = {"values": {}, "errors": {}, "form_page": True}
    if request.method == "GET":
        return await render(request, "community/admin_login.html", context)
    form = await read_form(request)
    values = {"username": form.get("username", "")}
    try:
        user = await accounts.authenticate(form.get("username"), form.get("password"), client_address(request))
        if user.role != "admin" or user.deleted_at is not None:
            raise Invalid("password", "This log-in is for administrators only. Members sign in on the log-in page.")
    except DomainError as err:
        page = await render(request, "community/admin_login.html",
                            {**context, "values": values, "errors": {err.field or "form": err.message}}, err.status)
        return with_retry_after(page, err)
    await log_in(request, user)
    return redirect(_safe_next(form.get("next")))


@pass_context
def _providers_global(context: Any) -> list[ProviderSettings]:
    request = context.get("request")
    config = getattr(getattr(getattr(request, "app", None), "state", None), "config", None)
    return list(getattr(config, "oidc_providers", []) or [])


@pass_context
def _sso_only_global(context: Any) -> bool:
    request = context.get("request")
    config = getattr(getattr(getattr(request, "app", None), "state", None), "config", None)
    return bool(config is not None and config.sso_only and config.oidc_providers)


web.templates.env.globals["sign_in_providers"] = _providers_global
web.templates.env.globals["sso_only"] = _sso_only_global
web.templates.env.filters.setdefault("urlquote", lambda value: quote(str(value), safe="/"))

routes = [
    Route("/login/oidc/{name}", start, methods=["GET"]),
    Route("/login/oidc/{name}/callback", callback, methods=["GET"]),
    Route("/login/oidc/{name}/existing", existing, methods=["GET", "POST"]),
    Route("/account/sign-in", methods_page, methods=["GET"]),
    Route("/account/sign-in/{name}/link", link, methods=["POST"]),
    Route("/account/sign-in/{name}/unlink", unlink, methods=["POST"]),
    Route("/admin/login", admin_login, methods=["GET", "POST"]),
]
