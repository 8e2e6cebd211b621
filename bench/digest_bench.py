"""Benchmark of issue 13: one daily digest for 10,000, 30,000 and 100,000 members (time, peak memory).

Per size, a fresh SQLite database in a temp dir (`db.migrate`), seeded with set-based SQL:
- N members with confirmed addresses, each watching 2 of 50 tags (a tenth of them also with two
  answers on a watched question waiting for the daily digest: `watched_answer` set to daily);
- 200 questions asked in the period (4 per tag, every other one answered), 2,000 older ones;
so every member gets one digest of 8 new questions (plus 2 updates for a tenth of them).
Each round runs `community.digest.run("daily", ...)` in a child process of its own on a copy of the
seeded database, and reports the wall time, mails queued, members per second, how long each batch
(one transaction: SQLite's write lock) took, and the child's memory: its RSS once imported and
connected, and its peak RSS during the run (VmHWM, reset just before it); with --heap, one more run
under tracemalloc gives the peak of Python's own allocations. Memory that stays flat from 10,000 to
100,000 members is the point: the run holds one batch of members at a time.

    .venv/bin/python bench/digest_bench.py --sizes 10000 30000 100000 --rounds 3

Results and the machine: docs/benchmarks.md, "Digests and notification mail (issue 13)".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NOW = datetime(2026, 6, 2, 9, 0, tzinfo=timezone.utc)  # the daily period: [06-01 07:00, 06-02 07:00)
TAGS = 50
NEW_QUESTIONS = 200
OLD_QUESTIONS = 2000


def _ts(expr: str) -> str:
    """SQLite text timestamps, as Tortoise writes them."""
    return f"(strftime('%Y-%m-%d %H:%M:%S', {expr}, 'unixepoch') || '+00:00')"


def _series(n: int) -> str:
    return f"(WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i < {n - 1}) SELECT i FROM g)"


def seed(path: Path, members: int) -> None:
    import sqlite3

    since = int((NOW - timedelta(hours=26)).timestamp())  # the period began at 07:00 the day before
    con = sqlite3.connect(path)
    con.executescript(f"""
        INSERT INTO "user" (id, username, email, role, reputation, about, created_at, suspension_reason, email_confirmed_at)
            SELECT i + 1, 'm' || i, 'm' || i || '@example.com', 'member', 1, '', {_ts(since - 86400 * 30)}, '',
                   {_ts(since - 86400 * 30)} FROM {_series(members)};
        INSERT INTO tag (id, name, description, question_count) SELECT i + 1, 'tag' || i, '', 0 FROM {_series(TAGS)};
        INSERT INTO tag_watch (user_id, tag_id, created_at)
            SELECT i + 1, (i % {TAGS}) + 1, {_ts(since - 86400)} FROM {_series(members)};
        INSERT INTO tag_watch (user_id, tag_id, created_at)
            SELECT i + 1, ((i + 7) % {TAGS}) + 1, {_ts(since - 86400)} FROM {_series(members)};
        INSERT INTO post (id, kind, title, body, body_html, score, created_at, last_activity_at, official, tag_names, state,
                          answer_count, view_count, locked, hidden, escalation_exempt, author_id)
            SELECT i + 1, 'question', 'Question number ' || i || ' about roaming abroad',
                   'body', '<p>How do I keep data roaming working when I cross a border? Question ' || i || '.</p>', 0,
                   {_ts(f'CASE WHEN i < {NEW_QUESTIONS} THEN {since} + 60 + i * 300 ELSE {since} - 3600 - i * 60 END')},
                   {_ts(f'{since} + 60')}, 0, 'tag' || (i % {TAGS}),
                   CASE WHEN i % 2 = 0 THEN 'unanswered' ELSE 'answered' END, i % 2, 0, 0, 0, 0, 1
            FROM {_series(NEW_QUESTIONS + OLD_QUESTIONS)};
        INSERT INTO post_tag (post_id, tag_id) SELECT i + 1, (i % {TAGS}) + 1 FROM {_series(NEW_QUESTIONS + OLD_QUESTIONS)};
        INSERT INTO post (id, kind, question_id, title, body, body_html, score, created_at, last_activity_at, official,
                          tag_names, state, answer_count, view_count, locked, hidden, escalation_exempt, author_id)
            SELECT 100000 + i, 'answer', i + 1, '', 'answer', '<p>Turn on the roaming pass first.</p>', 0,
                   {_ts(f'{since} + 7200')}, {_ts(f'{since} + 7200')}, 0, '', 'unanswered', 0, 0, 0, 0, 0, 1
            FROM {_series(NEW_QUESTIONS)};
        INSERT INTO notification_preference (user_id, kind, delivery)
            SELECT i + 1, 'watched_answer', 'daily' FROM {_series(members)} WHERE i % 10 = 0;
        INSERT INTO notification (user_id, kind, text, url, created_at, question_id, post_id, reason, digest)
            SELECT i + 1, 'watched_answer', 'm1 answered: Question number ' || (i % {NEW_QUESTIONS}),
                   '/questions/' || ((i % {NEW_QUESTIONS}) + 1) || '#answer-' || (100000 + i % {NEW_QUESTIONS}),
                   {_ts(f'{since} + 7200 + k')}, (i % {NEW_QUESTIONS}) + 1, 100000 + i % {NEW_QUESTIONS},
                   'you watch this question', 'daily'
            FROM {_series(members)} JOIN (SELECT 0 AS k UNION ALL SELECT 1) WHERE i % 10 = 0;
    """)
    con.commit()
    con.close()


def _vm(field: str) -> float:
    """VmRSS (now) or VmHWM (the peak since the last reset) of this process, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise LookupError(field)


