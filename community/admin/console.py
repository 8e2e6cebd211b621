"""The admin console's front page (/admin): the console's sections, as far as the viewer may use them.
Admins see every section; moderators see the member pages only (issue 15)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from community import privileges
from community.models import User
from community.web import current_user, render


@dataclass(frozen=True)
class Section:
    path: str
    title: str
    what: str
    admins_only: bool = True


SECTIONS = (
    Section("/admin/settings", "Settings",
            "Reputation, privileges, new members, SLA and business hours, flags, limits, mail: each with its default, "
            "checked before it is saved and in force everywhere within a second."),
    Section("/admin/members", "Members",
            "Find a member by name or email; change a role, suspend, send a password reset link, end their sessions.",
            admins_only=False),
    Section("/admin/delivery", "Delivery", "The helpdesk webhooks and mail waiting to go out, failures and bouncing addresses."),
    Section("/admin/brand", "Brand", "The community's name, logo, colour and time zone."),
    Section("/insights", "Insights", "How fast questions are answered, escalations, deflection and what-if SLAs."),
)


def sections_for(user: User) -> list[Section]:
    """The sections this admin or moderator may open (anyone else is refused before this)."""
    admin = privileges.is_admin(user)
    return [s for s in SECTIONS if admin or not s.admins_only]


async def console_page(request: Request) -> Response:
    user = privileges.require_moderator(await current_user(request))
    return await render(request, "admin/console.html", {"sections": sections_for(user)})


routes = [Route("/admin", console_page)]
