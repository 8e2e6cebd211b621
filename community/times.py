"""Times as people read them: "3 min ago", "yesterday", "12 Mar", each in a <time datetime> whose
title is the exact time, all in the reader's time zone (User.time_zone, else the community's
`site.time_zone`).

Pages rendered for one reader use the filters (`ago`, `exact`, `day`), which read the reader's zone
from `reader` (set by community.web.context for each page). The thread's posts are kept as bytes and
shared by every reader (community.pages), so they carry `mark`s instead, which `fill` turns into the
reader's times when the page is put together.
"""

from __future__ import annotations

import contextvars
import functools
import secrets
import zoneinfo
from datetime import date, datetime, timezone, tzinfo
from typing import Any

from markupsafe import Markup, escape

from community import clock, settings

settings.declare("site.time_zone", "UTC", "The community's time zone: times for visitors and for members who chose none", "brand")


def _check_site_zone(value: Any) -> str:
    """`site.time_zone`'s rule: a time zone from the list members choose from ("" means UTC)."""
    from community import profile

    return profile.check_time_zone(value) or "UTC"


settings.rule("site.time_zone", _check_site_zone)

# The zone name of the page being rendered ("" until a page sets it: the community's).
reader: contextvars.ContextVar[str] = contextvars.ContextVar("reader_time_zone", default="")
# Random per process, so no post can contain it (community.pages keeps posts per process too).
MARK = secrets.token_hex(12)
MARK_BYTES = MARK.encode()


def zone_name(user: Any) -> str:
    """The zone a member reads times in: theirs, else the community's."""
    return (getattr(user, "time_zone", "") if user is not None else "") or settings.get("site.time_zone") or "UTC"


def use_reader(user: Any) -> None:
    """Times on the page being rendered are in this member's zone (None: a visitor)."""
    reader.set(zone_name(user))


@functools.lru_cache(maxsize=256)
def zone(name: str) -> tzinfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def current_zone() -> str:
    """The zone of the page being rendered."""
    return reader.get() or settings.get("site.time_zone") or "UTC"


