"""SEARCH_BACKEND=postgres against PostgreSQL's own full-text search, same corpus, same queries (issue 17).

Setup (once, kept in the PostgreSQL database named by --url): the thread documents of a SQLite
database made by bench/semantic_bench.py --keep (or bench/search_bench.py --keep) are written into
search_document through `PostgresBackend.rebuild`, and the corpus's posts into `bench_posts` (one
row per post, a generated weighted tsvector with a GIN index: the raw baseline of
bench/search_bench.py). Measure: for each query, alternating call by call so every side meets the
same load on the shared machine, uncached:
- raw: `plainto_tsquery` + `ts_rank` ... LIMIT 10 on bench_posts, for the search queries (timed
  again beside the similar look-ups, so each figure has its baseline in the same minutes) and for
  the titles; with --raw-or also the OR of every title word (`websearch_to_tsquery`) LIMIT 20;
- before: the PostgresBackend of a git revision (--before, default HEAD), loaded from `git show`;
- after: search/postgres.py as it is in the tree;
- hybrid (EMBEDDINGS on, the server's default) over each, the neighbour index filled from the
  SQLite database's question vectors.

    PG=postgres://postgres@127.0.0.1:5457/searchbench
    .venv/bin/python bench/pg_search_bench.py --url $PG --sqlite /tmp/semantic-bench-XXXX/app.sqlite3 \
        --corpus /tmp/bench/corpus.jsonl --setup
    .venv/bin/python bench/pg_search_bench.py --url $PG --sqlite /tmp/semantic-bench-XXXX/app.sqlite3

Results: docs/benchmarks.md, "Search (issue 3)", the issue 17 part.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import search_bench as sb  # noqa: E402


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.1f}] {msg}", flush=True)


def module_at(revision: str, path: str, name: str) -> types.ModuleType:
    source = subprocess.run(["git", "show", f"{revision}:{path}"], cwd=ROOT, check=True, capture_output=True,
                            text=True).stdout
    module = types.ModuleType(name)
    module.__file__ = f"{revision}:{path}"
    sys.modules[name] = module
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


async def setup(url: str, sqlite: Path, corpus: Path) -> dict:
    from community import db
    from search import documents
    from search.postgres import PostgresBackend

    await db.init(f"sqlite://{sqlite}")
    docs: list = []
    async for ids in documents.all_question_ids(1000):
        docs += (await documents.load(ids))[0]
    await db.close()
    import asyncpg

    c = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    await c.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    await c.close()
    await db.migrate(url)
    await db.init(url)

    async def batches():
        for i in range(0, len(docs), 1000):
            yield docs[i:i + 1000]

    t0 = time.perf_counter()
    await PostgresBackend().rebuild(batches())
    rebuild_s = time.perf_counter() - t0
    await db.execute("ANALYZE search_document")
    await db.close()
    raw = await raw_table(url, corpus)
    return {"threads": len(docs), "rebuild_threads_per_s": round(len(docs) / rebuild_s), "raw": raw}


async def raw_table(url: str, corpus: Path) -> dict:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    await conn.execute("DROP TABLE IF EXISTS bench_posts; CREATE TABLE bench_posts (id int PRIMARY KEY, title text, body text,"
                       " tsv tsvector GENERATED ALWAYS AS (setweight(to_tsvector('english', title), 'A') ||"
                       " setweight(to_tsvector('english', body), 'B')) STORED)")
    await conn.copy_records_to_table("bench_posts", records=list(sb.corpus_posts(corpus, None)), columns=["id", "title", "body"])
    await conn.execute("CREATE INDEX bench_posts_tsv ON bench_posts USING GIN (tsv); ANALYZE bench_posts")
    n = await conn.fetchval("SELECT count(*) FROM bench_posts")
    await conn.close()
    return {"posts": n}


async def load_vectors(sqlite: Path) -> Any:
    import sqlite3

    import numpy as np

    from search.neighbours import NeighbourIndex
    from search.vectors import from_bytes

    index = NeighbourIndex()
    with sqlite3.connect(sqlite) as c:
        rows = c.execute("SELECT question_id, vector FROM search_vector WHERE vector IS NOT NULL ORDER BY seq").fetchall()
    index.put_many([(qid, np.array(from_bytes(v))) for qid, v in rows])
    return index


class Side:
    def __init__(self, name: str, fn: Any) -> None:
        self.name, self.fn, self.wall, self.cpu = name, fn, [], []

    def figures(self) -> dict:
        return {**sb.summary(self.wall), "cpu_p50_ms": round(sb.pct(self.cpu, 50), 2),
                "cpu_p95_ms": round(sb.pct(self.cpu, 95), 2)}


async def alternate(sides: list[Side], inputs: list[Any], clear: Any) -> dict:
    for item in inputs:
        for side in sides:
            clear()
            c, w = time.process_time(), time.perf_counter()
            await side.fn(item)
            side.cpu.append((time.process_time() - c) * 1000)
            side.wall.append((time.perf_counter() - w) * 1000)
    return {s.name: s.figures() for s in sides}


async def measure(url: str, sqlite: Path, before_rev: str, n_queries: int, n_similar: int, hybrid: bool,
                  only: set[str], raw_or: bool = False) -> dict:
    import asyncpg

    from community import db
    from search.hybrid import HybridBackend
    from search.postgres import PostgresBackend

    old = module_at(before_rev, "search/postgres.py", "search_postgres_before")
    queries = sb.make_queries(n_queries)
    similar = sb.similar_inputs(n_similar)
    await db.init(url)
    raw = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    before, after = old.PostgresBackend(), PostgresBackend()
    out: dict = {"before": before_rev, "load_start": os.getloadavg()[0]}
    hyb_before = hyb_after = None
    caches: list = []
    if hybrid:
        from search.embedding import Embedder

        embedder = Embedder()
        neighbours = await load_vectors(sqlite)
        hyb_before = HybridBackend(before, embedder, neighbours, follow=False)
        hyb_after = HybridBackend(after, embedder, neighbours, follow=False)
        caches = [hyb_before._queries, hyb_after._queries]

    def clear() -> None:
        for cache in caches:
            cache.clear()

    async def raw_search(q: str) -> None:
        await raw.fetch("SELECT id FROM bench_posts WHERE tsv @@ plainto_tsquery('english', $1)"
                        " ORDER BY ts_rank(tsv, plainto_tsquery('english', $1)) DESC LIMIT 10", q)

    async def raw_similar(pair: tuple[str, str]) -> None:
        words = " or ".join(w for w in pair[0].replace('"', " ").replace("-", " ").split() if w.lower() != "or")
        await raw.fetch("SELECT id FROM bench_posts WHERE tsv @@ websearch_to_tsquery('english', $1)"
                        " ORDER BY ts_rank(tsv, websearch_to_tsquery('english', $1)) DESC LIMIT 20", words)

    if "search" in only:
        log(f"search: {len(queries)} queries")
        sides = [Side("raw", raw_search), Side("before", lambda q: before.search(q, 1)),
                 Side("after", lambda q: after.search(q, 1))]
        if hybrid:
            sides += [Side("hybrid_before", lambda q: hyb_before.search(q, 1)),
                      Side("hybrid_after", lambda q: hyb_after.search(q, 1))]
        out["search"] = await alternate(sides, queries, clear)
        log(json.dumps(out["search"]))
    if "page3" in only:
        sides = [Side("before", lambda q: before.search(q, 3)), Side("after", lambda q: after.search(q, 3))]
        out["search_page3"] = await alternate(sides, queries[:100], clear)
        log(json.dumps(out["search_page3"]))
    if "similar" in only:
        log(f"similar: {len(similar)} titles")
        sides = [Side("raw", raw_search), Side("raw_title", lambda p: raw_search(p[0].lower())),
                 Side("before", lambda p: before.similar(p[0], "")), Side("after", lambda p: after.similar(p[0], ""))]
        if raw_or:
            sides.append(Side("raw_or", raw_similar))
        if hybrid:
            sides += [Side("hybrid_before", lambda p: hyb_before.similar(p[0], "")),
                      Side("hybrid_after", lambda p: hyb_after.similar(p[0], ""))]
        # "raw" is the raw search of the search queries again (one per title, cycling), so the
        # look-ups' figures meet the load the baseline met
        paired = [(queries[i % len(queries)], title, body) for i, (title, body) in enumerate(similar)]
        for side in sides:
            side.fn = (lambda fn, name: (lambda item: fn(item[0]) if name == "raw" else fn(item[1:])))(side.fn, side.name)
        out["similar_title"] = await alternate(sides, paired, clear)
        log(json.dumps(out["similar_title"]))
    if "similar_body" in only:
        sides = [Side("before", lambda p: before.similar(*p)), Side("after", lambda p: after.similar(*p))]
        if hybrid:
            sides += [Side("hybrid_before", lambda p: hyb_before.similar(*p)),
                      Side("hybrid_after", lambda p: hyb_after.similar(*p))]
        out["similar_title_body"] = await alternate(sides, similar, clear)
        log(json.dumps(out["similar_title_body"]))
    if "same" in only:
        out["same_results"] = await same_results(before, after, queries, similar)
        log(json.dumps(out["same_results"]))
    out["load_end"] = os.getloadavg()[0]
    await raw.close()
    await db.close()
    return out


async def same_results(before: Any, after: Any, queries: list[str], similar: list[tuple[str, str]]) -> dict:
    """How often the two return the same ids, in the same order, and the same total."""
    same_ids = same_total = same_set = 0
    for q in queries:
        a, b = await before.search(q, 1), await after.search(q, 1)
        ia, ib = [h.question_id for h in a.items], [h.question_id for h in b.items]
        same_ids += ia == ib
        same_set += set(ia) == set(ib)
        same_total += (a.total, a.total_exact) == (b.total, b.total_exact)
    sim_same = sim_set = 0
    for title, _ in similar:
        a, b = await before.similar(title, ""), await after.similar(title, "")
        ia, ib = [h.question_id for h in a], [h.question_id for h in b]
        sim_same += ia == ib
        sim_set += set(ia) == set(ib)
    return {"queries": len(queries), "search_same_order": same_ids, "search_same_set": same_set,
            "search_same_total": same_total, "similar": len(similar), "similar_same_order": sim_same,
            "similar_same_set": sim_set}


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--sqlite", type=Path, required=True)
    ap.add_argument("--corpus", type=Path, default=Path("/tmp/bench/corpus.jsonl"))
    ap.add_argument("--setup", action="store_true")
    ap.add_argument("--before", default="HEAD")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--similar", type=int, default=200)
    ap.add_argument("--no-hybrid", action="store_true")
    ap.add_argument("--raw-or", action="store_true",
                    help="also time the raw OR of every title word over the posts (about a second each)")
    ap.add_argument("--parts", default="search,similar,similar_body,page3,same")
    ap.add_argument("--out", type=Path, default=ROOT / "var" / "bench" / "pg_search_results.json")
    args = ap.parse_args()
    results: dict = {"machine": sb.machine(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    if args.setup:
        log("setup")
        results["setup"] = await setup(args.url, args.sqlite, args.corpus)
        log(json.dumps(results["setup"]))
    else:
        results.update(await measure(args.url, args.sqlite, args.before, args.queries, args.similar,
                                     not args.no_hybrid, set(args.parts.split(",")), args.raw_or))
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    asyncio.run(main())
