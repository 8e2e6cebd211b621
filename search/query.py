"""The Stack Exchange search language, parsed into a backend-neutral `SearchQuery`.

Both backends (Whoosh and PostgreSQL) compile the same `SearchQuery`, so the language is defined once.
Parsing never raises: whatever it cannot understand becomes a readable hint, and the rest of the
query still runs (best effort), because a customer who mistypes an operator still needs an answer.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

MAX_QUERY_CHARS = 500  # longer input is cut: nobody types more, and it bounds the work per request
MAX_TERMS = 32

STATES = ("solved", "answered", "unanswered")


@dataclass
class Term:
    """A word or an "exact phrase", optionally limited to the title, the question body or the answers."""

    text: str
    phrase: bool = False
    field: str | None = None  # None: anywhere; "title", "body" (question body), "answers"


@dataclass
class SearchQuery:
    # AND of groups; each group is an OR of terms (a single-term group is a plain word).
    groups: list[list[Term]] = field(default_factory=list)
    excluded: list[Term] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    excluded_tags: list[str] = field(default_factory=list)
    scope: str | None = None  # "question": match question text only; "answer": answers only
    states: set[str] = field(default_factory=set)
    users: list[str] = field(default_factory=list)  # names (lower case) or "#ID"
    score_min: int | None = None
    score_max: int | None = None
    answers_min: int | None = None
    answers_max: int | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None  # exclusive
    hints: list[str] = field(default_factory=list)

    @property
    def has_text(self) -> bool:
        return bool(self.groups)

    @property
    def has_filters(self) -> bool:
        return bool(self.tags or self.excluded_tags or self.states or self.users or self.scope == "answer"
                    or self.score_min is not None or self.score_max is not None
                    or self.answers_min is not None or self.answers_max is not None
                    or self.created_from is not None or self.created_to is not None)

    @property
    def is_empty(self) -> bool:
        return not self.has_text and not self.has_filters and not self.excluded

    def words(self) -> list[str]:
        """The plain words typed (for "did you mean")."""
        return [t.text for g in self.groups for t in g if not t.phrase]


# One token: an optional minus, then a quoted phrase, a [tag], key:"phrase", key:value, or a bare word.
_TOKEN = re.compile(
    r'(?P<neg>-)?(?:'
    r'"(?P<phrase>[^"]*)(?P<close>"?)'
    r'|\[(?P<tag>[^\]\s]*)(?P<tclose>\]?)'
    r'|(?P<key>[A-Za-z]+):"(?P<kphrase>[^"]*)"?'
    r'|(?P<word>[^\s"\[]+)'
    r')'
)
_TAG_RE = re.compile(r"^[a-z0-9+#.-]{1,35}$")
_INT = re.compile(r"^-?\d{1,9}$")
_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
_KEYS = ("tag", "is", "user", "score", "answers", "created", "title", "body", "inquestion")


def parse(raw: object) -> SearchQuery:
    """Parse a query string. Never raises; unknown or malformed parts become hints."""
    out = SearchQuery()
    text = raw if isinstance(raw, str) else ""
    text = text.replace("\x00", " ")
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS]
        out.hints.append(f"Your search was cut to its first {MAX_QUERY_CHARS} characters.")
    pending_or = False
    for m in _TOKEN.finditer(text):
        neg = bool(m.group("neg"))
        term: Term | None = None
        if m.group("phrase") is not None:
            words = m.group("phrase").split()
            if not m.group("close"):
                _hint(out, "A quotation mark is not closed; the words after it were searched as separate words.")
                for word in words[:MAX_TERMS]:
                    (out.excluded if neg else out.groups).append(Term(word) if neg else [Term(word)])
                pending_or = False
                continue
            if not words:
                continue
            term = Term(" ".join(words), phrase=len(words) > 1)
        elif m.group("tag") is not None:
            if not m.group("tclose"):
                _hint(out, "A [tag] is missing its closing bracket; it was read as a tag anyway.")
            _add_tag(out, m.group("tag"), neg)
            continue
        elif m.group("key") is not None:
            term = _keyed_phrase(out, m.group("key").lower(), m.group("kphrase"))
            if term is None:
                continue
        else:
            word = m.group("word")
            if word == "OR" and not neg:
                if out.groups:
                    pending_or = True
                else:
                    _hint(out, "OR needs a word on each side, e.g. esim OR sim.")
                continue
            if ":" in word:
                key, _, value = word.partition(":")
                if key.lower() in _KEYS:
                    term = _operator(out, key.lower(), value, neg)
                    if term is None:
                        pending_or = False
                        continue
                else:
                    term = Term(word)
            else:
                if word == "-":
                    continue
                term = Term(word)
        if term is None:
            continue
        if neg:
            out.excluded.append(term)
            pending_or = False
            continue
        if len([t for g in out.groups for t in g]) >= MAX_TERMS:
            _hint(out, f"Only the first {MAX_TERMS} words were searched.")
            continue
        if pending_or and out.groups:
            out.groups[-1].append(term)
        else:
            out.groups.append([term])
        pending_or = False
    if pending_or:
        _hint(out, "OR needs a word on each side, e.g. esim OR sim.")
    return out


def _hint(out: SearchQuery, message: str) -> None:
    if message not in out.hints:
        out.hints.append(message)


def _add_tag(out: SearchQuery, name: str, neg: bool) -> None:
    name = name.strip().lower()
    if not name:
        _hint(out, "An empty [] or tag: was ignored; put a tag name inside, e.g. [roaming].")
        return
    if not _TAG_RE.match(name):
        _hint(out, f"{name[:40]!r} is not a tag name (tags use a-z, 0-9 and + # . -); it was ignored.")
        return
    (out.excluded_tags if neg else out.tags).append(name)


def _keyed_phrase(out: SearchQuery, key: str, phrase: str) -> Term | None:
    words = phrase.split()
    if key in ("title", "body"):
        if not words:
            _hint(out, f"{key}: needs a word after it, e.g. {key}:esim.")
            return None
        return Term(" ".join(words), phrase=len(words) > 1, field=key)
    if key == "user" and words:
        out.users.append(" ".join(words).lower())
        return None
    _hint(out, f'{key}:"..." is not something you can search by; it was ignored.')
    return None


def _operator(out: SearchQuery, key: str, value: str, neg: bool) -> Term | None:
    """Apply one key:value operator; returns a Term for title:/body:, else None."""
    if key in ("title", "body"):
        if not value:
            _hint(out, f"{key}: needs a word after it, e.g. {key}:esim.")
            return None
        return Term(value, field=key)
    if neg and key != "tag":
        _hint(out, f"-{key}: cannot be negated; it was read as {key}:.")
    if key == "tag":
        _add_tag(out, value, neg)
    elif key == "is":
        _is(out, value.lower())
    elif key == "inquestion":
        _hint(out, "inquestion: works only on a question page; it was ignored.")
    elif key == "user":
        value = value.strip().lower()
        if not value:
            _hint(out, "user: needs a member name or number, e.g. user:42.")
        elif value.isdigit():
            out.users.append(f"#{int(value[:9])}")
        else:
            out.users.append(value[:40])
    elif key == "score":
        lo, hi = _int_range(out, "score", value)
        if lo is not None or hi is not None:
            out.score_min, out.score_max = lo, hi
    elif key == "answers":
        lo, hi = _int_range(out, "answers", value)
        if lo == 0 and hi is None and ".." not in value:
            hi = 0  # answers:0 means none, as on Stack Exchange
        if lo is not None or hi is not None:
            out.answers_min, out.answers_max = lo, hi
    elif key == "created":
        _created(out, value)
    return None


def _is(out: SearchQuery, value: str) -> None:
    if value in ("question", "q"):
        out.scope = "question"
    elif value in ("answer", "a"):
        out.scope = "answer"
    elif value in ("solved", "accepted"):
        out.states.add("solved")
    elif value == "unsolved":
        out.states.update({"answered", "unanswered"})
    elif value == "unanswered":
        out.states.add("unanswered")
    elif value == "answered":
        out.states.add("answered")
    else:
        _hint(out, "is: takes question, answer, solved, unsolved or unanswered"
                   + (f" (not {value[:30]!r})" if value else "") + ".")


def _int_range(out: SearchQuery, key: str, value: str) -> tuple[int | None, int | None]:
    """`3` -> at least 3; `..0` -> at most 0; `1..5` -> 1 to 5."""
    example = f"{key}:3 (at least 3), {key}:..0 (at most 0) or {key}:1..5"
    if ".." in value:
        a, _, b = value.partition("..")
        if (a and not _INT.match(a)) or (b and not _INT.match(b)) or (not a and not b):
            _hint(out, f"{key}: takes a number or a range, e.g. {example}.")
            return None, None
        lo, hi = (int(a) if a else None), (int(b) if b else None)
        if lo is not None and hi is not None and lo > hi:
            lo, hi = hi, lo
            _hint(out, f"The {key}: range was backwards; it was read as {lo}..{hi}.")
        return lo, hi
    if not _INT.match(value):
        _hint(out, f"{key}: takes a number or a range, e.g. {example}.")
        return None, None
    return int(value), None


def _period(value: str) -> tuple[datetime, datetime] | None:
    """`2026`, `2026-03` or `2026-03-14` -> [start, end) of that year, month or day."""
    m = _DATE.match(value)
    if not m:
        return None
    try:
        year = int(m.group(1))
        if m.group(3):
            start = datetime(year, int(m.group(2)), int(m.group(3)), tzinfo=timezone.utc)
            return start, start + timedelta(days=1)
        if m.group(2):
            month = int(m.group(2))
            start = datetime(year, month, 1, tzinfo=timezone.utc)
            days = calendar.monthrange(year, month)[1]
            return start, start + timedelta(days=days)
        start = datetime(year, 1, 1, tzinfo=timezone.utc)
        return start, datetime(year + 1, 1, 1, tzinfo=timezone.utc) if year < 9999 else start + timedelta(days=365)
    except (ValueError, OverflowError):
        return None


def _created(out: SearchQuery, value: str) -> None:
    example = "created:2026-01..2026-03, created:2026-02-14 or created:..2025"
    if ".." in value:
        a, _, b = value.partition("..")
        first = _period(a) if a else None
        last = _period(b) if b else None
        if (a and first is None) or (b and last is None) or (not a and not b):
            _hint(out, f"created: takes dates as YYYY, YYYY-MM or YYYY-MM-DD, e.g. {example}.")
            return
        out.created_from = first[0] if first else None
        out.created_to = last[1] if last else None
        if out.created_from and out.created_to and out.created_from >= out.created_to:
            out.created_from, out.created_to = (last[0], first[1])  # typed backwards: read it the other way
            _hint(out, "The created: range was backwards; it was read the other way round.")
        return
    period = _period(value)
    if period is None:
        _hint(out, f"created: takes dates as YYYY, YYYY-MM or YYYY-MM-DD, e.g. {example}.")
        return
    out.created_from, out.created_to = period
