"""Badges and ranks where members see them: beside names in threads (the rank and badge counts of
every author on the page, read in one query per content generation), and `GET /api/v1/users/{id}/badges`.
The profile page reads them through `community.pages.user_page`."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from community import accounts, badges, openapi, pages, serialise
from community.errors import NotFound
from community.models import Post, User
from community.ranks import rank_for
from community.web import templates


async def _thread_badges(question: Post, viewer: User | None) -> dict[str, Any]:
    """Every author's badge counts, kept on the thread's shared question row for the post fragments
    (they see only their arguments; the `standing` filter reads them from the question)."""
    counts = await pages.kept_with_thread(question, "badge_counts", lambda: badges.thread_counts(question.id))
    question.__dict__["_badge_counts"] = counts
    return {}


pages.THREAD_EXTRAS.append(_thread_badges)


def standing(member: User | None, question: Any = None) -> Markup:
    """The rank name and badge counts shown beside a member's name: "Trusted ● 1 ● 3 ● 12", read aloud
    as "Trusted, 1 gold badge, 3 silver badges, 12 bronze badges"."""
    if member is None:
        return Markup("")
    html = f'<span class="rank">{escape(rank_for(member.reputation).name)}</span>'
    counts = (getattr(question, "__dict__", {}).get("_badge_counts") or {}).get(member.id)
    if counts:
        for level in badges.LEVELS:
            if counts[level]:
                html += (f' <span class="badge-count {level}"><span class="badge-dot" aria-hidden="true">●</span>{counts[level]}'
                         f'<span class="visually-hidden"> {level} {"badge" if counts[level] == 1 else "badges"}</span></span>')
    return Markup(f'<span class="standing">{html}</span>')


templates.env.filters["standing"] = standing


async def member_badges(request: Request) -> Response:
    try:
        user = await accounts.get_user(int(request.path_params["user_id"]))
    except (ValueError, OverflowError):
        raise NotFound("There is no member with that id.") from None
    items = [{**a, "awarded_at": serialise.iso(a["awarded_at"])} for a in await badges.of_member(user.id)]
    return JSONResponse({"user_id": user.id, "items": items, "rank": rank_for(user.reputation).as_json(user.reputation)})


openapi.describe("GET", "/api/v1/users/{user_id}/badges", "A member's badges (newest first) and rank")

routes = [Route("/api/v1/users/{user_id}/badges", member_badges)]
