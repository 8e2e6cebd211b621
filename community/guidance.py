"""What new members are told before they act: the thread's note on the controls they may not use yet
(what each takes, and what they have), and the welcome panel after sign-up.

The welcome panel is remembered in the member's session: sign-up puts `welcome` in it (community.pages),
every page shows the panel while it is there, and "Got it" (a form POST) takes it out. No table, no
migration; a member who signs up and logs out before reading it is not shown it again, which is the
cost of that choice.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from community import pages, privileges, web
from community.models import Post, User
from community.support import policy

WELCOME_KEY = "welcome"


async def thread_extras(question: Post, viewer: User | None) -> dict[str, Any]:
    """The note above the question that explains the disabled controls (ids needs-<privilege>)."""
    needs = privileges.control_needs(viewer)
    return {"thread_includes": ["community/_guidance.html"], "control_needs": needs} if needs else {}


if thread_extras not in pages.THREAD_EXTRAS:
    pages.THREAD_EXTRAS.append(thread_extras)


def welcome_due(request: Request) -> bool:
    """Whether this page shows the welcome panel: the member signed up in this session and has not dismissed it."""
    return "session" in request.scope and bool(request.session.get(WELCOME_KEY))


def _span(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 60 or minutes % 60:
        return f"{minutes} minute{'' if minutes == 1 else 's'}"
    hours = minutes // 60
    return f"{hours} hour{'' if hours == 1 else 's'}"


def welcome_facts() -> dict[str, str]:
    """The numbers the welcome panel states, from the settings in force."""
    pol = policy.current()
    sla = _span(pol.first_answer_seconds) + (" of business hours" if pol.hours else "")
    faster = sorted(pol.tag_seconds.items(), key=lambda kv: kv[1])
    if faster:
        sla += " (" + ", ".join(f"{_span(s)} for {tag}" for tag, s in faster[:2]) + ")"
    p = privileges.PRIVILEGES
    return {"sla": sla, "upvote": f"{p['upvote'].reputation:,}", "comment": f"{p['comment'].reputation:,}"}


web.templates.env.globals["welcome_due"] = welcome_due
web.templates.env.filters["role_title"] = privileges.role_title  # "Support agent", never `staff`
web.templates.env.globals["welcome_facts"] = welcome_facts


async def dismiss_welcome(request: Request) -> Response:
    privileges.require_user(await web.current_user(request))
    form = await web.read_form(request)
    request.session.pop(WELCOME_KEY, None)
    return web.redirect(pages._safe_next(form.get("next")))


routes = [Route("/welcome/dismiss", dismiss_welcome, methods=["POST"])]
