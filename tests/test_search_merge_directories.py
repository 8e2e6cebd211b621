"""Background merges of a Whoosh index shared by several workers: each merge builds in a side
directory of its own, so two workers merging the same index at once never delete each other's
work (once "background merge ... failed: FileNotFoundError"), no document is lost, and no side
directory outlives its merge, even a failed one or one left by a worker that died."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

from search import index as search_index
from search.documents import ThreadDoc
from search.index import WhooshIndex

BARRIER_SECONDS = 60  # only bounds a broken run (a worker that never gets there); nothing waits this long


def thread(qid: int, title: str) -> ThreadDoc:
    return ThreadDoc(qid, title, f"Body of thread {qid}: {title.lower()}.", "", ["general"], f"member{qid}", qid,
                     [], "unanswered", 0, 0, datetime(2026, 2, 1 + qid % 27, tzinfo=timezone.utc))


SMALL_TIERS = {"MERGE_FANOUT": 3, "COMMIT_MERGE_DOCS": 3, "SMALL_SEGMENT_DOCS": 100}  # 3 segments of 5 make a tier due


@pytest.fixture(autouse=True)
def small_tiers(monkeypatch):
    for name, value in SMALL_TIERS.items():
        monkeypatch.setattr(search_index, name, value)


def merge_leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".merge"))


def _three_segments_of_five(directory: Path) -> None:
    ix = WhooshIndex(directory, background_merges=False)
    for start in (0, 5, 10):
        ix.apply([thread(n, f"Thread {n} about roaming") for n in range(start + 1, start + 6)], [])
    assert sorted(seg.doc_count_all() for seg in ix.ix._segments()) == [5, 5, 5]
    ix.close()


def _merge_in_worker(directory: str, barrier, results) -> None:
    """One worker process: merge the shared index, with both workers' side directories made
    before either copies a document into its own."""
    for name, value in SMALL_TIERS.items():
        setattr(search_index, name, value)
    copy = search_index._add_segments

    def copy_when_both_started(writer, storage, segments):
        barrier.wait(BARRIER_SECONDS)
        copy(writer, storage, segments)

    search_index._add_segments = copy_when_both_started
    ix = WhooshIndex(directory, background_merges=False)
    try:
        results.put(("merged", ix.merge_in_background()))
    except BaseException as err:  # reported to the test, which fails on it
        barrier.abort()
        results.put(("failed", repr(err)))
    finally:
        ix.close()


def test_two_worker_processes_merging_one_index_at_once(tmp_path):
    directory = tmp_path / "index"
    _three_segments_of_five(directory)
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_merge_in_worker, args=(str(directory), barrier, results)) for _ in range(2)]
    for w in workers:
        w.start()
    outcomes = sorted(results.get(timeout=BARRIER_SECONDS * 2) for _ in workers)
    for w in workers:
        w.join()
    # One merge is swapped in; the other finds its segments already merged and drops its copy.
    assert outcomes == [("merged", False), ("merged", True)], outcomes
    assert [w.exitcode for w in workers] == [0, 0]
    assert merge_leftovers(directory) == []
    ix = WhooshIndex(directory, background_merges=False)
    assert [(seg.doc_count_all(), seg.deleted_count()) for seg in ix.ix._segments()] == [(15, 0)]
    assert sorted(h.question_id for h in ix.search("roaming", 1, 50).items) == list(range(1, 16))
    ix.close()


def test_two_index_writers_in_one_process_merging_at_once(tmp_path, monkeypatch):
    directory = tmp_path / "index"
    _three_segments_of_five(directory)
    first, second = WhooshIndex(directory, background_merges=False), WhooshIndex(directory, background_merges=False)
    barrier = threading.Barrier(2)
    copy = search_index._add_segments

    def copy_when_both_started(writer, storage, segments):
        barrier.wait(BARRIER_SECONDS)  # both side directories exist before either copies a document
        copy(writer, storage, segments)

    monkeypatch.setattr(search_index, "_add_segments", copy_when_both_started)
    outcomes: dict[str, object] = {}

    def merge(name: str, ix: WhooshIndex) -> None:
        try:
            outcomes[name] = ix.merge_in_background()
        except BaseException as err:
            barrier.abort()
            outcomes[name] = err

    workers = [threading.Thread(target=merge, args=(n, ix)) for n, ix in (("first", first), ("second", second))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sorted(outcomes.values(), key=str) == [False, True], outcomes
    assert merge_leftovers(directory) == []
    for ix in (first, second):
        assert sorted(h.question_id for h in ix.search("roaming", 1, 50).items) == list(range(1, 16))
        ix.close()


def test_a_failed_merge_leaves_no_side_directory_and_the_index_as_it_was(tmp_path, monkeypatch):
    directory = tmp_path / "index"
    _three_segments_of_five(directory)
    ix = WhooshIndex(directory, background_merges=False)

    def disk_full(writer, storage, segments):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(search_index, "_add_segments", disk_full)
    with pytest.raises(OSError):
        ix.merge_in_background()
    assert merge_leftovers(directory) == []
    assert sorted(seg.doc_count_all() for seg in ix.ix._segments()) == [5, 5, 5]
    assert sorted(h.question_id for h in ix.search("roaming", 1, 50).items) == list(range(1, 16))
    ix.close()


def test_a_merge_clears_side_directories_of_dead_workers_but_not_of_live_ones(tmp_path, monkeypatch):
    directory = tmp_path / "index"
    _three_segments_of_five(directory)
    ix = WhooshIndex(directory, background_merges=False)
    for dead in (".merge", ".merge-0123456789abcdef"):  # an older release's, and one whose worker was killed
        (directory / dead).mkdir()
        (directory / dead / "_MAIN_1.toc").write_bytes(b"half a merge")
    (directory / ".merge-0123456789abcdef.lock").write_bytes(b"")  # its lock file, held by nobody now
    live = ix.ix.storage.lock(".merge-fedcba9876543210.lock")  # another worker, merging right now
    assert live.acquire(blocking=False)
    (directory / ".merge-fedcba9876543210").mkdir()
    assert ix.merge_in_background()
    assert merge_leftovers(directory) == [".merge-fedcba9876543210", ".merge-fedcba9876543210.lock"]
    live.release()
    assert sorted(h.question_id for h in ix.search("roaming", 1, 50).items) == list(range(1, 16))
    ix.close()
