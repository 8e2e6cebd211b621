"""Counts as people read them: "1 answer", "2 answers", "1,204 votes" (Jinja filters `plural` and
`counted`)."""

from __future__ import annotations

from typing import Any


def plural(n: Any, singular: str, many: str | None = None) -> str:
    """The word for `n` things: `singular` for one (or minus one), else `many` (default: singular + "s")."""
    try:
        one = abs(int(n)) == 1
    except (TypeError, ValueError):
        one = False
    return singular if one else (many if many is not None else singular + "s")


def counted(n: Any, singular: str, many: str | None = None) -> str:
    """`n` with its word: "1 answer", "12 answers", "1,204 votes"."""
    try:
        shown = f"{int(n):,}"
    except (TypeError, ValueError):
        shown = str(n)
    return f"{shown} {plural(n, singular, many)}"
