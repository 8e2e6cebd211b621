"""The admin console's Delivery section (/admin/delivery, admins only) and its API: the webhook and mail
outboxes' failures with a "retry now", and bouncing addresses with a "clear"; see community/admin/delivery.py."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from community import openapi, privileges, serialise
from community.admin import delivery
from community.errors import DomainError
from community.web import current_user, read_form, read_json, redirect, render


async def _page(request: Request, notice: str = "", error: str = "", status: int = 200) -> Response:
    view = await delivery.overview(await current_user(request))
    return await render(request, "admin/delivery.html", {"view": view, "notice": notice, "error": error}, status)


async def delivery_page(request: Request) -> Response:
    privileges.require_admin(await current_user(request), "see the delivery outboxes")
    notice = ""
    if (done := request.query_params.get("retried")) is not None:
        n = int(done) if done.isdigit() and len(done) < 10 else 0
        notice = (f"{n} {'delivery is' if n == 1 else 'deliveries are'} due now: the sender tries again within seconds."
                  if n else "Nothing needed retrying: it is already due, or was delivered meanwhile.")
    elif request.query_params.get("cleared"):
        notice = "The address is no longer marked as bouncing: mail to it goes out again."
    return await _page(request, notice)


async def retry_form(request: Request) -> Response:
    viewer = privileges.require_admin(await current_user(request), "retry deliveries")
    form = await read_form(request)
    try:
        count = await delivery.retry(viewer, form.get("outbox"), form.get("id"))
    except DomainError as err:
        return await _page(request, error=err.message, status=err.status)
    return redirect(f"/admin/delivery?retried={count}")


async def clear_form(request: Request) -> Response:
    viewer = privileges.require_admin(await current_user(request), "clear a bouncing address")
    await read_form(request)
    await delivery.clear_bounce(viewer, request.path_params["user_id"])
    return redirect("/admin/delivery?cleared=1")


def _webhook_json(r: Any) -> dict[str, Any]:
    return {"id": r.id, "event": r.event, "ticket_id": r.ticket_id, "attempts": r.attempts, "last_error": r.last_error,
            "created_at": serialise.iso(r.created_at), "next_attempt_at": serialise.iso(r.next_attempt_at)}


def _mail_json(r: Any) -> dict[str, Any]:
    return {"id": r.id, "to": r.to_address, "subject": r.subject, "kind": r.kind, "attempts": r.attempts,
            "last_error": r.last_error, "created_at": serialise.iso(r.created_at),
            "next_attempt_at": None if r.failed_at else serialise.iso(r.next_attempt_at), "failed_at": serialise.iso(r.failed_at)}


async def api_overview(request: Request) -> Response:
    v = await delivery.overview(await current_user(request))
    return JSONResponse({
        "webhook": {"enabled": v.webhook_on, "pending": v.webhook_pending, "failing": v.webhook_failing,
                    "items": [_webhook_json(r) for r in v.webhook_rows]},
        "mail": {"pending": v.mail_pending, "retrying": v.mail_retrying, "failed": v.mail_failed,
                 "items": [_mail_json(r) for r in v.mail_rows]},
        "bouncing": [{"id": u.id, "username": u.username, "email": u.email, "since": serialise.iso(u.email_bouncing_at),
                      "reason": u.email_bounce_reason} for u in v.bouncing],
    })


async def api_retry(request: Request) -> Response:
    viewer = privileges.require_admin(await current_user(request), "retry deliveries")
    body = await read_json(request)
    count = await delivery.retry(viewer, body.get("outbox"), body.get("id"))
    return JSONResponse({"due": count})


async def api_clear(request: Request) -> Response:
    viewer = privileges.require_admin(await current_user(request), "clear a bouncing address")
    member = await delivery.clear_bounce(viewer, request.path_params["user_id"])
    return JSONResponse({"id": member.id, "username": member.username, "email_bouncing_at": None})


routes = [
    Route("/admin/delivery", delivery_page),
    Route("/admin/delivery/retry", retry_form, methods=["POST"]),
    Route("/admin/delivery/bounces/{user_id}/clear", clear_form, methods=["POST"]),
    Route("/api/v1/admin/delivery", api_overview),
    Route("/api/v1/admin/delivery/retry", api_retry, methods=["POST"]),
    Route("/api/v1/admin/bounces/{user_id}", api_clear, methods=["DELETE"]),
]

openapi.describe("GET", "/api/v1/admin/delivery", "What has not gone out (admins): the webhook and mail outboxes' counts and "
                 "failed items with their last error, attempts and next try, and the bouncing addresses", auth=True)
openapi.describe("POST", "/api/v1/admin/delivery/retry", "Make a failed delivery due now (admins): outbox webhook or mail, "
                 "and the id, or no id for every failed one; returns {due: how many}",
                 {"outbox": {"type": "string", "enum": list(delivery.OUTBOXES)}, "id": {"type": "integer"}}, 200, True)
openapi.describe("DELETE", "/api/v1/admin/bounces/{user_id}", "Clear a member's bouncing address so mail to it flows again (admins)",
                 None, 200, True)
