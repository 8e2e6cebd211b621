"""Benchmark of issue 3: search latency, similar-question look-ups, reindex rate and index lag.

Loads a corpus made by bench/make_corpus.py into a fresh SQLite database (under /tmp), rebuilds the
search index with the real `reindex` path, and measures, in the same run and on the same posts:
- this design (Whoosh, one document per thread, result cache cleared before each query so every
  figure is an uncached search);
- a naive Whoosh index (one document per post, stemming, title and body, default schema, query
  parser and `len(results)`), as a Whoosh tutorial would build it;
- SQLite FTS5 (porter tokenizer, bm25 with the title weighted 3x);
- PostgreSQL full-text (a GIN-indexed tsvector, ts_rank) and this design's SEARCH_BACKEND=postgres,
  when TEST_DATABASE_URL names a PostgreSQL database (run under tests/with_postgres.sh).
Queries are 2-4 consecutive words of real titles from the datasets (not from the corpus itself).

    .venv/bin/python bench/make_corpus.py --posts 100000 --out /tmp/bench/corpus.jsonl
    PG_TEST_PORT=55434 bash tests/with_postgres.sh .venv/bin/python bench/search_bench.py --corpus /tmp/bench/corpus.jsonl

Results and the machine they were measured on: docs/benchmarks.md, "Search (issue 3)".
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import os
import platform
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATASETS = Path(os.environ.get("STACKEXCHANGE_DIR", ROOT.parent / "shared" / "datasets" / "stackexchange"))
NOW = datetime(2026, 3, 1, tzinfo=timezone.utc)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(ms: list[float]) -> dict:
    return {"p50_ms": round(pct(ms, 50), 2), "p95_ms": round(pct(ms, 95), 2), "n": len(ms)}


def make_queries(n: int, seed: int = 11) -> list[str]:
    from search.corpus import read_all

    docs, _ = read_all(DATASETS)
    rnd = random.Random(seed)
    out: list[str] = []
    stop = {"the", "a", "an", "of", "to", "in", "on", "for", "is", "and", "or", "it", "be", "are", "can", "with", "how", "what", "why", "do", "i"}
    while len(out) < n:
        words = [w for w in re.findall(r"[A-Za-z]+", rnd.choice(docs).title) if w.lower() not in stop]
        if len(words) < 2:
            continue
        k = rnd.randint(2, min(4, len(words)))
        start = rnd.randrange(len(words) - k + 1)
        out.append(" ".join(words[start:start + k]).lower())
    return out


def similar_inputs(n: int, seed: int = 13) -> list[tuple[str, str]]:
    from search.corpus import read_all

    docs, _ = read_all(DATASETS)
    rnd = random.Random(seed)
    return [(d.title, d.body[:300]) for d in rnd.sample(docs, n)]


# ----- loading the corpus into the application's database -----

async def load_corpus(path: Path, limit_posts: int | None) -> tuple[int, int]:
    from tortoise import connections

    conn = connections.get("default")
    now = NOW.isoformat(sep=" ")
    await conn.execute_many(
        'INSERT INTO "user" (id, username, email, role, reputation, about, created_at, suspension_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        [[i, f"member{i}", f"member{i}@example.com", "member", 1000, "", now, ""] for i in range(1, 501)])
    rows, tag_rows = [], []
    post_id = 0
    posts = questions = 0
    rnd = random.Random(3)
    with path.open() as fh:
        for line in fh:
            t = json.loads(line)
            if limit_posts and posts >= limit_posts:
                break
            post_id += 1
            qid = post_id
            questions += 1
            created = (NOW - timedelta(days=t["days_ago"])).isoformat(sep=" ")
            n_answers = len(t["answers"])
            accepted = qid + 1 if t["state"] == "solved" else None
            rows.append([qid, "question", None, rnd.randint(1, 500), t["title"], t["body"],
                         f"<p>{html.escape(t['body'])}</p>", t["score"], created, created, " ".join(t["tags"]),
                         t["state"], n_answers, accepted])
            for a in t["answers"]:
                post_id += 1
                rows.append([post_id, "answer", qid, rnd.randint(1, 500), "", a, f"<p>{html.escape(a)}</p>", 0,
                             created, created, "", "unanswered", 0, None])
            posts += 1 + n_answers
            if len(rows) >= 5000:
                await _insert_posts(conn, rows)
                rows = []
    if rows:
        await _insert_posts(conn, rows)
    del tag_rows
    return posts, questions


async def _insert_posts(conn, rows: list[list]) -> None:
    await conn.execute_many(
        "INSERT INTO post (id, kind, question_id, author_id, title, body, body_html, score, created_at, last_activity_at,"
        " tag_names, state, answer_count, accepted_answer_id, official, view_count, locked, hidden) VALUES"
        " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0)", rows)


def corpus_posts(path: Path, limit_posts: int | None):
    """(id, title, body) per post, for the naive Whoosh index and the FTS baselines."""
    post_id = posts = 0
    with path.open() as fh:
        for line in fh:
            t = json.loads(line)
            if limit_posts and posts >= limit_posts:
                return
            post_id += 1
            yield post_id, t["title"], t["body"]
            for a in t["answers"]:
                post_id += 1
                yield post_id, "", a
            posts += 1 + len(t["answers"])


# ----- the baselines -----

def naive_whoosh(workdir: Path, corpus: Path, limit_posts: int | None, queries: list[str]) -> dict:
    from whoosh import index
    from whoosh.analysis import StemmingAnalyzer
    from whoosh.fields import ID, TEXT, Schema
    from whoosh.qparser import MultifieldParser

    schema = Schema(id=ID(stored=True, unique=True), title=TEXT(analyzer=StemmingAnalyzer(), stored=True),
                    body=TEXT(analyzer=StemmingAnalyzer()))
    d = workdir / "naive"
    d.mkdir()
    ix = index.create_in(str(d), schema)
    t0 = time.perf_counter()
    w = ix.writer()
    n = 0
    for pid, title, body in corpus_posts(corpus, limit_posts):
        w.add_document(id=str(pid), title=title, body=body)
        n += 1
    w.commit()
    rate = n / (time.perf_counter() - t0)
    parser = MultifieldParser(["title", "body"], schema)
    ms = []
    with ix.searcher() as s:
        for q in queries:
            t = time.perf_counter()
            results = s.search(parser.parse(q), limit=10)
            len(results)  # the naive page shows the total
            [r["id"] for r in results]
            ms.append((time.perf_counter() - t) * 1000)
    return {"index_posts_per_s": round(rate), **summary(ms)}


def fts5(workdir: Path, corpus: Path, limit_posts: int | None, queries: list[str]) -> dict:
    db = sqlite3.connect(workdir / "fts5.sqlite3")
    db.execute("CREATE VIRTUAL TABLE posts USING fts5(title, body, tokenize='porter')")
    t0 = time.perf_counter()
    db.executemany("INSERT INTO posts (rowid, title, body) VALUES (?, ?, ?)", corpus_posts(corpus, limit_posts))
    db.commit()
    rate = db.execute("SELECT count(*) FROM posts").fetchone()[0] / (time.perf_counter() - t0)
    ms = []
    for q in queries:
        match = " AND ".join('"' + w.replace('"', "") + '"' for w in q.split())
        t = time.perf_counter()
        db.execute("SELECT rowid FROM posts WHERE posts MATCH ? ORDER BY bm25(posts, 3.0, 1.0) LIMIT 10", [match]).fetchall()
        ms.append((time.perf_counter() - t) * 1000)
    db.close()
    return {"index_posts_per_s": round(rate), **summary(ms)}


async def postgres_plain(url: str, corpus: Path, limit_posts: int | None, queries: list[str]) -> dict:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    await conn.execute("DROP TABLE IF EXISTS bench_posts; CREATE TABLE bench_posts (id int PRIMARY KEY, title text, body text,"
                       " tsv tsvector GENERATED ALWAYS AS (setweight(to_tsvector('english', title), 'A') ||"
                       " setweight(to_tsvector('english', body), 'B')) STORED)")
    t0 = time.perf_counter()
    await conn.copy_records_to_table("bench_posts", records=list(corpus_posts(corpus, limit_posts)), columns=["id", "title", "body"])
    await conn.execute("CREATE INDEX bench_posts_tsv ON bench_posts USING GIN (tsv); ANALYZE bench_posts")
    n = await conn.fetchval("SELECT count(*) FROM bench_posts")
    rate = n / (time.perf_counter() - t0)
    ms = []
    for q in queries:
        t = time.perf_counter()
        await conn.fetch("SELECT id FROM bench_posts WHERE tsv @@ plainto_tsquery('english', $1)"
                         " ORDER BY ts_rank(tsv, plainto_tsquery('english', $1)) DESC LIMIT 10", q)
        ms.append((time.perf_counter() - t) * 1000)
    await conn.execute("DROP TABLE bench_posts")
    await conn.close()
    return {"index_posts_per_s": round(rate), **summary(ms)}


# ----- this design -----

async def design(workdir: Path, corpus: Path, limit_posts: int | None, queries: list[str],
                 similar: list[tuple[str, str]], lag_seconds: float, reuse: bool = False,
                 rebuild: bool = False) -> dict:
    from community import db
    from search.backend import WhooshBackend

    url = f"sqlite://{workdir / 'app.sqlite3'}"
    if reuse:
        await db.init(url)
        backend = WhooshBackend(workdir / "index")
        rows = await db.fetch("SELECT COUNT(*) AS n, SUM(CASE WHEN kind = 'question' THEN 1 ELSE 0 END) AS q FROM post")
        out: dict = {"posts": rows[0]["n"], "threads": rows[0]["q"], "reused": str(workdir)}
        if rebuild:
            out.update(await rebuild_rates(workdir, backend, out["posts"]))
        return await measure(out, backend, queries, similar, lag_seconds)
    await db.migrate(url)
    await db.init(url)
    from community.questions import ensure_generation_row

    await ensure_generation_row()
    t0 = time.perf_counter()
    posts, threads = await load_corpus(corpus, limit_posts)
    load_s = time.perf_counter() - t0
    out = {"posts": posts, "threads": threads, "load_db_s": round(load_s, 1)}
    backend = WhooshBackend(workdir / "index")
    out.update(await rebuild_rates(workdir, backend, posts))
    return await measure(out, backend, queries, similar, lag_seconds)


def _cpu_with_workers() -> float:
    """CPU seconds of this process and of its finished worker processes (a parallel rebuild's)."""
    import resource

    own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


async def rebuild_rates(workdir: Path, backend, posts: int) -> dict:
    """`reindex` from the database, then Whoosh's own rate on the very same documents (already in
    memory, no database) with the same settings (worker processes included)."""
    from search import documents
    from search.index import WhooshIndex, rebuild_procs
    from search.indexer import Indexer

    out: dict = {}
    cpu0 = _cpu_with_workers()
    t0 = time.perf_counter()
    count = await Indexer(backend).reindex()
    reindex_s = time.perf_counter() - t0
    reindex_cpu = _cpu_with_workers() - cpu0
    out["reindex"] = {"threads": count, "seconds": round(reindex_s, 1), "threads_per_s": round(count / reindex_s),
                      "posts_per_s": round(posts / reindex_s), "procs": rebuild_procs(count),
                      "cpu_s": round(reindex_cpu, 1)}
    docs: list = []
    t0 = time.perf_counter()
    async for ids in documents.all_question_ids(1000):
        docs += (await documents.load(ids))[0]
    out["read_db_s"] = round(time.perf_counter() - t0, 1)  # reading alone, for reference
    raw = WhooshIndex(workdir / "raw-index")
    cpu0 = _cpu_with_workers()
    t0 = time.perf_counter()
    raw.rebuild([docs[i:i + 1000] for i in range(0, len(docs), 1000)], procs=rebuild_procs(len(docs)))
    raw_s = time.perf_counter() - t0
    raw_cpu = _cpu_with_workers() - cpu0
    out["raw_whoosh"] = {"threads_per_s": round(len(docs) / raw_s), "posts_per_s": round(posts / raw_s),
                         "seconds": round(raw_s, 1), "cpu_s": round(raw_cpu, 1)}
    # Wall-clock ratio (the target), and the CPU ratio, which other sessions' load barely moves.
    out["reindex_vs_raw"] = round(raw_s / reindex_s, 3)
    out["reindex_vs_raw_cpu"] = round(raw_cpu / reindex_cpu, 3)
    raw.close()
    shutil.rmtree(workdir / "raw-index")
    out["index_mb"] = round(sum(f.stat().st_size for f in (workdir / "index").iterdir()) / 1e6, 1)
    return out


def timed(calls) -> tuple[dict, list]:
    """Wall-clock and CPU time (this thread's) of each call, uncached: the CPU figure is what a
    request costs whatever else the shared machine is doing; the wall figure includes waiting."""
    wall, cpu, values = [], [], []
    for call in calls:
        w, c = time.perf_counter(), time.thread_time()
        values.append(call())
        cpu.append((time.thread_time() - c) * 1000)
        wall.append((time.perf_counter() - w) * 1000)
    figures = summary(wall)
    figures.update({"cpu_p50_ms": round(pct(cpu, 50), 2), "cpu_p95_ms": round(pct(cpu, 95), 2)})
    return figures, values


async def measure(out: dict, backend, queries: list[str], similar: list[tuple[str, str]], lag_seconds: float) -> dict:
    from community import db

    ix = backend.index

    def uncached(fn, *args):
        def call():
            ix._cache.clear()
            return fn(*args)
        return call

    out["search"], pages = timed(uncached(ix.search, q, 1) for q in queries)
    out["search"]["zero_results"] = sum(1 for page in pages if page.total == 0)
    for q in queries[:100]:
        ix.search(q, 1)  # fill the result cache
    out["search_cached"], _ = timed((lambda q=q: ix.search(q, 1)) for q in queries[:100])
    out["search_page3"], _ = timed(uncached(ix.search, q, 3) for q in queries[:100])
    out["similar_title"], _ = timed(uncached(ix.similar, title, "") for title, _ in similar)
    out["similar_title_body"], _ = timed(uncached(ix.similar, title, body) for title, body in similar)

    if lag_seconds:
        out["lag"] = await index_lag(backend, lag_seconds)
    await db.close()
    return out


async def index_lag(backend, seconds: float, rate: float = 10.0) -> dict:
    """Write `rate` questions a second through the real service while the indexer loop runs;
    measure commit -> searchable for each."""
    from community import questions
    from community.models import User
    from search.index import _stem
    from search.indexer import Indexer

    user = await User.get(id=1)
    task = asyncio.create_task(Indexer(backend).run())
    pending: dict[str, float] = {}
    lags: list[float] = []
    stop = time.perf_counter() + seconds

    async def poll() -> None:
        # "Searchable" = in the searcher a request would get now; one cheap term look-up per
        # pending post, so the measuring itself does not hog the event loop the indexer shares.
        while pending or time.perf_counter() < stop:
            reader = backend.index.searcher().reader()
            for token, t0 in list(pending.items()):
                if reader.doc_frequency("title", next(iter(_stem(token))).text):
                    lags.append(time.perf_counter() - t0)
                    del pending[token]
            await asyncio.sleep(0.05)
            if time.perf_counter() > stop + 30:
                break

    poller = asyncio.create_task(poll())
    n = 0
    run = "".join(random.choice("bcdfghjkmpqrstvwxz") for _ in range(6))
    next_at = time.perf_counter()
    while time.perf_counter() < stop:
        n += 1
        token = f"lag{run}n{n}x"  # unique per run: a reused index holds earlier runs' posts
        await questions.ask(user, f"Benchmark question {token} about roaming charges", "Body text of a benchmark question, long enough.", "bench")
        pending[token] = time.perf_counter()
        next_at += 1 / rate
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    await poller
    task.cancel()
    return {"writes": n, "writes_per_s": rate, "p50_s": round(pct(lags, 50), 2) if lags else None,
            "p95_s": round(pct(lags, 95), 2) if lags else None, "max_s": round(max(lags), 2) if lags else None,
            "never_seen": len(pending)}


async def design_postgres(url: str, workdir: Path, queries: list[str], similar: list[tuple[str, str]]) -> dict:
    """This design's SEARCH_BACKEND=postgres, fed the same thread documents from the SQLite database."""
    from community import db
    from search import documents
    from search.postgres import PostgresBackend

    await db.init(f"sqlite://{workdir / 'app.sqlite3'}")
    docs: list = []
    async for ids in documents.all_question_ids(1000):
        docs += (await documents.load(ids))[0]
    await db.close()
    import asyncpg

    c = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    await c.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")  # a throwaway test cluster
    await c.close()
    await db.migrate(url)
    await db.init(url)
    backend = PostgresBackend()

    async def batches():
        for i in range(0, len(docs), 1000):
            yield docs[i:i + 1000]

    t0 = time.perf_counter()
    await backend.rebuild(batches())
    rebuild_s = time.perf_counter() - t0
    await db.execute("ANALYZE search_document")
    ms = []
    for q in queries:
        t = time.perf_counter()
        await backend.search(q, 1)
        ms.append((time.perf_counter() - t) * 1000)
    sims = []
    for title, body in similar:
        t = time.perf_counter()
        await backend.similar(title, "")
        sims.append((time.perf_counter() - t) * 1000)
    await db.close()
    return {"threads_per_s": round(len(docs) / rebuild_s), "search": summary(ms), "similar_title": summary(sims)}


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version()}


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=ROOT / "var" / "bench" / "corpus.jsonl")
    ap.add_argument("--posts", type=int, default=None, help="use only the first N posts of the corpus")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--similar", type=int, default=200)
    ap.add_argument("--lag-seconds", type=float, default=30.0)
    ap.add_argument("--skip", default="", help="comma list of: naive, fts5, postgres")
    ap.add_argument("--out", type=Path, default=ROOT / "var" / "bench" / "search_results.json")
    ap.add_argument("--keep", action="store_true", help="keep the loaded database and index for --reuse")
    ap.add_argument("--reuse", type=Path, default=None,
                    help="a directory kept by --keep: skip loading and reindexing, measure queries and lag only")
    ap.add_argument("--rebuild", action="store_true",
                    help="with --reuse: also measure reindex and Whoosh's raw rate on the reused database")
    args = ap.parse_args()
    skip = set(args.skip.split(","))
    queries = make_queries(args.queries)
    similar = similar_inputs(args.similar)
    workdir = args.reuse or Path(tempfile.mkdtemp(prefix="search-bench-"))
    results: dict = {"machine": machine(), "corpus": str(args.corpus), "queries": len(queries)}
    try:
        print("this design (Whoosh) ...", flush=True)
        results["design"] = await design(workdir, args.corpus, args.posts, queries, similar, args.lag_seconds,
                                         reuse=bool(args.reuse), rebuild=args.rebuild)
        print(json.dumps(results["design"], indent=1), flush=True)
        if "naive" not in skip:
            print("naive Whoosh ...", flush=True)
            results["naive_whoosh"] = naive_whoosh(workdir, args.corpus, args.posts, queries)
            print(results["naive_whoosh"], flush=True)
        if "fts5" not in skip:
            print("SQLite FTS5 ...", flush=True)
            results["fts5"] = fts5(workdir, args.corpus, args.posts, queries)
            print(results["fts5"], flush=True)
        pg = os.environ.get("TEST_DATABASE_URL", "")
        if pg and "postgres" not in skip:
            print("PostgreSQL full-text ...", flush=True)
            results["postgres_plain"] = await postgres_plain(pg, args.corpus, args.posts, queries)
            print(results["postgres_plain"], flush=True)
            results["design_postgres"] = await design_postgres(pg, workdir, queries, similar)
            print(results["design_postgres"], flush=True)
    finally:
        if args.keep:
            print(f"kept the database and index in {workdir} (use --reuse {workdir})")
        elif not args.reuse:
            shutil.rmtree(workdir, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    asyncio.run(main())
