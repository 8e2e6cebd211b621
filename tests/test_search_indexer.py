"""How fast changes reach the index: the indexer woken by a write in this process, one commit per
batch with one document per thread, small commits folded together by size tier, and big rebuilds
indexed by worker processes."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from community import questions
from search import index as search_index
from search.documents import ThreadDoc
from search.index import WhooshIndex, rebuild_procs
from search.indexer import Indexer
from search.models import IndexOutbox
from search.web import search_backend


def thread(qid: int, title: str) -> ThreadDoc:
    return ThreadDoc(qid, title, f"Body of thread {qid}: {title.lower()}.", "", ["general"], f"member{qid}", qid,
                     [], "unanswered", 0, 0, datetime(2026, 2, 1 + qid % 27, tzinfo=timezone.utc))


def found(ix: WhooshIndex, q: str, per_page: int = 50) -> list[int]:
    return [h.question_id for h in ix.search(q, 1, per_page).items]


async def test_a_question_asked_in_this_process_wakes_the_indexer(app, users):
    backend = search_backend(app)
    member = await users("erin", 200)
    # A poll far longer than the test may take: only the nudge from the outbox can index the post.
    loop = asyncio.create_task(Indexer(backend).run(poll=120))
    try:
        asked = await questions.ask(member, "Wifi calling drops on the train", "Every call over wifi drops near tunnels.", "wifi")

        async def searchable_and_drained() -> None:
            # The outbox rows go once the commit is made, a moment after searches can see it.
            while (asked.id not in [h.question_id for h in (await backend.search("wifi calling")).items]
                   or await IndexOutbox.all().count()):
                await asyncio.sleep(0.01)

        await asyncio.wait_for(searchable_and_drained(), timeout=10)
    finally:
        loop.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loop


def test_one_commit_keeps_one_document_per_thread(tmp_path):
    ix = WhooshIndex(tmp_path / "index")
    ix.apply([thread(1, "Parcel tracking first draft"), thread(1, "Parcel tracking final words")], [])
    assert found(ix, "parcel") == [1]
    assert ix.search("final").items[0].title == "Parcel tracking final words"
    ix.apply([thread(1, "Parcel tracking edited again"), thread(2, "Parcel arrived damaged")], [])
    assert sorted(found(ix, "parcel")) == [1, 2] and found(ix, "final") == []
    assert ix.searcher().doc_count() == 2
    ix.close()


def test_small_commits_merge_by_size_tier_and_never_touch_the_rebuilt_segment(tmp_path, monkeypatch):
    monkeypatch.setattr(search_index, "SMALL_SEGMENT_DOCS", 100)
    monkeypatch.setattr(search_index, "MERGE_FANOUT", 3)  # tiers of 1-2, 3-8, 9-26, 27-80 documents
    monkeypatch.setattr(search_index, "COMMIT_MERGE_DOCS", 9)  # commits merge the 1-2 and 3-8 tiers only
    ix = WhooshIndex(tmp_path / "index", background_merges=False)
    ix.rebuild([[thread(n, f"Bulk thread {n} about parcels") for n in range(1, 121)]])
    big = [seg.segment_id() for seg in ix.ix._segments()]
    assert len(big) == 1
    merges = []
    for n in range(121, 161):  # forty commits of one new thread each
        before = {seg.segment_id() for seg in ix.ix._segments()}
        ix.apply([thread(n, f"New thread {n} about parcels")], [])
        after = ix.ix._segments()
        assert big[0] in [seg.segment_id() for seg in after]  # never rewritten
        merges += [seg.doc_count_all() for seg in after if seg.segment_id() not in before and seg.doc_count_all() > 1]
        assert len(after) <= 1 + 4 * (3 - 1) + 1
    # Merges folded a tier at a time: tiny ones often, bigger ones rarely, so each document was
    # rewritten about once per tier (4 tiers), not at every merge.
    assert merges and min(merges) <= 4 and max(merges) >= 9
    assert max(merges) <= 3 * 8  # nothing bigger than the 3-8 tier was merged inside a commit
    assert sum(1 for m in merges if m <= 4) > len(merges) / 2
    assert sum(merges) <= 40 * 4
    # The 9-26 tier is merged beside the commits.
    tier2 = [seg for seg in ix.ix._segments() if 9 <= seg.doc_count_all() <= 26]
    assert len(tier2) >= 3
    assert ix.merge_in_background()
    after = ix.ix._segments()
    assert big[0] in [seg.segment_id() for seg in after]
    assert len([seg for seg in after if 9 <= seg.doc_count_all() <= 26]) == len(tier2) - 3
    assert found(ix, "parcels", 200).__len__() == 160
    ix.close()


def _three_segments_of_five(tmp_path, monkeypatch, **options) -> WhooshIndex:
    monkeypatch.setattr(search_index, "MERGE_FANOUT", 3)
    monkeypatch.setattr(search_index, "COMMIT_MERGE_DOCS", 3)  # commits merge 1-2 document segments only
    monkeypatch.setattr(search_index, "SMALL_SEGMENT_DOCS", 100)
    ix = WhooshIndex(tmp_path / "index", **options)
    for start in (0, 5, 10):
        ix.apply([thread(n, f"Thread {n} about roaming") for n in range(start + 1, start + 6)], [])
    return ix


def test_a_background_merge_keeps_edits_and_removals_made_while_it_ran(tmp_path, monkeypatch):
    ix = _three_segments_of_five(tmp_path, monkeypatch, background_merges=False)
    assert sorted(seg.doc_count_all() for seg in ix.ix._segments()) == [5, 5, 5]
    built = ix._build_merge()  # the merge reads the three segments as they are now...
    assert built is not None and len(built[0]) == 3
    ix.apply([thread(2, "Thread 2 edited about voicemail")], [7])  # ...while an edit and a removal commit
    assert ix._swap_merge(*built)
    segments = ix.ix._segments()
    assert sorted((seg.doc_count_all(), seg.deleted_count()) for seg in segments) == [(1, 0), (15, 2)]
    assert sorted(found(ix, "roaming")) == [n for n in range(1, 16) if n not in (2, 7)]
    assert found(ix, "voicemail") == [2]
    assert ix.search("thread").total == 14
    assert not [p.name for p in (tmp_path / "index").iterdir() if p.name.startswith(".merge")]  # its side directory is gone
    ix.close()
    reopened = WhooshIndex(tmp_path / "index")  # what was committed is what another process sees
    assert sorted(found(reopened, "roaming")) == [n for n in range(1, 16) if n not in (2, 7)]
    reopened.close()


def test_a_background_merge_overtaken_by_a_rebuild_is_dropped(tmp_path, monkeypatch):
    ix = _three_segments_of_five(tmp_path, monkeypatch, background_merges=False)
    built = ix._build_merge()
    ix.rebuild([[thread(n, f"Rebuilt thread {n} about billing") for n in range(100, 104)]])
    assert not ix._swap_merge(*built)
    assert sorted(found(ix, "thread")) == [100, 101, 102, 103] and found(ix, "roaming") == []
    ix.close()


def test_commits_start_the_background_merge_themselves(tmp_path, monkeypatch):
    ix = _three_segments_of_five(tmp_path, monkeypatch)  # the third commit makes the tier due
    ix.close()  # waits for a merge in flight
    ix = WhooshIndex(tmp_path / "index", background_merges=False)
    assert [seg.doc_count_all() for seg in ix.ix._segments()] == [15]
    assert sorted(found(ix, "roaming")) == list(range(1, 16))
    ix.close()


def test_a_big_rebuild_indexes_in_worker_processes_with_the_same_results(tmp_path):
    docs = [thread(n, f"Thread {n} about {'roaming' if n % 3 else 'billing'} and {'esim' if n % 2 else 'voicemail'}")
            for n in range(1, 121)]
    serial, parallel = WhooshIndex(tmp_path / "serial"), WhooshIndex(tmp_path / "parallel")
    serial.rebuild([docs[:60], docs[60:]])
    assert parallel.rebuild([docs[:60], docs[60:]], procs=2) == 120
    assert len(parallel.ix._segments()) == 2  # one per worker, not merged again
    for q in ["roaming", "billing esim", "voicemail OR esim", "thread"]:
        assert sorted(found(parallel, q, 200)) == sorted(found(serial, q, 200))  # equal scores may swap
        assert parallel.search(q).total == serial.search(q).total
    serial.close()
    parallel.close()


def test_rebuild_workers_only_for_big_rebuilds():
    assert rebuild_procs(100) == 1
    assert rebuild_procs(search_index.PARALLEL_REBUILD_FROM - 1) == 1
    assert 1 <= rebuild_procs(100_000) <= search_index.REBUILD_PROCS


def test_segments_of_a_tier_reaching_past_the_small_size_are_never_merged(tmp_path, monkeypatch):
    monkeypatch.setattr(search_index, "SMALL_SEGMENT_DOCS", 100)
    monkeypatch.setattr(search_index, "MERGE_FANOUT", 3)  # 81-242 documents: a tier reaching past 100
    ix = WhooshIndex(tmp_path / "index")
    for start in range(0, 4 * 85, 85):
        ix.apply([thread(n, f"Batch thread {n} about parcels") for n in range(start + 1, start + 86)], [])
    assert sorted(seg.doc_count_all() for seg in ix.ix._segments()) == [85, 85, 85, 85]
    assert ix.search("parcels").total == 340
    ix.close()
