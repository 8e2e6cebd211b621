"""Named ranks: what a member's reputation means in words ("1,234 reputation · Trusted").

The names and the reputation each starts at are one setting (`rep.ranks`, a list of
`[from, name]` pairs), so a community renames or moves them without a release.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from community import settings

SETTING = "rep.ranks"


@dataclass(frozen=True)
class Rank:
    name: str
    start: int  # the reputation it starts at
    next_name: str | None = None
    next_start: int | None = None

    def as_json(self, reputation: int) -> dict[str, Any]:
        upcoming = {"name": self.next_name, "from": self.next_start} if self.next_name else None
        return {"name": self.name, "reputation": reputation, "from": self.start, "next": upcoming}


def _pairs(value: Any) -> list[tuple[int, str]]:
    """The setting's ranks, lowest first; a value an admin stored wrongly reads as the defaults."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    pairs: list[tuple[int, str]] = []
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                item = [item.get("from"), item.get("name")]
            if (isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], int)
                    and not isinstance(item[0], bool) and isinstance(item[1], str) and item[1].strip()):
                pairs.append((item[0], item[1].strip()[:40]))
    if not pairs:
        pairs = [(int(start), str(name)) for start, name in settings.DECLARED[SETTING].default]
    return sorted(set(pairs))


def ranks() -> list[Rank]:
    pairs = _pairs(settings.get(SETTING))
    return [Rank(name, start, *(pairs[i + 1][::-1] if i + 1 < len(pairs) else (None, None)))
            for i, (start, name) in enumerate(pairs)]


def rank_for(reputation: int) -> Rank:
    """The highest rank whose threshold `reputation` reaches (the lowest rank below every threshold)."""
    found = None
    all_ranks = ranks()
    for rank in all_ranks:
        if reputation >= rank.start:
            found = rank
    return found or all_ranks[0]
