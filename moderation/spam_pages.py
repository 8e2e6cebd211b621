"""Pages of the spam triage (moderation/spam.py): the Suspected spam queue at /review/spam, the
weekly figures at /review/spam/weekly (JSON at /api/v1/review/spam/weekly), and the thread's note
"Held for review" that only the author and moderators see."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from community import openapi, privileges, settings
from community import pages as community_pages
from community.errors import Conflict, Invalid, NotAllowed
from community.models import Post, User
from community.web import current_user, read_form, redirect, render
from moderation import review, spam


async def queue_page(request: Request, message: str = "", status: int = 200) -> Response:
    user = privileges.require_moderator(await current_user(request))
    held = await spam.queue(user)
    return await render(request, "moderation/spam_queue.html", {
        "held": held, "message": message, "done": request.query_params.get("done", ""),
        "decision_titles": review.DECISION_TITLES, "hold_score": settings.get("spam.hold_score"),
    }, status)


async def decide(request: Request) -> Response:
    user = privileges.require_moderator(await current_user(request))
    form = await read_form(request)
    try:
        result = await review.decide(user, request.path_params["item_id"], form.get("decision"), form.get("reason"))
    except (Conflict, Invalid, NotAllowed) as err:
        return await queue_page(request, err.message, err.status)
    return redirect("/review/spam?" + urlencode({"done": review.DECISION_TITLES.get(result["decision"], result["decision"])}))


async def weekly_page(request: Request) -> Response:
    user = await current_user(request)
    weeks = request.query_params.get("weeks", "12")
    try:
        rows, error = await spam.figures(user, weeks), ""
    except Invalid as err:
        rows, error = await spam.figures(user, 12), err.message
    return await render(request, "moderation/spam_weekly.html", {"weeks": rows, "error": error,
                                                                 "hold_score": settings.get("spam.hold_score")},
                        422 if error else 200)


async def weekly_json(request: Request) -> Response:
    rows = await spam.figures(await current_user(request), request.query_params.get("weeks", "12"))
    return JSONResponse({"items": [w.as_json() for w in rows]})


routes = [
    Route("/review/spam", queue_page),
    Route("/review/spam/weekly", weekly_page),
    Route("/review/spam/{item_id}", decide, methods=["POST"]),
    Route("/api/v1/review/spam/weekly", weekly_json),
]
openapi.describe("GET", "/api/v1/review/spam/weekly", "The spam triage per week (moderators): checked, held, confirmed, "
                 "released, waiting, missed, false_positive_rate", auth=True, query=["weeks"])


# The note on a held post, for the eyes that can see it (its author and moderators).
def _held_links(viewer: User, held: set[int]):
    def links(p: Post) -> list[str]:
        if p.id not in held:
            return []
        if viewer.is_moderator:
            return ['<a class="held-note" href="/review/spam">Held for review as suspected spam</a>']
        return ['<strong class="held-note">Held for review: only you and moderators see this post until a moderator checks it.</strong>']
    return links


async def thread_extras(question: Post, viewer: User | None) -> dict[str, Any]:
    if viewer is None:
        return {}
    held = await community_pages.kept_with_thread(question, "spam_held", lambda: spam.held_in_thread(question.id))
    if not held:
        return {}
    mine = viewer.is_moderator or await _wrote_any(viewer, question, held)
    if not mine:
        return {}
    extra: dict[str, Any] = {"post_links": _held_links(viewer, held)}
    if question.id in held:
        extra["thread_banners"] = ['<div class="notice held-notice" role="status"><strong>Held for review.</strong> '
                                   'Our spam filter held this question: only its author and moderators see it until '
                                   'a moderator checks it, usually within a day.</div>']
    return extra


async def _wrote_any(viewer: User, question: Post, held: set[int]) -> bool:
    if question.id in held and question.author_id == viewer.id:
        return True
    return await Post.filter(id__in=held, author_id=viewer.id).exists()


if thread_extras not in community_pages.THREAD_EXTRAS:
    community_pages.THREAD_EXTRAS.append(thread_extras)
