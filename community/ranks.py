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


def check_ranks(value: Any) -> list[list[Any]]:
    """The `rep.ranks` setting's rule (settings.validate): [reputation, name] pairs, the reputation
    each starts at rising strictly from the first, names of 1 to 40 characters, no name twice."""
    from community.errors import Invalid

    if not isinstance(value, list) or not value:
        raise Invalid(SETTING, 'Ranks are a list of [reputation, name] pairs, lowest first, e.g. [[1, "Newcomer"], [50, "Member"]].')
    pairs: list[list[Any]] = []
    for item in value:
        if isinstance(item, dict):
            item = [item.get("from"), item.get("name")]
        if not (isinstance(item, list) and len(item) == 2):
            raise Invalid(SETTING, f"Each rank is a [reputation, name] pair; {json.dumps(item)[:60]} is not.")
        start, name = item
        if isinstance(start, bool) or not isinstance(start, int) or not 0 <= start <= settings.LARGEST:
            raise Invalid(SETTING, f"A rank starts at a whole number of reputation, 0 or more; {json.dumps(start)[:40]} is not one.")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 40:
            raise Invalid(SETTING, "Each rank needs a name of 1 to 40 characters.")
        if pairs and start <= pairs[-1][0]:
            raise Invalid(SETTING, f"List the ranks lowest first, each starting above the one before: "
                                   f"{name.strip()!r} starts at {start}, not above {pairs[-1][1]!r} at {pairs[-1][0]}.")
        if any(name.strip() == p[1] for p in pairs):
            raise Invalid(SETTING, f"Two ranks are called {name.strip()!r}; give each its own name.")
        pairs.append([start, name.strip()])
    return pairs


settings.rule(SETTING, check_ranks)
