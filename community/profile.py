"""What a member tells others about themselves: display name, about, location and time zone, checked
and saved (the picture is community/avatars.py)."""

from __future__ import annotations

import functools
import zoneinfo
from typing import Any

from community import inputs
from community.errors import Invalid
from community.models import User

DISPLAY_NAME_MAX = 80
LOCATION_MAX = 100
ABOUT_MAX = 2000
# The name every deleted account is shown under (community/account_deletion.py); nobody else may take it.
DELETED_NAME = "deleted member"
# The time zones a member picks from: places, by region, plus UTC (not the tz database's aliases,
# "posixrules", "Etc/GMT+5" and the like, which nobody looks for).
_REGIONS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific")


@functools.cache
def time_zones() -> tuple[str, ...]:
    return tuple(sorted(name for name in zoneinfo.available_timezones() if name.split("/", 1)[0] in _REGIONS
                        and "/" in name)) + ("UTC",)


@functools.cache
def zone_groups() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The time zones by region, for a select's optgroups: (("Africa", ("Africa/Abidjan", ...)), ...)."""
    groups: dict[str, list[str]] = {}
    for name in time_zones():
        groups.setdefault(name.split("/", 1)[0] if "/" in name else "Other", []).append(name)
    return tuple((region, tuple(names)) for region, names in groups.items())


def check_time_zone(value: Any) -> str:
    """An IANA time zone from the list, or "" (the community's own, UTC)."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        raise Invalid("time_zone", "The time zone must be text, such as Europe/London.")
    name = value.strip()
    if name and name not in time_zones():
        shown = inputs.field_label(name[:60])
        raise Invalid("time_zone", f"“{shown}” is not a time zone we know. Choose one from the list, such as Europe/London.")
    return name


def _text(field: str, value: Any, limit: int, what: str) -> str:
    """Free text kept as written (line breaks and all), trimmed at the ends, at most `limit` characters."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid(field, f"The {what} must be text.")
    value = value.replace("\r\n", "\n").strip()
    if len(value) > limit:
        raise Invalid(field, f"Keep the {what} to {limit} characters (it has {len(value)}).")
    return value


def checked_fields(display_name: Any, about: Any, location: Any, time_zone: Any) -> tuple[dict[str, str] | None, dict[str, str]]:
    """(the fields as stored, or None) and a message for every field that must change, so a form
    shows each problem at once rather than one per submit."""
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    checks = (("display_name", lambda: inputs.one_line("display_name", display_name, DISPLAY_NAME_MAX, "display name")),
              ("about", lambda: _text("about", about, ABOUT_MAX, "about text")),
              ("location", lambda: inputs.one_line("location", location, LOCATION_MAX, "location")),
              ("time_zone", lambda: check_time_zone(time_zone)))
    for field, read in checks:
        try:
            values[field] = read()
        except Invalid as err:
            errors[field] = err.message
    if values.get("display_name", "").casefold() == DELETED_NAME:
        errors["display_name"] = f"“{DELETED_NAME}” is how deleted accounts are shown; choose another name."
    return (None if errors else values), errors


async def update(user: User, display_name: Any, about: Any, location: Any, time_zone: Any) -> User:
    """Save the member's profile. Raises Invalid (the first field to fix; `errors` on it holds all)."""
    from community.questions import bump_generation

    values, errors = checked_fields(display_name, about, location, time_zone)
    if values is None:
        field, message = next(iter(errors.items()))
        err = Invalid(field, message)
        err.errors = errors  # type: ignore[attr-defined]
        raise err
    for field, value in values.items():
        inputs.check_text(field, value)
    await User.filter(id=user.id).update(**values)
    for field, value in values.items():
        setattr(user, field, value)
    await bump_generation()  # the name beside their posts is kept with the thread pages
    return user