def _as_time(value: Any) -> datetime | None:
    """A datetime (naive ones are UTC, as every stored time is) or an ISO 8601 string; else None."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _short_date(local: datetime, today: date) -> str:
    return f"{local.day} {local:%b}" if local.year == today.year else f"{local.day} {local:%b} {local.year}"


def _exact(local: datetime) -> str:
    return f"{local.day} {local:%b %Y}, {local:%H:%M} {local.tzname()}"


def label(when: datetime, now: datetime, tz: tzinfo) -> str:
    """How long ago (or how soon) `when` is, as a person says it, in `tz`'s calendar."""
    seconds = (now - when).total_seconds()
    local, today = when.astimezone(tz), now.astimezone(tz).date()
    days = (today - local.date()).days
    if seconds >= 0:
        if seconds < 60:
            return "just now"
        if seconds < 3600:
            return f"{int(seconds // 60)} min ago"
        hours = int(seconds // 3600)
        if days == 0 or (days == 1 and hours < 6):
            return "1 hour ago" if hours == 1 else f"{hours} hours ago"
        if days == 1:
            return "yesterday"
        return _short_date(local, today)
    seconds = -seconds
    if seconds < 60:
        return "in a moment"
    if seconds < 3600:
        return f"in {int(seconds // 60)} min"
    hours = int(seconds // 3600)
    if days == 0 or (days == -1 and hours < 6):
        return "in 1 hour" if hours == 1 else f"in {hours} hours"
    if days == -1:
        return f"tomorrow at {local:%H:%M}"
    return _short_date(local, today)


def _element(when: datetime, text: str, tz: tzinfo) -> str:
    iso = when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f'<time datetime="{iso}" title="{escape(_exact(when.astimezone(tz)))}">{escape(text)}</time>'


def ago(value: Any, zone_name_: str | None = None) -> Markup:
    """Jinja filter: `<time datetime="..." title="exact time">3 min ago</time>` in the reader's zone."""
    when = _as_time(value)
    if when is None:
        return Markup("")
    tz = zone(zone_name_ or current_zone())
    return Markup(_element(when, label(when, clock.now(), tz), tz))


def exact(value: Any, zone_name_: str | None = None) -> Markup:
    """Jinja filter: the exact time, "12 Mar 2026, 14:20 CET", in a <time datetime>."""
    when = _as_time(value)
    if when is None:
        return Markup("")
    tz = zone(zone_name_ or current_zone())
    return Markup(_element(when, _exact(when.astimezone(tz)), tz))


def day(value: Any, zone_name_: str | None = None) -> Markup:
    """Jinja filter: the day alone, "12 Mar 2026", in a <time datetime> (e.g. "member since")."""
    when = _as_time(value)
    if when is None:
        return Markup("")
    tz = zone(zone_name_ or current_zone())
    local = when.astimezone(tz)
    return Markup(_element(when, f"{local.day} {local:%b %Y}", tz))


def mark(value: Any) -> Markup:
    """Jinja filter for content shared between readers: a mark that `fill` replaces with `ago`'s
    element for the reader of each page."""
    when = _as_time(value)
    if when is None:
        return Markup("")
    return Markup(f"{MARK}{int(when.timestamp())}{MARK}")


@functools.lru_cache(maxsize=8192)
def _parts(stamp: int, zone_name_: str) -> tuple[bytes, int, int, str, str]:
    """What a marked time's element keeps whatever the hour: the opening tag (datetime, exact title),
    its local day (ordinal) and year, its time of day, and its short date."""
    when = datetime.fromtimestamp(stamp, timezone.utc)
    local = when.astimezone(zone(zone_name_))
    opening = f'<time datetime="{when:%Y-%m-%dT%H:%M:%SZ}" title="{escape(_exact(local))}">'.encode()
    return opening, local.toordinal(), local.year, f"{local:%H:%M}", f"{local.day} {local:%b}"


# (time, zone) -> (element, shown from, shown until, the reader's day): `Reading.element`'s work.
_elements: dict[tuple[int, str], tuple[bytes, int, int, int]] = {}


class Reading:
    """One reader's page being put together: their zone and the time now, for `join`."""

    __slots__ = ("zone_name", "now", "today", "year")

    def __init__(self, zone_name_: str, now: datetime | None = None) -> None:
        now = now or clock.now()
        local_now = now.astimezone(zone(zone_name_))
        self.zone_name, self.now = zone_name_, int(now.timestamp())
        self.today, self.year = local_now.toordinal(), local_now.year

    def element(self, stamp: int) -> tuple[bytes, int, int, int]:
        """`label` for a marked time as (element, shown from, shown until, the reader's day), from
        integers only and kept while it reads the same: a thread has dozens of them on every view."""
        key = (stamp, self.zone_name)
        now = self.now
        hit = _elements.get(key)
        if hit is not None and hit[1] <= now < hit[2] and hit[3] == self.today:
            return hit
        opening, day_, year, _, short = _parts(stamp, self.zone_name)
        seconds, days = now - stamp, self.today - day_
        lo, hi = now, now + 1  # a time ahead of the clock (one set back) is worked out each time
        if seconds < 60:
            text = "just now"
            if seconds >= 0:
                lo, hi = stamp, stamp + 60
        elif seconds < 3600:
            text = f"{seconds // 60} min ago"
            lo = stamp + seconds // 60 * 60
            hi = lo + 60
        elif days == 0 or (days == 1 and seconds < 6 * 3600):
            text = "1 hour ago" if seconds < 7200 else f"{seconds // 3600} hours ago"
            lo = stamp + seconds // 3600 * 3600
            hi = lo + 3600
        else:
            text = "yesterday" if days == 1 else short if year == self.year else f"{short} {year}"
            lo, hi = stamp + 6 * 3600, 2**62  # until the reader's day changes
        if len(_elements) > 50_000:
            _elements.clear()
        entry = _elements[key] = (opening + text.encode() + b"</time>", lo, hi, self.today)
        return entry

    def join(self, marked: Marked) -> bytes:
        """Bytes that `split` cut at the marks, put together with this reader's times (kept on
        `marked` per zone while every one of its times reads the same)."""
        pieces = marked.pieces
        if len(pieces) == 1:
            return pieces[0]
        now, today = self.now, self.today
        hit = marked.joined.get(self.zone_name)
        if hit is not None and hit[1] <= now < hit[2] and hit[3] == today:
            return hit[0]
        out = list(pieces)
        lo, hi = -2**62, 2**62  # every time reads the same between the latest "from" and the earliest "until"
        element = self.element
        for i in range(1, len(out), 2):
            out[i], shown_from, shown_until, _ = element(out[i])
            lo, hi = max(lo, shown_from), min(hi, shown_until)
        data = b"".join(out)
        if len(marked.joined) >= 16:
            marked.joined.clear()
        marked.joined[self.zone_name] = (data, lo, hi, today)
        return data


class Marked:
    """Rendered bytes cut at the marks (`split`): even places bytes, odd places the marked times
    (seconds since 1970); with what `Reading.join` made of them for each zone, while it holds."""

    __slots__ = ("pieces", "joined")

    def __init__(self, pieces: tuple[Any, ...]) -> None:
        self.pieces = pieces
        self.joined: dict[str, tuple[bytes, int, int, int]] = {}


def split(rendered: bytes) -> Marked:
    """Rendered bytes cut at the marks, for `Reading.join`."""
    pieces: list[Any] = rendered.split(MARK_BYTES)
    for i in range(1, len(pieces), 2):
        pieces[i] = int(pieces[i])
    return Marked(tuple(pieces))


def fill(page: bytes, zone_name_: str | None = None, now: datetime | None = None) -> bytes:
    """The page with each `mark` replaced by its time as `ago` shows it to a reader in this zone
    (by default the zone of the page being rendered)."""
    if MARK_BYTES not in page:
        return page
    return Reading(zone_name_ or current_zone(), now).join(split(page))


__all__ = ["MARK", "ago", "day", "exact", "Marked", "Reading", "fill", "label", "mark", "split", "reader", "use_reader", "zone", "zone_name"]
