"""SEARCH_BACKEND=postgres search and similar questions one at a time on a database of your own
(issue 17): the scale load's 200 search queries and 200 similar-question inputs, in-process, with
p50/p95/p99 and the five slowest inputs; similar questions once per SIMILAR_BUDGET given.

    .venv/bin/python bench/pg_lookup_bench.py --database-url postgres://postgres@127.0.0.1:5490/scale \
        --budgets 100000000,20000,5000,2000

The database is one `bench/scale_bench.py generate --keep` made (prewarm it first: see
docs/benchmarks.md, "Scale"). `--server-pool` connects as the web server does (no parallel plans).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from search_bench import make_queries, similar_inputs  # noqa: E402


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def report(name: str, timed: list[tuple[float, str]]) -> None:
    ms = [t for t, _ in timed]
    print(f"{name}: p50 {pct(ms, 50):.1f} p95 {pct(ms, 95):.1f} p99 {pct(ms, 99):.1f} max {max(ms):.0f} ms")
    for t, text in sorted(timed, reverse=True)[:5]:
        print(f"   {t:8.1f} {text!r}")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--budgets", default="5000", help="comma list of SIMILAR_BUDGET values")
    ap.add_argument("--seed", type=int, default=11, help="the load's --load-seed")
    ap.add_argument("--server-pool", action="store_true")
    args = ap.parse_args()

    from community import db, dbpool
    from search import postgres

    await db.init(args.database_url, dbpool.PoolSettings.for_server({}) if args.server_pool else None)
    backend = postgres.PostgresBackend()
    queries = make_queries(400, args.seed)[:200]
    similar = similar_inputs(400, args.seed + 1)[:200]
    try:
        for budget in [int(b) for b in args.budgets.split(",")]:
            postgres.SIMILAR_BUDGET = budget
            for title, body in similar[:5]:  # warm
                await backend.similar(title, body[:300], 5)
            timed = []
            for title, body in similar:
                t = time.perf_counter()
                await backend.similar(title, body[:300], 5)
                timed.append(((time.perf_counter() - t) * 1000, title))
            report(f"similar questions, SIMILAR_BUDGET {budget}", timed)
        for q in queries[:5]:
            await backend.search(q)
        timed = []
        for q in queries:
            t = time.perf_counter()
            await backend.search(q)
            timed.append(((time.perf_counter() - t) * 1000, q))
        report("search", timed)
    finally:
        await db.close()


if __name__ == "__main__":
    asyncio.run(main())
