"""Pages that mails link to and that work without logging in: address confirmation
(GET /confirm-email/{token}) and one-click unsubscribe (GET and POST /mail/unsubscribe/{token})."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from community import email_address, preferences, unsubscribe
from community.errors import BadRequest
from community.mail_links import Site
from community.web import render

# A mail client's one-click POST is `List-Unsubscribe=One-Click`; the page's own form sends the same.
MAX_UNSUBSCRIBE_BODY = 1024


def _site(request: Request) -> Site:
    return Site.from_config(request.app.state.config)


def _private(response: Response) -> Response:
    response.headers["cache-control"] = "no-store"
    return response


async def confirm_email(request: Request) -> Response:
    user, changed = await email_address.confirm(_site(request), request.path_params["token"])
    return _private(await render(request, "community/email_confirmed.html", {"member": user, "changed": changed}))


async def _read_small_body(request: Request) -> bytes:
    """The body, read directly (no CSRF: the link's signature is the authority), refused past a small size."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_UNSUBSCRIBE_BODY:
            raise BadRequest("An unsubscribe request carries only List-Unsubscribe=One-Click.")
    return body


async def unsubscribe_page(request: Request) -> Response:
    token = request.path_params["token"]
    if request.method == "POST":
        await _read_small_body(request)
        member, kinds = await unsubscribe.unsubscribe(_site(request), token)
        done = True
    else:
        member, kinds = await unsubscribe.target(_site(request), token)
        done = False
    current = await preferences.get(member)
    return _private(await render(request, "community/unsubscribe.html", {
        "member": member, "labels": unsubscribe.labels(kinds), "done": done,
        "already_off": all(current[k] == "never" for k in kinds), "action": request.url.path,
    }))


routes = [
    Route("/confirm-email/{token}", confirm_email),
    Route("/mail/unsubscribe/{token}", unsubscribe_page, methods=["GET", "POST"]),
]
