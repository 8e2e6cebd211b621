"""Snippets: the best two passages of a thread's excerpt, with the searched words in <mark>.

Whoosh's highlighter makes them by running the field's analyzer over the excerpt as a chain of
generators (a Token object for every word, a cached stem behind a counting wrapper), then
fragmenting, scoring and formatting the passages: about half a millisecond a hit, a third or more
of a search's first page on the 100,000-post corpus (docs/benchmarks.md). This takes the same steps
over plain tuples: the same tokens as `StemmingAnalyzer()` (one regular expression, lower case, stop
words and one-letter words kept but not stemmed, a dict of stems), `ContextFragmenter`'s passages,
`BasicFragmentScorer`'s scores, the best `top` in text order, and the matched words in <mark> with
the rest HTML-escaped. Where Whoosh breaks a tie between passages of equal score by their objects'
memory addresses, this takes the earlier passage. tests/test_search_snippets.py compares it with
Whoosh's own highlighter on real posts.
"""

from __future__ import annotations

import re
from collections import deque
from html import escape
from typing import Any

from whoosh.analysis import STOP_WORDS
from whoosh.lang.porter import stem

# StemmingAnalyzer()'s defaults (whoosh.analysis.analyzers): the tokenizer's pattern, its stop
# words and their minimum size.
_TOKEN = re.compile(r"\w+(\.?\w+)*", re.UNICODE)
_STOPS = frozenset(STOP_WORDS)
_MIN_SIZE = 2
_STEMS: dict[str, str] = {}
_STEMS_KEPT = 50_000
CHAR_LIMIT = 2 ** 15  # whoosh.highlight.DEFAULT_CHARLIMIT: tokens past it are not looked at

Token = tuple[str, int, int]  # (term, start, end)


def tokens(text: str) -> list[Token]:
    """The excerpt's tokens as the field's analyzer indexes them (stop words kept, unstemmed)."""
    out: list[Token] = []
    stems = _STEMS
    for m in _TOKEN.finditer(text):
        word = m.group().lower()
        if len(word) >= _MIN_SIZE and word not in _STOPS:
            stemmed = stems.get(word)
            if stemmed is None:
                if len(stems) >= _STEMS_KEPT:
                    stems.clear()
                stemmed = stems[word] = stem(word)
            word = stemmed
        out.append((word, m.start(), m.end()))
    return out


def passages(text: str, words: frozenset[str] | set[str], maxchars: int, surround: int) -> list[tuple[int, int, list[Token]]]:
    """(start, end, matched tokens) of each passage, as whoosh.highlight.ContextFragmenter cuts them."""
    out: list[tuple[int, int, list[Token]]] = []
    first: int | None = None
    firsts: deque[int] = deque()
    countdown = -1
    matched: list[Token] = []
    end = 0
    length = 0
    for token in tokens(text):
        term, start, end = token
        size = end - start
        if end > CHAR_LIMIT:
            break
        hit = term in words
        if countdown < 0 and not hit:
            firsts.append(start)
            while firsts and end - firsts[0] > surround:
                firsts.popleft()
        elif length + size > maxchars:
            countdown = 0
        elif hit:
            countdown = surround
            if first is None:
                if firsts:
                    first = firsts[0]
                else:
                    first = start
                    countdown += surround
            matched.append(token)
        if countdown >= 0:
            length += size
            countdown -= size
            if countdown <= 0:
                out.append((first if first is not None else 0, end, matched))
                matched, firsts, first, length = [], deque(), None, 0
    if matched:
        out.append((first if first is not None else 0, end, matched))
    return out


def _score(passage: tuple[int, int, list[Token]]) -> float:
    matched = passage[2]
    return len(matched) * ((len({term for term, _, _ in matched}) * 100) or 1)


def highlight(text: str, words: frozenset[str] | set[str], top: int = 2, maxchars: int = 220, surround: int = 60,
              between: str = " … ") -> str:
    """The `top` best passages of `text`, earliest first, joined by `between`; "" when none of
    `words` (indexed terms) is in it."""
    if not words or not text:
        return ""
    found = passages(text, words, maxchars, surround)
    best = sorted(found, key=lambda p: (-_score(p), p[0]))[:top]
    parts = []
    for start, end, matched in sorted((p for p in best if _score(p) >= 1), key=lambda p: p[0]):
        out, index = [], start
        for _, s, e in matched:
            if s < index:
                continue
            if s > index:
                out.append(escape(text[index:s], quote=False))
            out.append("<mark>%s</mark>" % escape(text[s:e], quote=False))
            index = e
        out.append(escape(text[index:end], quote=False))
        parts.append("".join(out))
    return between.join(parts)


def searched_words(results: Any, field: str) -> frozenset[str]:
    """What Whoosh's highlighter marks in a field of these results: the terms that matched, where
    the search recorded them, else the query's terms in that field."""
    if results.has_matched_terms():
        raw = [term for name, term in results.matched_terms() if name == field]
    else:
        raw = [term for _, term in results.query_terms(expand=True, fieldname=field)]
    from_bytes = results.searcher.schema[field].from_bytes
    return frozenset(from_bytes(term) for term in raw)
