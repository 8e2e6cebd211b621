"""The Whoosh index on its own (a real index in tmp_path, no database): schema, searcher reuse,
the generation-keyed cache, counting, paging, snippets and "did you mean"."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from whoosh.searching import Results

from search.documents import ThreadDoc
from search.index import WhooshIndex


def thread(qid: int, title: str, body: str = "Some details about the problem here.", answers: str = "",
           state: str = "unanswered", score: int = 0, tags: tuple[str, ...] = ("general",)) -> ThreadDoc:
    return ThreadDoc(qid, title, body, answers, list(tags), f"member{qid}", qid, [], state, score,
                     1 if answers else 0, datetime(2026, 1, 1 + qid % 27, tzinfo=timezone.utc))


@pytest.fixture
def ix(tmp_path):
    index = WhooshIndex(tmp_path / "index")
    yield index
    index.close()


def test_positions_only_where_phrases_need_them(ix):
    schema = ix.ix.schema
    assert schema["title"].format.supports("positions") and schema["body"].format.supports("positions")
    assert not schema["answers"].format.supports("positions")
    assert not schema["text"].format.supports("positions")


def test_searcher_is_reused_and_refreshed_after_a_commit(ix):
    ix.apply([thread(1, "Voicemail not working after update")], [])
    assert [h.question_id for h in ix.search("voicemail").items] == [1]
    searcher = ix.searcher()
    ix.search("update")
    assert ix.searcher() is searcher  # no reopening per request
    ix.apply([thread(2, "Voicemail greeting keeps resetting")], [])
    assert {h.question_id for h in ix.search("voicemail").items} == {1, 2}  # visible at once in this process
    assert ix.searcher() is not searcher


def test_results_are_cached_per_index_generation(ix):
    ix.apply([thread(1, "Top up with a voucher code fails")], [])
    first = ix.search("voucher")
    assert ix.search("voucher") is first  # served from the cache
    ix.apply([thread(2, "Voucher top up shows wrong amount")], [])
    second = ix.search("voucher")
    assert second is not first and second.total == 2


def test_a_page_never_counts_every_hit(ix, monkeypatch):
    ix.apply([thread(n, f"Signal drops in the evening number {n}") for n in range(1, 61)], [])

    real_len = Results.__len__

    def refuse_recount(self):
        if self._total is None and not self.has_exact_length():  # Whoosh would re-run the query
            raise AssertionError("len(results) re-ran the whole query")
        return real_len(self)

    monkeypatch.setattr(Results, "__len__", refuse_recount)
    page1 = ix.search("signal evening", 1)
    page2 = ix.search("signal evening", 2)
    assert len(page1.items) == len(page2.items) == 10
    assert not {h.question_id for h in page1.items} & {h.question_id for h in page2.items}
    assert page1.total >= 60 and page1.has_next
    last = ix.search("signal evening", 6)
    assert len(last.items) == 10
    assert not ix.search("signal evening", 7).items


def test_solved_and_upvoted_threads_rise_among_equal_matches(ix):
    ix.apply([thread(1, "Cannot send picture messages"), thread(2, "Cannot send picture messages", state="solved"),
              thread(3, "Cannot send picture messages", score=25)], [])
    order = [h.question_id for h in ix.search("picture messages").items]
    assert order[2] == 1 and set(order[:2]) == {2, 3}


def test_title_weighs_more_than_body(ix):
    ix.apply([thread(1, "Question about my account", body="The keyboard app crashes when typing."),
              thread(2, "Keyboard app crashes", body="It happens every day.")], [])
    assert [h.question_id for h in ix.search("keyboard crashes").items] == [2, 1]


def test_snippets_are_escaped_and_marked(ix):
    ix.apply([thread(1, "Strange characters in texts", body="My texts show <script>alert(1)</script> and &amp; around the emoji.")], [])
    snippet = str(ix.search("texts emoji").items[0].snippet)
    assert "<script>" not in snippet and "&lt;script&gt;" in snippet
    assert "<mark>emoji</mark>" in snippet


def test_did_you_mean_uses_the_index_words(ix):
    ix.apply([thread(1, "Roaming in Portugal"), thread(2, "Voicemail password reset")], [])
    page = ix.search("voicemial")
    assert page.total == 0 and page.suggestion == "voicemail"
    assert ix.search("voicemail").suggestion is None


def test_rebuild_replaces_everything_and_removed_threads_leave(ix):
    ix.apply([thread(1, "Old thread about billing"), thread(2, "Another billing thread")], [])
    ix.apply([], [2])
    assert [h.question_id for h in ix.search("billing").items] == [1]
    ix.rebuild([[thread(3, "Fresh billing question")]])
    assert [h.question_id for h in ix.search("billing").items] == [3]


def test_an_index_from_an_older_schema_is_replaced_and_flagged(tmp_path):
    from whoosh import index
    from whoosh.fields import ID, TEXT, Schema

    path = tmp_path / "old"
    path.mkdir()
    index.create_in(str(path), Schema(id=ID(stored=True), title=TEXT())).close()
    ix = WhooshIndex(path)
    assert ix.needs_rebuild
    assert ix.search("anything").total == 0
    ix.close()


def test_small_commits_never_merge_the_big_segment(ix, monkeypatch):
    import search.index

    monkeypatch.setattr(search.index, "SMALL_SEGMENT_DOCS", 100)
    ix.rebuild([[thread(n, f"Bulk thread number {n} about data plans") for n in range(1, 301)]])
    big = [seg.segment_id() for seg in ix.ix._segments() if seg.doc_count_all() >= 300]
    for n in range(301, 341):  # forty small commits, as the indexer makes them
        ix.apply([thread(n, f"New thread {n} about data plans")], [])
    segments = ix.ix._segments()
    assert big and big[0] in [seg.segment_id() for seg in segments]  # never rewritten
    assert len(segments) <= 1 + 8  # the small ones were folded together
    assert ix.search("data plans").total >= 340


@pytest.mark.parametrize("order", [(1, 2, 3, 4), (2, 3, 1, 4), (3, 2, 4, 1), (4, 3, 2, 1)])
def test_an_excluded_word_excludes_whatever_order_the_threads_were_written_in(ix, order):
    """Whoosh's AndNotMatcher only checks its first match against the excluded postings when both
    start on the same document: written roaming-first, "esim -roaming" used to keep the roaming
    thread (doc order on PostgreSQL follows the heap, so the test of the service flickered)."""
    threads = {1: thread(1, "eSIM not activating after switching phones"),
               2: thread(2, "Roaming in Spain shows no service at all"),
               3: thread(3, "Am I charged for roaming data on my eSIM"),
               4: thread(4, "Bill shows a charge I do not recognise")}
    ix.apply([threads[qid] for qid in order], [])
    assert [h.question_id for h in ix.search("esim -roaming").items] == [1]
    assert {h.question_id for h in ix.search("esim").items} == {1, 3}
    assert [h.question_id for h in ix.search("-roaming [general]").items if h.question_id in (2, 3)] == []


# Words whose stems differ from each other and from every other word's (none is a stop word).
WORDS = ("signal", "roaming", "billing", "esim", "voicemail", "contract", "upgrade", "porting")
TAGS = ("esim", "billing", "general")


@st.composite
def forums(draw):
    """A few threads in a random order, each with some of WORDS in its title and body and one tag."""
    n = draw(st.integers(1, 8))
    threads = []
    for qid in range(1, n + 1):
        title = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=3))
        body = draw(st.lists(st.sampled_from(WORDS), max_size=3))
        threads.append(thread(qid, " ".join(title), " ".join(body) or "Nothing else to say.", tags=(draw(st.sampled_from(TAGS)),)))
    return draw(st.permutations(threads))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(threads=forums(), a=st.sampled_from(WORDS), b=st.sampled_from(WORDS), tag=st.sampled_from(TAGS),
       form=st.sampled_from(("{a}", "{a} -{b}", "{a} OR {b}", "{a} -[{tag}]", "{a} [{tag}]", "-{b} [{tag}]",
                             "{a} OR {b} -[{tag}]", '"{a} {b}"', '"{a} {b}" -[{tag}]')))
def test_the_index_matches_exactly_what_the_query_language_says(tmp_path_factory, threads, a, b, tag, form):
    """Differential check of matching (not ranking) against a plain evaluation of each thread's
    words: every matching thread is found, and nothing else, whatever order they were written in."""
    ix = WhooshIndex(tmp_path_factory.mktemp("differential") / "index")
    try:
        ix.apply(threads, [])
        query = form.format(a=a, b=b, tag=tag)

        def matches(t: ThreadDoc) -> bool:
            words = set(f"{t.title} {t.body}".split())
            phrase = any(f" {a} {b} " in f" {text} " for text in (t.title, t.body))  # within one field
            ok = {"{a}": a in words, "{a} -{b}": a in words and b not in words, "{a} OR {b}": a in words or b in words,
                  "{a} -[{tag}]": a in words and tag not in t.tags, "{a} [{tag}]": a in words and tag in t.tags,
                  "-{b} [{tag}]": b not in words and tag in t.tags,
                  "{a} OR {b} -[{tag}]": (a in words or b in words) and tag not in t.tags,
                  '"{a} {b}"': phrase, '"{a} {b}" -[{tag}]': phrase and tag not in t.tags}
            return ok[form]

        expected = {t.question_id for t in threads if matches(t)}
        found = [h.question_id for h in ix.search(query, 1, 10).items]
        assert len(found) == len(set(found)), f"{query!r} listed a thread twice: {found}"
        assert set(found) == expected, f"{query!r} on {[(t.question_id, t.title, t.body, t.tags) for t in threads]}"
    finally:
        ix.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(threads=forums(), a=st.sampled_from(WORDS), b=st.sampled_from(WORDS), tag=st.sampled_from(TAGS),
       form=st.sampled_from(("{a}", "{a} {b}", "{a} OR {b}", "{a} -{b}", '"{a} {b}"', "title:{a} {b}", "{a} {b} [{tag}]")),
       pick=st.data())
def test_members_are_what_whoosh_itself_matches(tmp_path_factory, threads, a, b, tag, form, pick):
    """search/membership.py against Whoosh's own evaluation: for the queries `among(unlisted=True)`
    asks about (every word, some of the words, with exclusions and filters), the candidates each
    matches, over several segments (each commit writes one)."""
    import whoosh.query as wq

    from search.index import AnyOf, Without
    from search.membership import members
    from search.query import parse

    ix = WhooshIndex(tmp_path_factory.mktemp("members") / "index")
    try:
        half = len(threads) // 2
        ix.apply(threads[:half], [])
        ix.apply(threads[half:], [])
        parsed = parse(form.format(a=a, b=b, tag=tag))
        searcher = ix.searcher()
        queries = [q for q in (ix._text_query(parsed, searcher, relaxed=False), ix._text_query(parsed, searcher, relaxed=True),
                               ix._relaxed_query(parsed, searcher)) if q is not None]
        excluded, (filters, _) = ix._excluded(parsed), ix._filters(parsed, searcher)
        queries += [Without(q, excluded) for q in queries if excluded is not None]
        queries += [wq.And([q, filters]) for q in queries if filters is not None]
        queries.append(AnyOf(queries[:2]))
        everything = list(range(searcher.doc_count_all()))
        candidates = pick.draw(st.lists(st.sampled_from(everything), unique=True)) if everything else []
        for query in queries:
            expected = {h.docnum for h in searcher.search(query, limit=None)} & set(candidates)
            assert members(query, searcher, candidates) == expected, f"{query!r} on {candidates}"
    finally:
        ix.close()


def test_members_leave_out_what_is_excluded(ix):
    from search.index import Without
    from search.membership import members
    from search.query import parse

    ix.apply([thread(1, "signal roaming"), thread(2, "signal upgrade")], [])
    ix.apply([thread(3, "roaming upgrade"), thread(4, "signal contract")], [])
    parsed = parse("signal -roaming")
    searcher = ix.searcher()
    assert len(searcher.leaf_searchers()) == 2
    query = Without(ix._text_query(parsed, searcher, relaxed=False), ix._excluded(parsed))
    docnums = {int(searcher.stored_fields(d)["question_id"]): d for d in range(searcher.doc_count_all())}
    assert members(query, searcher, list(docnums.values())) == {docnums[2], docnums[4]}
    assert members(query, searcher, [docnums[1], docnums[3], docnums[4]]) == {docnums[4]}