async def _child(url: str, heap: bool) -> dict:
    """One digest run in this (fresh) process."""
    import tracemalloc

    from community import db, digest, settings
    from community.mail_links import Site

    await db.init(url)
    await settings.load()
    batches: list[float] = []
    next_batch = digest._next_batch

    async def timed_batch(*args: object) -> tuple[bool, int]:  # how long each batch holds SQLite's write lock
        t = time.perf_counter()
        try:
            return await next_batch(*args)
        finally:
            batches.append(time.perf_counter() - t)

    digest._next_batch = timed_batch
    Path("/proc/self/clear_refs").write_text("5")  # the peak RSS starts again from here
    before = _vm("VmRSS")
    if heap:
        tracemalloc.start()
    started = time.perf_counter()
    sent = await digest.run("daily", Site("https://forum.example", "bench-secret", "community@forum.example"), NOW)
    seconds = time.perf_counter() - started
    heap_peak = tracemalloc.get_traced_memory()[1] / 2**20 if heap else None
    peak = _vm("VmHWM")
    await db.close()
    return {"sent": sent, "seconds": seconds, "rss_start_mb": before, "rss_peak_mb": peak, "heap_peak_mb": heap_peak,
            "batch_median_s": statistics.median(batches), "batch_max_s": max(batches)}


def _run_child(path: Path, heap: bool) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", f"sqlite://{path}"] + (["--heap"] if heap else []),
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_size(members: int, rounds: int, heap: bool, work: Path) -> dict:
    from community import db

    seeded = work / f"seed-{members}.sqlite3"
    asyncio.run(db.migrate(f"sqlite://{seeded}"))
    t = time.perf_counter()
    seed(seeded, members)
    seed_seconds = time.perf_counter() - t
    results = []
    for n in range(rounds + heap):  # with --heap, one more round under tracemalloc, for the heap figure alone
        path = work / f"run-{members}.sqlite3"
        shutil.copy(seeded, path)
        results.append(_run_child(path, heap=n == rounds))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{seeded}{suffix}").unlink(missing_ok=True)
    assert all(r["sent"] == members for r in results), (members, [r["sent"] for r in results])
    timed = results[:rounds]
    seconds = statistics.median(r["seconds"] for r in timed)
    return {
        "members": members, "seed_s": seed_seconds, "seconds": seconds, "per_s": members / seconds,
        "rss_start_mb": statistics.median(r["rss_start_mb"] for r in timed),
        "rss_peak_mb": statistics.median(r["rss_peak_mb"] for r in timed),
        "batch_median_s": statistics.median(r["batch_median_s"] for r in timed),
        "batch_max_s": max(r["batch_max_s"] for r in timed),
        "heap_peak_mb": results[rounds]["heap_peak_mb"] if heap else None, "rounds": [round(r["seconds"], 1) for r in timed],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per size (the median is reported)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--heap", action="store_true",
                        help="also run each size once under tracemalloc and report the peak of Python's allocations")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(_child(args.child, args.heap))))
        return
    from community import digest
    print(f"machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}; batches of {digest.BATCH} members")
    print("| members | mails | median s | members/s | RSS at start MB | peak RSS MB | batch median / max s |"
          + (" Python heap peak MB |" if args.heap else "") + " rounds s |")
    print("|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if args.heap else "") + "---|")
    with tempfile.TemporaryDirectory(prefix="digest-bench-") as tmp:
        for members in args.sizes:
            r = bench_size(members, args.rounds, args.heap, Path(tmp))
            print(f"| {r['members']:,} | {r['members']:,} | {r['seconds']:.1f} | {r['per_s']:,.0f} | {r['rss_start_mb']:.0f} | "
                  f"{r['rss_peak_mb']:.0f} | {r['batch_median_s']:.2f} / {r['batch_max_s']:.2f} |"
                  + (f" {r['heap_peak_mb']:.1f} |" if args.heap else "") + f" {', '.join(map(str, r['rounds']))} |", flush=True)


if __name__ == "__main__":
    main()
