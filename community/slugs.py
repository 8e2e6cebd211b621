"""Question addresses that say what the thread is about: /questions/123/esim-not-activating-on-iphone.

The slug is made from the title alone, so it needs no column: an edited title gives a new slug and
the old address moves there (community.pages answers it with a 301)."""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

from anyascii import anyascii

MAX_LENGTH = 80
FALLBACK = "question"  # a title with nothing left after folding (only emoji, say)
# The actions under /questions/{id}/ (tests check every such route is named here). A slug equal to
# one would be read as the action, so a title that folds to one gets FALLBACK after it.
RESERVED = frozenset({
    "accept", "answers", "close", "comments", "de-escalate", "delete", "edit", "escalate", "flag", "history",
    "lock", "moderate", "reopen", "revisions", "rollback", "undelete", "unlock", "vote", "watch",
})

# Symbols (emoji among them), private-use and unassigned characters say nothing a reader types into
# an address; anyascii would spell emoji out as ":grinning:".
_DROPPED = frozenset({"So", "Sk", "Cs", "Co", "Cn"})
_INNER_APOSTROPHE = re.compile(r"(?<=[a-z0-9])'(?=[a-z])")  # "can't" -> "cant", as people type it
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def _fold(char: str) -> str:
    if char.isascii():
        return char
    if unicodedata.category(char) in _DROPPED:
        return " "
    folded = anyascii(char)
    # Chinese characters fold to one syllable each ("NiHao"): keep the syllables apart.
    return f" {folded} " if unicodedata.name(char, "").startswith("CJK UNIFIED IDEOGRAPH") else folded


@functools.lru_cache(maxsize=8192)
def slugify(title: str) -> str:
    """Lower-case ASCII words joined by '-', at most MAX_LENGTH characters, cut between words."""
    title = title or ""
    # Most titles are ASCII, which NFC and folding leave as they are: skip the walk over each character.
    text = (title if title.isascii() else "".join(_fold(c) for c in unicodedata.normalize("NFC", title))).lower()
    words = [w for w in _NOT_WORD.split(_INNER_APOSTROPHE.sub("", text)) if w]
    slug = ""
    for word in words:
        longer = f"{slug}-{word}" if slug else word
        if len(longer) > MAX_LENGTH:
            slug = slug or word[:MAX_LENGTH]  # one word longer than the limit is cut inside
            break
        slug = longer
    if not slug:
        return FALLBACK
    return f"{slug}-{FALLBACK}" if slug in RESERVED else slug


def question_path(question: Any, title: str | None = None) -> str:
    """The thread's canonical path. `question` is a question row (or a dict with id and title), or
    its id when `title` is given."""
    if title is None:
        qid = question["id"] if isinstance(question, dict) else question.id
        title = question["title"] if isinstance(question, dict) else question.title
    else:
        qid = question
    return f"/questions/{int(qid)}/{slugify(title or '')}"
