"""Watching and mail settings as pages: the Watch buttons on a thread and on a tag page, and
/account/notifications (how each kind of notification is mailed, watched tags and questions)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from community import notification_settings, pages, preferences, privileges, questions, watches
from community.errors import Invalid
from community.models import Post, User
from community.web import current_user, read_form, redirect, render

SETTINGS_PAGE = "/account/notifications"
_DONE = {"saved": "Your notification settings are saved.", "stopped": "You no longer watch that question."}


async def _watch_button(question: Post, viewer: User | None) -> dict[str, Any]:
    """The thread page's Watch / Stop watching button: members only, so the anonymous page that is
    kept per content generation never holds it. Whether they watch comes with their votes
    (`questions.thread`, `t.watching`): no query of its own."""
    return {"thread_includes": ["community/_watch_question.html"]} if viewer is not None else {}


pages.THREAD_EXTRAS.append(_watch_button)


def _watching(form: dict[str, Any]) -> bool:
    value = form.get("watching", "1")
    if value not in ("0", "1"):
        raise Invalid("watching", "Send watching=1 to watch or watching=0 to stop.")
    return value == "1"


async def watch_question(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    form = await read_form(request)
    q = await questions.get_question(request.path_params["question_id"], user)  # 404 for what they may not see
    watching = await watches.set_question(user, q.id, _watching(form))
    if form.get("next") == SETTINGS_PAGE:
        return redirect(f"{SETTINGS_PAGE}?done={'saved' if watching else 'stopped'}#questions")
    return redirect(f"/questions/{q.id}")


async def watch_tag(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    form = await read_form(request)
    name = request.path_params["name"]
    await watches.set_tag(user, name, _watching(form))
    return redirect(f"/tags/{quote(name.strip().lower(), safe='')}")


async def _settings_page(request: Request, user: User, errors: dict[str, str] | None = None,
                         typed: dict[str, Any] | None = None, status: int = 200) -> Response:
    chosen = await preferences.get(user)
    tags = " ".join(await watches.watched_tags(user))
    if typed is not None:  # a refused form shows what the member chose and typed, not what is saved
        chosen.update({k: v for k, v in typed["deliveries"].items() if k in chosen and v in preferences.DELIVERIES})
        tags = typed["tags"]
    response = await render(request, "community/notification_settings.html", {
        "kinds": notification_settings.kinds(user), "chosen": chosen, "deliveries": preferences.DELIVERIES,
        "delivery_labels": preferences.DELIVERY_LABELS, "tags": tags,
        "watched_questions": await watches.watched_questions(user),
        "done": _DONE.get(request.query_params.get("done", "")), "errors": errors or {},
    }, status)
    response.headers["cache-control"] = "no-store"
    return response


async def settings_page(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    if request.method == "GET":
        return await _settings_page(request, user)
    form = await read_form(request)
    typed = {"deliveries": {k[len("delivery."):]: v for k, v in form.items() if k.startswith("delivery.")},
             "tags": form.get("tags", "")}
    try:
        await notification_settings.save(user, typed["deliveries"], typed["tags"])
    except Invalid as err:
        field = err.field if err.field == "tags" or err.field in preferences.KINDS else "form"
        return await _settings_page(request, user, {field: err.message}, typed, err.status)
    return redirect(f"{SETTINGS_PAGE}?done=saved")


routes = [
    Route("/questions/{question_id}/watch", watch_question, methods=["POST"]),
    Route("/tags/{name}/watch", watch_tag, methods=["POST"]),
    Route(SETTINGS_PAGE, settings_page, methods=["GET", "POST"]),
]
