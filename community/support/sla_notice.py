"""What the asker reads about support on their own question: the time by which our support team
steps in if nobody answers, in the member's time zone (else the community's)."""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo
from typing import Any

from community import times
from community.models import Post, User
from community.support import tickets


def zone_for(viewer: User | None) -> tzinfo:
    """The member's time zone if they chose one, else the community's (`site.time_zone`, community.times)."""
    return times.zone(times.zone_name(viewer))


def local_time(when: datetime, viewer: User | None, now: datetime) -> dict[str, str]:
    """"14:20" today, "Tue 6 Jan, 14:20" another day, in the viewer's zone; with the exact instant
    for a <time datetime> and its title."""
    zone = zone_for(viewer)
    local, today = when.astimezone(zone), now.astimezone(zone)
    clock_text = f"{local:%H:%M}"
    text = clock_text if local.date() == today.date() else f"{local:%a} {local.day} {local:%b}, {clock_text}"
    name = getattr(zone, "key", None) or local.tzname() or "UTC"
    return {"text": text, "iso": when.astimezone(timezone.utc).isoformat(timespec="seconds"),
            "title": f"{local:%Y-%m-%d %H:%M} ({name})"}


def step_in(question: Post, viewer: User | None, ticket: Any, now: datetime) -> dict[str, str] | None:
    """When our support team takes over the asker's unanswered question, if nobody answers first:
    only for the asker, before that time, while no ticket exists and the question may still go to support."""
    if (viewer is None or viewer.id != question.author_id or ticket is not None or question.state != "unanswered"
            or tickets.escalation_blocker(question) is not None):
        return None
    deadline = tickets.asker_may_ask_from(question)
    if deadline <= now:
        return None
    return local_time(deadline, viewer, now)
