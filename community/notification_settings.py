"""A member's notification settings as one whole: how each kind of notification is mailed, and the
tags and questions they watch. The settings page and the API read and save them here."""

from __future__ import annotations

import re
from typing import Any

from community import preferences, watches
from community.errors import Invalid
from community.models import User

_TAG_SEPARATORS = re.compile(r"[\s,]+")


STAFF_KINDS = {"ticket_assigned"}


def kinds(user: User | None = None) -> list[dict[str, str]]:
    """Every kind a member may choose for, in the order the page lists them (with a member: only
    the kinds that can reach them; support tickets reach staff alone)."""
    return [{"kind": kind, "label": label, "default": default} for kind, (label, default) in preferences.KINDS.items()
            if user is None or user.is_staff or kind not in STAFF_KINDS]


async def read(user: User) -> dict[str, Any]:
    """GET /api/v1/me/notification-settings."""
    return {"settings": await preferences.get(user), "kinds": kinds(), "deliveries": list(preferences.DELIVERIES)}


def tag_names(text: Any) -> list[str]:
    """The watched tags as typed on the page: names separated by spaces (or commas)."""
    if not isinstance(text, str):
        raise Invalid("tags", "Type the tags to watch, separated by spaces.")
    return [name for name in _TAG_SEPARATORS.split(text) if name]


async def save(user: User, deliveries: Any, tags_text: Any) -> dict[str, str]:
    """The settings page: every choice is checked before anything is saved, so a refused form
    (an unknown tag) changes nothing and the member can fix it and send it again."""
    clean = preferences.check(deliveries)
    await watches.replace(user, {"tags": tag_names(tags_text)})
    return await preferences.put(user, clean)
