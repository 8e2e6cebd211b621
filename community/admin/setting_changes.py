"""The settings console's service: every setting with its default, current value and group, and an
admin's change of some of them, validated with the rules the services use (`settings.validate`),
stored all or none, each change recorded in the moderation audit log (who, old value, new value)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# brand, ranks, times and policy register the rules of the settings they read (brand.*, rep.ranks,
# site.time_zone, sla.tag_minutes, sla.business_hours) when imported: imported here, those rules are
# in force wherever the console runs.
from community import brand, privileges, ranks, settings, times  # noqa: F401
from community.errors import Invalid
from community.models import User
from community.support import policy  # noqa: F401

ACTION = "setting"  # its audit log action (moderation/audit.py)


@dataclass(frozen=True)
class Entry:
    name: str
    value: Any
    default: Any
    description: str
    group: str

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "default": self.default, "description": self.description,
                "group": self.group}


def _order(group: str) -> tuple[int, str]:
    keys = list(settings.GROUPS)
    return (keys.index(group) if group in keys else len(keys), group)


def entries(viewer: User | None) -> list[Entry]:
    """Every declared setting, grouped as the console shows them (settings.GROUPS' order), each group
    in the order its settings were declared. Admins only."""
    privileges.require_admin(viewer, "see the community's settings")
    rows = [Entry(t.name, settings.get(t.name), t.default, t.description, t.group) for t in settings.DECLARED.values()]
    order = {name: i for i, name in enumerate(settings.DECLARED)}
    return sorted(rows, key=lambda e: (_order(e.group), order[e.name]))


def shown(value: Any) -> str:
    """A value as the audit log and the page write it: JSON, so a list or null reads unambiguously."""
    return json.dumps(value, ensure_ascii=False)


async def change(admin: User | None, values: Any) -> dict[str, tuple[Any, Any]]:
    """An admin changes settings: {name: value}. All are checked before any is stored; Invalid names the
    first refused setting and then nothing is saved. Returns {name: (old, new)} for those that changed."""
    from community.questions import bump_generation
    from moderation import audit

    admin = privileges.require_admin(admin, "change the community's settings")
    if not isinstance(values, dict):
        raise Invalid(None, 'Send the settings to change as an object, e.g. {"sla.first_answer_minutes": 45}.')

    async def record(changes: dict[str, tuple[Any, Any]], conn: Any) -> None:
        for name, (old, new) in changes.items():
            await audit.record(admin, ACTION, conn, reason=f"{name}: {shown(old)} → {shown(new)}")

    changes = await settings.put_many(values, also=record)
    if changes:
        await bump_generation()  # kept pages show settings too (ranks, the brand, the thresholds behind controls)
    return changes
