"""The query language parser: each operator, malformed input, and a fuzz test that nothing escapes."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from search.index import WhooshIndex
from search.query import MAX_QUERY_CHARS, Term, parse


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def test_words_phrases_exclusions_and_or():
    q = parse('esim "no service" -roaming sim OR card')
    assert q.groups == [[Term("esim")], [Term("no service", phrase=True)], [Term("sim"), Term("card")]]
    assert q.excluded == [Term("roaming")]
    assert q.hints == []


def test_tags_and_states():
    q = parse("[esim] tag:Roaming -[billing] -tag:spam is:solved")
    assert q.tags == ["esim", "roaming"] and q.excluded_tags == ["billing", "spam"]
    assert q.states == {"solved"} and not q.groups
    assert parse("is:unsolved").states == {"answered", "unanswered"}
    assert parse("is:unanswered").states == {"unanswered"}
    assert parse("is:question").scope == "question" and parse("is:answer").scope == "answer"


def test_users_scores_answers():
    q = parse("user:Alice user:42 score:3 answers:0")
    assert q.users == ["alice", "#42"]
    assert (q.score_min, q.score_max) == (3, None)
    assert (q.answers_min, q.answers_max) == (0, 0)
    q = parse("score:..0 answers:2")
    assert (q.score_min, q.score_max) == (None, 0) and (q.answers_min, q.answers_max) == (2, None)
    q = parse("score:5..1")
    assert (q.score_min, q.score_max) == (1, 5) and "backwards" in q.hints[0]
    assert (parse("score:-2").score_min) == -2


def test_created_ranges():
    q = parse("created:2026-01..2026-03")
    assert (q.created_from, q.created_to) == (utc(2026, 1, 1), utc(2026, 4, 1))
    q = parse("created:2026-02-14")
    assert (q.created_from, q.created_to) == (utc(2026, 2, 14), utc(2026, 2, 15))
    q = parse("created:..2025")
    assert (q.created_from, q.created_to) == (None, utc(2026, 1, 1))
    q = parse("created:2026-02")
    assert (q.created_from, q.created_to) == (utc(2026, 2, 1), utc(2026, 3, 1))


def test_title_and_body():
    q = parse('title:esim body:"qr code"')
    assert q.groups == [[Term("esim", field="title")], [Term("qr code", phrase=True, field="body")]]


@pytest.mark.parametrize("raw, hint", [
    ('"unclosed phrase', "quotation mark"),
    ("[esim", "closing bracket"),
    ("is:purple", "is: takes"),
    ("score:lots", "score: takes"),
    ("answers:..", "answers: takes"),
    ("created:yesterday", "created: takes"),
    ("created:2026-13", "created: takes"),
    ("user:", "user: needs"),
    ("title:", "title: needs"),
    ("OR esim", "OR needs"),
    ("OR OR", "OR needs"),
    ("[Not!A~Tag]", "not a tag"),
    ("[]", "empty"),
])
def test_malformed_parts_become_hints_and_the_rest_still_counts(raw, hint):
    q = parse(raw + " roaming")
    assert any(hint.lower() in h.lower() for h in q.hints), q.hints
    assert [Term("roaming")] in q.groups or q.groups[-1][-1] == Term("roaming")


def test_unknown_keys_are_words_and_huge_input_is_cut():
    assert parse("http://example.com").groups == [[Term("http://example.com")]]
    q = parse("a" * (MAX_QUERY_CHARS * 3))
    assert "cut" in q.hints[0] and len(q.groups[0][0].text) == MAX_QUERY_CHARS


def test_non_string_input_is_an_empty_query():
    for raw in (None, 42, b"esim", ["esim"]):
        assert parse(raw).is_empty


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory):
    from search.documents import ThreadDoc

    ix = WhooshIndex(tmp_path_factory.mktemp("fuzz-index"))
    ix.apply([ThreadDoc(1, "eSIM not activating", "activation fails on iPhone", "restart it", ["esim"], "alice", 1,
                        ["#2", "bob"], "solved", 3, 1, utc(2026, 1, 3)),
              ThreadDoc(2, "Роуминг не работает в Испании", "нет сети 漫游 不工作", "", ["roaming"], "ivan", 3, [],
                        "unanswered", 0, 0, utc(2026, 2, 3))], [])
    return ix


QUERY_ALPHABET = st.sampled_from(list('"[]-:. ()*?~^\\/') + ["OR", "AND", "NOT", "is:", "tag:", "user:", "score:",
                                                          "answers:", "created:", "title:", "body:", "..", "esim",
                                                          "漫游", "Роуминг", "\x00", "\u200b", "🙂"])
QUERIES = st.one_of(
    st.text(max_size=200),
    st.lists(QUERY_ALPHABET, max_size=40).map("".join),
    st.lists(QUERY_ALPHABET, max_size=40).map(" ".join),
    st.text(alphabet=st.characters(min_codepoint=0x400, max_codepoint=0x9FFF), max_size=80),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=QUERIES)
def test_fuzz_nothing_escapes_the_parser_or_the_index(raw, tiny_index):
    q = parse(raw)
    assert all(isinstance(h, str) and h for h in q.hints)
    page = tiny_index.search(raw, 1)
    assert page.total >= len(page.items) >= 0
    tiny_index.similar(raw, raw)


def test_huge_inputs_do_not_escape(tiny_index):
    for raw in ('"' * 10000, "-" * 10000, "[" * 10000, "esim OR " * 2000, "is:" * 3000, "漫游" * 5000):
        page = tiny_index.search(raw, 1)
        assert page.total >= 0
    assert tiny_index.search("漫游", 1).items[0].question_id == 2
    assert tiny_index.search("Роуминг", 1).items[0].question_id == 2
