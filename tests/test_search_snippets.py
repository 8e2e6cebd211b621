"""search/snippets.py against Whoosh's own highlighter, which it replaces for speed: the same tokens as
the schema's analyzer, and the same snippets as `Hit.highlights` made with the settings the index
used (ContextFragmenter(220, 60), BasicFragmentScorer, the best two in text order, <mark>)."""

from __future__ import annotations

import random

import pytest
from whoosh import highlight as wh

from search import snippets
from search.corpus import read_site
from search.index import SNIPPET_CHARS, _stem, WhooshIndex
from search.query import parse
from tests.conftest import require_datasets

AWKWARD = [
    "My texts show <script>alert(1)</script> & \"quotes\" around the emoji 😀 — and 'apostrophes'.",
    "Version 3.5.1 of the app, v2.0 and e.g. i.e. U.S.A. all stay one token; so do 10.0.0.1 and a.b",
    "A " + "x" * 300 + " roaming then a very long word before roaming charges in Spain.",
    "roaming " * 80,
    "Ünïcödé wörds like café, naïve, straße and ΕΛΛΗΝΙΚΑ keep their case folded: Café CAFÉ.",
    "The the THE a an of to is it: stop words and one-letter words (a, I, x) are kept, not stemmed.",
    "", "   ", "....", "roaming",
    "Running runs ran runner; connection connected connecting; activation activate active.",
]


class MarkFormatter(wh.HtmlFormatter):
    def format_token(self, text, token, replace=False):
        return "<mark>%s</mark>" % wh.htmlescape(wh.get_text(text, token, replace), quote=False)


def whoosh_snippet(text: str, words: frozenset[str]) -> str | None:
    """What `Hit.highlights(field, text=text, top=2)` gave with the index's settings; None when two
    passages tie at the cut (Whoosh then picks by the objects' memory addresses)."""
    scorer = wh.BasicFragmentScorer()
    fragmenter = wh.ContextFragmenter(maxchars=SNIPPET_CHARS, surround=60)

    def fragments():
        tokens = _stem(text, positions=True, chars=True, mode="index", removestops=False)
        return fragmenter.fragment_tokens(text, wh.Highlighter._merge_matched_tokens(wh.set_matched_filter(tokens, words)))

    scores = sorted((scorer(f) for f in fragments()), reverse=True)
    if len(scores) > 2 and scores[1] == scores[2]:
        return None
    return MarkFormatter(between=" … ").format(wh.top_fragments(fragments(), 2, scorer, wh.FIRST, minscore=1))


def whoosh_tokens(text: str) -> list[tuple[str, int, int]]:
    return [(t.text, t.startchar, t.endchar) for t in _stem(text, chars=True, mode="index", removestops=False)]


def ours(text: str, words: frozenset[str]) -> str:
    return snippets.highlight(text, words, top=2, maxchars=SNIPPET_CHARS, surround=60)


@pytest.mark.parametrize("text", AWKWARD)
def test_tokens_are_the_analyzers(text):
    assert snippets.tokens(text) == whoosh_tokens(text)


@pytest.mark.parametrize("text", AWKWARD)
def test_awkward_texts_get_whooshs_snippet(text):
    for words in (frozenset({"roam"}), frozenset({"roam", "charg", "spain"}), frozenset({"the", "stop"}),
                  frozenset({"café", "wörd"}), frozenset({"3.5.1", "app", "run", "connect"}), frozenset({"emoji", "script"})):
        expected = whoosh_snippet(text, words)
        if expected is not None:
            assert ours(text, words) == expected, (text, words)
    assert ours("roaming charges", frozenset()) == "" and ours("", frozenset({"roam"})) == ""


def test_snippets_match_whoosh_on_real_posts():
    """Excerpts of two real sites, each marked with some of its own words and a word of another post."""
    root = require_datasets()
    docs = []
    for site in ("cardano.stackexchange.com", "bicycles.meta.stackexchange.com"):
        docs += read_site(root / site)[0][:400]
    rng = random.Random(7)
    compared = tied = marked = 0
    for doc in docs:
        text = doc.excerpt
        assert snippets.tokens(text) == whoosh_tokens(text)
        terms = sorted({term for term, _, _ in snippets.tokens(text + " " + doc.title)})
        if not terms:
            continue
        other = rng.choice(docs).title
        for words in (frozenset(rng.sample(terms, min(len(terms), rng.randint(1, 3)))),
                      frozenset(rng.sample(terms, min(len(terms), 8))) | {t for t, _, _ in snippets.tokens(other)}):
            expected = whoosh_snippet(text, words)
            if expected is None:
                tied += 1
                continue
            got = ours(text, words)
            assert got == expected, (doc.question_id, sorted(words))
            compared += 1
            marked += "<mark>" in got
    assert compared >= 1000 and marked >= 800 and tied < compared / 4, (compared, marked, tied)


def test_a_tie_takes_the_earlier_passages():
    text = "roaming " + "filler words here and there " * 12 + "roaming " + "more filler text to pass " * 12 + "roaming end"
    got = ours(text, frozenset({"roam"}))
    assert got.count("<mark>roaming</mark>") == 2 and got.startswith("<mark>roaming</mark>")


def test_the_index_marks_what_the_search_matched(tmp_path):
    """Through a real index: plain words marked in the excerpt (the query's terms in the full-text
    field), a phrase's words in the body; the same as Whoosh's."""
    from datetime import datetime, timezone

    from search.documents import ThreadDoc

    ix = WhooshIndex(tmp_path / "index", background_merges=False)
    body = ("Since the update my roaming charges in Spain doubled. I checked the roaming settings twice "
            "and the data roaming toggle is off, yet the bill shows roaming data used on the 3rd.")
    ix.apply([ThreadDoc(1, "Roaming charges in Spain", body, "", ["roaming"], "ann", 1, [], "unanswered", 0, 0,
                        datetime(2026, 1, 2, tzinfo=timezone.utc))], [])
    for raw, field in (("roaming charges", "text"), ('"roaming settings"', "body")):
        hit = ix.search(raw).items[0]
        words = frozenset(t for t in ix._tokens(" ".join(term.text for g in parse(raw).groups for term in g)))
        assert str(hit.snippet) == whoosh_snippet(body, words), (raw, field)
        assert "<mark>roaming</mark>" in str(hit.snippet)
