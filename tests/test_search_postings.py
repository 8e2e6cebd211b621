"""Reading the index directly: the zero-copy segment files, remembered term counts, and the
similar-question scoring that must rank exactly as Whoosh's own BM25F `Or` query would."""

from __future__ import annotations

import pickle
from datetime import datetime, timezone

import pytest
from whoosh import query as wq
from whoosh.filedb.structfile import BufferFile

from search.documents import ThreadDoc
from search.index import WhooshIndex
from search.segment_files import ViewReader

TITLES = [
    "eSIM activation failed on new phone", "Roaming charges in Spain look wrong", "Voicemail greeting keeps resetting",
    "eSIM QR code not accepted", "Data roaming not working abroad", "Phone shows no service after top up",
    "Top up voucher rejected", "Porting my number from another network", "eSIM profile deleted by mistake",
    "Bill shows roaming charge for Spain", "Signal drops every evening at home", "Cannot receive texts after porting",
]


def thread(qid: int, title: str, body: str = "", answers: str = "") -> ThreadDoc:
    body = body or f"Details of problem {qid}: {title.lower()} since yesterday, tried restarting the phone."
    return ThreadDoc(qid, title, body, answers, ["general"], f"member{qid}", qid, [], "unanswered", qid % 4, 0,
                     datetime(2026, 1, 1 + qid % 27, tzinfo=timezone.utc))


@pytest.fixture
def ix(tmp_path):
    index = WhooshIndex(tmp_path / "index")
    # A rebuilt segment, then small commits (more segments), then an edit and a removal (deletions).
    index.rebuild([[thread(n, title) for n, title in enumerate(TITLES, start=1)]])
    index.apply([thread(20 + n, f"{title} again") for n, title in enumerate(TITLES[:5])], [])
    index.apply([thread(30, "eSIM stuck on activating, roaming in Spain")], [])
    index.apply([thread(3, "Voicemail greeting resets after every eSIM update")], [2])
    yield index
    index.close()


def test_buffer_files_read_from_the_view_without_a_private_copy():
    payload = pickle.dumps({"block": list(range(50))}, 2)
    data = b"\x00\x00\x00\x07" + payload + b"line one\nline two\n"
    f = BufferFile(memoryview(data))
    assert isinstance(f.file.raw, ViewReader)
    assert f.read_int() == 7
    assert f.read_pickle() == {"block": list(range(50))}
    assert f.file.readline() == b"line one\n"
    f.seek(4)
    assert f.read(2) == payload[:2]
    assert f.get(0, 4) == b"\x00\x00\x00\x07"
    f.seek(0, 2)
    assert f.tell() == len(data) and f.read(5) == b""
    f.close()


def test_term_counts_match_whoosh_across_segments_and_generations(ix):
    reader = ix.searcher().reader()
    assert len(list(reader.leaf_readers())) > 1
    for field, token in [("title", "esim"), ("title", "roam"), ("body", "phone"), ("title", "absent"), ("text", "spain")]:
        assert ix._counts.doc_frequency(reader, field, token) == reader.doc_frequency(field, token)
    ix.apply([thread(40, "Another eSIM question")], [])
    reader = ix.searcher().reader()
    assert ix._counts.doc_frequency(reader, "title", "esim") == reader.doc_frequency("title", "esim")


@pytest.mark.parametrize("terms", [
    [("title", "esim", 1.0)],
    [("title", "esim", 1.0), ("body", "esim", 1.0), ("title", "roam", 1.0), ("title", "spain", 0.4)],
    [("title", "voicemail", 1.0), ("body", "restart", 0.4), ("body", "phone", 0.4), ("title", "top", 1.0)],
    [("title", "nothing-like-this", 1.0)],
])
def test_best_ranks_exactly_as_whoosh_scores_the_same_or_query(ix, terms):
    searcher = ix.searcher()
    ours = ix._counts.best(searcher, terms, 10)
    theirs = searcher.search(wq.Or([wq.Term(f, t, boost=b) for f, t, b in terms]), limit=None)
    expected = sorted(((round(h.score, 9), h.docnum) for h in theirs), key=lambda x: (-x[0], x[1]))[:10]
    assert [(round(score, 9), docnum) for score, docnum in ours] == expected
    assert all(not searcher.reader().is_deleted(docnum) for _, docnum in ours)


def test_similar_questions_leave_out_removed_and_replaced_copies(ix):
    hits = ix.similar("Voicemail greeting resets", "")
    ids = [h.question_id for h in hits]
    assert ids[0] == 3 and ids.count(3) == 1  # the edited thread once, as edited
    assert 2 not in [h.question_id for h in ix.similar("Roaming charges in Spain", "")]  # removed
    assert all("<mark>" not in h.title for h in hits)


def test_posting_skips_land_where_whooshs_own_skip_to_lands(tmp_path):
    """search/posting_skips.py bisects inside a posting block: installed on Whoosh's matcher, and at
    the same posting as Whoosh's own stepping for every target, across blocks of 128 postings."""
    import random

    from whoosh.codec import whoosh3

    from search import posting_skips

    assert whoosh3.W3LeafMatcher.skip_to is posting_skips.skip_to
    index = WhooshIndex(tmp_path / "big")
    index.rebuild([[thread(n, f"{TITLES[n % len(TITLES)]} case {n % 7}", body=f"Phone word{n % 3} story {n}")
                    for n in range(1, 901)]])
    reader = index.searcher().reader()
    leaf = next(r for r, _ in reader.leaf_readers())
    rng = random.Random(3)
    assert leaf.doc_frequency("text", "phone") == 900 and leaf.doc_frequency("text", "word1") == 300  # several blocks
    checked = 0
    for field, text in [("text", "phone"), ("text", "word1"), ("title", "esim"), ("text", "case"), ("body", "phone")]:
        for _ in range(20):
            ours, theirs = leaf.postings(field, text), leaf.postings(field, text)
            assert isinstance(ours, whoosh3.W3LeafMatcher)
            target = 0
            while theirs.is_active():
                target += rng.choice([1, 2, 5, 40, 130, 300])
                posting_skips.whoosh_skip_to(theirs, target)
                ours.skip_to(target)
                assert ours.is_active() == theirs.is_active()
                if theirs.is_active():
                    assert (ours.id(), ours.weight()) == (theirs.id(), theirs.weight())
                    checked += 1
            with pytest.raises(Exception):
                ours.skip_to(target + 1)  # past the end: ReadTooFar, as Whoosh
    assert checked > 500
    index.close()
