"""Benchmark of issue 16: what semantic retrieval costs beside lexical search, in the same run.

Loads a corpus made by bench/make_corpus.py into a fresh SQLite database (under /tmp) with
bench/search_bench.py's loader, rebuilds the Whoosh index (`Indexer.reindex`) and the question
vectors (`search.vectors.rebuild`, the path of `python run.py reindex`), then measures:
- embedding throughput: the whole corpus through `vectors.rebuild` (database reads, digests and
  writes included), and on a sample the model alone (`Embedder.embed` in the product's batches of
  256 texts) for the embedded text (`vectors.text_of`), for titles with 300 body characters, and
  for the tokenizer as shipped (padding every input to 128 tokens) against ours;
- one query's embedding (a title; a title with 300 body characters);
- similar questions (a title; a title with the start of the body) and search, through the
  HybridBackend and through the lexical backend alone, interleaved call by call, every call
  uncached (result cache and query-embedding cache cleared, distinct inputs);
- memory: the model (RSS before/after loading it), the exact neighbour matrix, and the usearch
  HNSW f16 graph built from the same vectors (with its search latency and recall@5 against the
  exact product), plus the exact product's latency at larger, synthetic sizes (for APPROX_FROM);
- index lag at 10 writes a second (`questions.ask`, the indexer loop running): lexical only, and
  with embeddings on (found = the question's vector is in this process's NeighbourIndex after
  `follow()`, as a semantic look-up would find it).

    .venv/bin/python bench/make_corpus.py --posts 100000 --out /tmp/bench/corpus.jsonl
    .venv/bin/python bench/semantic_bench.py --corpus /tmp/bench/corpus.jsonl

Results and the machine they were measured on: docs/benchmarks.md, "Semantic retrieval (issue 16)".
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402

import search_bench as sb  # noqa: E402  (bench/search_bench.py: corpus loading, queries, helpers)

TARGETS = {"similar_title": 50.0, "similar_title_body": 100.0, "search": 50.0, "lag_s": 2.0, "embed_100k_s": 300.0}


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} load {load()[0]}] {msg}", flush=True)


# ----- the model -----

def load_model(titles: list[str]) -> tuple[Any, dict]:
    from search import embedding

    gc.collect()
    before = rss_mb()
    import onnxruntime  # noqa: F401  (the libraries alone, then the session with the weights)
    import tokenizers  # noqa: F401

    libraries = rss_mb()
    t0 = time.perf_counter()
    embedder = embedding.shared()
    load_s = time.perf_counter() - t0
    loaded = rss_mb()
    embedder.embed(titles[:256])  # one product chunk of real titles: the runtime's buffers grow with use
    return embedder, {"rss_before_mb": round(before, 1), "rss_loaded_mb": round(loaded, 1),
                      "libraries_mb": round(libraries - before, 1), "session_mb": round(loaded - libraries, 1),
                      "model_mb": round(loaded - before, 1), "rss_after_256_titles_mb": round(rss_mb(), 1),
                      "load_s": round(load_s, 2), "model": embedding.MODEL_ID,
                      "threads": embedder.session.get_session_options().intra_op_num_threads}


def product_chunks(texts: list[str], size: int = 256) -> list[list[str]]:
    """vectors.rebuild hands the embedder 256 questions at a time (it batches them by 32, sorted by length)."""
    return [texts[i:i + size] for i in range(0, len(texts), size)]


def throughput(embeds: dict[str, Any], texts: list[str]) -> tuple[dict, dict[str, np.ndarray]]:
    """Each embedder over the same texts in the product's chunks, alternating chunk by chunk so they
    meet the same load. Figures per embedder (wall and process CPU) and the vectors."""
    wall = dict.fromkeys(embeds, 0.0)
    cpu = dict.fromkeys(embeds, 0.0)
    vectors: dict[str, list[np.ndarray]] = {name: [] for name in embeds}
    for chunk in product_chunks(texts):
        for name, embed in embeds.items():
            c0, t0 = time.process_time(), time.perf_counter()
            vectors[name].append(embed(chunk))
            wall[name] += time.perf_counter() - t0
            cpu[name] += time.process_time() - c0
    figures = {name: {"texts": len(texts), "seconds": round(wall[name], 2), "per_s": round(len(texts) / wall[name], 1),
                      "cpu_s": round(cpu[name], 2), "cpu_ms_per_text": round(cpu[name] * 1000 / len(texts), 2),
                      "rss_mb": round(rss_mb(), 1)} for name in embeds}
    return figures, {name: np.concatenate(v) for name, v in vectors.items()}


def padded_embedder(embedder) -> Any:
    """The tokenizer as shipped (padding to 128, truncating at 128), pooled over the real tokens:
    what a straightforward use of the model files costs."""
    from tokenizers import Tokenizer

    from search.embedding import BATCH, DIMENSIONS, model_files

    shipped = Tokenizer.from_file(str(model_files()[1]))

    def embed(texts: list[str]) -> np.ndarray:
        encoded = shipped.encode_batch(list(texts))
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for start in range(0, len(texts), BATCH):
            rows = encoded[start:start + BATCH]
            ids = np.array([e.ids for e in rows], dtype=np.int64)
            mask = np.array([e.attention_mask for e in rows], dtype=np.int64)
            hidden = embedder.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                                 "token_type_ids": np.zeros_like(ids)})[0]
            pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            out[start:start + len(rows)] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        return out

    return embed


def single_queries(embedders: dict[str, Any], texts: list[str]) -> dict:
    """One text at a time (a query), the embedders alternating text by text."""
    wall: dict[str, list[float]] = {name: [] for name in embedders}
    cpu: dict[str, list[float]] = {name: [] for name in embedders}
    for text in texts:
        for name, embedder in embedders.items():
            c, w = time.process_time(), time.perf_counter()
            embedder.embed_one(text)
            cpu[name].append((time.process_time() - c) * 1000)
            wall[name].append((time.perf_counter() - w) * 1000)
    return {name: {**sb.summary(wall[name]), "cpu_p50_ms": round(sb.pct(cpu[name], 50), 2),
                   "cpu_p95_ms": round(sb.pct(cpu[name], 95), 2)} for name in embedders}


async def model_figures(embedder, sample: int, sample_body: int) -> dict:
    from community import db
    from search import documents, vectors
    from search.embedding import Embedder

    rows = await db.fetch("SELECT id FROM post WHERE kind = 'question' ORDER BY id")
    ids = [r["id"] for r in rows]
    rnd = random.Random(5)
    docs, _ = await documents.load(rnd.sample(ids, min(sample, len(ids))))
    rnd.shuffle(docs)  # arrival order, as a rebuild would meet them
    texts = [vectors.text_of(d) for d in docs]
    with_body = [d.title + "\n" + d.body[:300] for d in docs[:sample_body]]
    tok = embedder.tokenizer
    out: dict = {"body_chars_embedded": vectors.BODY_CHARS,
                 "tokens_mean": {"embedded_text": round(float(np.mean([len(e.ids) for e in tok.encode_batch(texts)])), 1),
                                 "title_body300": round(float(np.mean([len(e.ids) for e in tok.encode_batch(with_body)])), 1)}}
    one_thread = Embedder(threads=1)  # beside the product's setting (EMBED_THREADS, default min(4, cores))
    log(f"model alone: {len(texts)} embedded texts (product threads, and 1 thread)")
    figures, vecs = throughput({"product": embedder.embed, "one_thread": one_thread.embed}, texts)
    out["embedded_text"], out["embedded_text_one_thread"] = figures["product"], figures["one_thread"]
    ours = vecs["product"]
    log(f"model alone: {len(with_body)} titles + 300 body chars")
    out["title_body300"] = throughput({"product": embedder.embed}, with_body)[0]["product"]
    n_pad = min(len(texts), sample_body)
    log(f"padding trap: {n_pad} embedded texts padded to 128 as shipped, beside ours")
    figures, vecs = throughput({"padded": padded_embedder(embedder), "ours": embedder.embed}, texts[:n_pad])
    out["padded_128_as_shipped"], out["ours_same_sample"] = figures["padded"], figures["ours"]
    cos = (vecs["padded"] * ours[:n_pad]).sum(axis=1)
    out["padded_vs_ours_min_cosine"] = round(float(cos.min()), 5)  # same vectors: only the cost differs
    out["padding_cost_x"] = round(out["ours_same_sample"]["per_s"] / out["padded_128_as_shipped"]["per_s"], 2)
    log("one query at a time (product threads, and 1 thread)")
    pair = {"product": embedder, "one_thread": one_thread}
    out["one_query_title"] = single_queries(pair, [d.title for d in docs[:200]])
    out["one_query_title_body300"] = single_queries(pair, with_body[:200])
    del one_thread
    return out


# ----- the corpus, the lexical index and the vectors -----

async def build(workdir: Path, corpus: Path, limit_posts: int | None, embedder) -> dict:
    from community import db
    from community.questions import ensure_generation_row
    from search.backend import WhooshBackend
    from search.indexer import Indexer

    url = f"sqlite://{workdir / 'app.sqlite3'}"
    await db.migrate(url)
    await db.init(url)
    await ensure_generation_row()
    t0 = time.perf_counter()
    posts, questions = await sb.load_corpus(corpus, limit_posts)
    out: dict = {"posts": posts, "questions": questions, "load_db_s": round(time.perf_counter() - t0, 1)}
    log(f"loaded {posts} posts, {questions} questions; lexical reindex ...")
    lexical = WhooshBackend(workdir / "index")
    t0 = time.perf_counter()
    threads = await Indexer(lexical).reindex()
    seconds = time.perf_counter() - t0
    out["lexical_reindex"] = {"threads": threads, "seconds": round(seconds, 1), "per_s": round(threads / seconds, 1)}
    log(f"lexical reindex {seconds:.0f} s; vectors.rebuild ...")
    out["vectors_rebuild"] = await rebuild_figures(embedder)
    await db.execute("ANALYZE")
    return out


async def rebuild_figures(embedder) -> dict:
    """`vectors.rebuild` timed (wall and this process's CPU), as `python run.py reindex` runs it."""
    from search import vectors

    c0, t0 = time.process_time(), time.perf_counter()
    embedded = await vectors.rebuild(embedder)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    rate = embedded / seconds
    log(f"vectors.rebuild {embedded} questions in {seconds:.1f} s ({rate:.0f}/s)")
    return {"questions": embedded, "seconds": round(seconds, 1), "per_s": round(rate, 1),
            "cpu_s": round(cpu, 1), "cpu_ms_per_question": round(cpu * 1000 / max(1, embedded), 2),
            "extrapolated_100k_questions_s": round(100_000 / rate),
            "extrapolated_1m_questions_s": round(1_000_000 / rate), "load_after": load()}


async def timed_rebuild(embedder) -> dict:
    """`--reuse DIR --parts rebuild`: every stored digest cleared, then `vectors.rebuild` timed again
    (what `python run.py reindex --fresh` does) on the kept database."""
    from search import vectors

    await vectors.forget_digests()
    return await rebuild_figures(embedder)


# ----- neighbour indexes -----

async def neighbour_figures(query_vectors: np.ndarray, approx_from: int, scale: list[int]) -> tuple[Any, dict]:
    from search.embedding import DIMENSIONS
    from search.neighbours import NeighbourIndex

    out: dict = {}
    gc.collect()
    before = rss_mb()
    exact = NeighbourIndex()
    t0 = time.perf_counter()
    await exact.follow(force=True)
    n = len(exact)
    matrix = getattr(exact, "_matrix", None)
    out["exact"] = {"vectors": n, "approximate": exact.approximate, "load_s": round(time.perf_counter() - t0, 2),
                    "rss_mb": round(rss_mb() - before, 1),
                    "matrix_allocated_mb": round(matrix.nbytes / 2**20, 1) if matrix is not None else None,
                    "f32_per_100k_questions_mb": round(100_000 * DIMENSIONS * 4 / 2**20, 1)}
    exact_top, ms = [], []
    for v in query_vectors:
        t = time.perf_counter()
        exact_top.append([qid for qid, _ in exact.search(v, 5)])
        ms.append((time.perf_counter() - t) * 1000)
    out["exact"]["search"] = sb.summary(ms)
    log(f"exact index: {n} vectors; HNSW (approx_from={approx_from}) ...")

    gc.collect()
    before = rss_mb()
    approx = NeighbourIndex(approx_from=approx_from)
    t0 = time.perf_counter()
    await approx.follow(force=True)
    build_s = time.perf_counter() - t0
    graph = getattr(approx, "_graph", None)
    rss = rss_mb() - before
    ms, recall, recall_ties = [], [], []
    for v, want in zip(query_vectors, exact_top):
        t = time.perf_counter()
        got = [qid for qid, _ in approx.search(v, 5)]
        ms.append((time.perf_counter() - t) * 1000)
        recall.append(len(set(got) & set(want)) / max(1, len(want)))
        # The corpus repeats titles (identical vectors): a hit as near as the exact fifth is as good.
        fifth = float(exact.vector_of(want[-1]) @ v) if want else 1.0
        recall_ties.append(sum(1 for qid in got if float(exact.vector_of(qid) @ v) >= fifth - 1e-3) / max(1, len(want)))
    out["hnsw_f16"] = {"vectors": len(approx), "approximate": approx.approximate, "build_s": round(build_s, 1),
                       "rss_mb": round(rss, 1), "rss_per_100k_questions_mb": round(rss * 100_000 / max(1, len(approx)), 1),
                       "usearch_memory_mb": round(graph.memory_usage / 2**20, 1) if graph is not None else None,
                       "search": sb.summary(ms), "recall_at_5": round(float(np.mean(recall)), 4),
                       "recall_at_5_ties": round(float(np.mean(recall_ties)), 4)}
    del approx, graph
    gc.collect()

    out["exact_synthetic"] = {}
    rnd = np.random.default_rng(1)
    for size in scale:
        log(f"exact product at {size} synthetic vectors ...")
        big = NeighbourIndex(approx_from=10**12)
        block = 50_000
        for start in range(0, size, block):
            m = rnd.standard_normal((min(block, size - start), DIMENSIONS), dtype=np.float32)
            m /= np.linalg.norm(m, axis=1, keepdims=True)
            for i, row in enumerate(m):
                big.put(start + i + 1, row)
        ms = []
        for v in query_vectors[:100]:
            t = time.perf_counter()
            big.search(v, 5)
            ms.append((time.perf_counter() - t) * 1000)
        out["exact_synthetic"][str(size)] = sb.summary(ms)
        del big
        gc.collect()
    return exact, out


# ----- look-ups through the backends -----

def clear_caches(*backends: Any) -> None:
    """Every call uncached: the lexical result cache and the hybrid's query-embedding cache."""
    for backend in backends:
        for owner in (backend, getattr(backend, "index", None), getattr(getattr(backend, "lexical", None), "index", None)):
            for name in ("_cache", "_queries"):
                cache = getattr(owner, name, None)
                if hasattr(cache, "clear"):
                    cache.clear()


async def interleaved(calls: list[tuple[Any, Any]]) -> tuple[dict, dict]:
    """(lexical, hybrid) coroutine factories, timed alternately so both meet the same load."""
    figures: dict[str, dict[str, list[float]]] = {"lexical": {"wall": [], "cpu": []}, "hybrid": {"wall": [], "cpu": []}}
    for lexical_call, hybrid_call in calls:
        for side, call in (("lexical", lexical_call), ("hybrid", hybrid_call)):
            clear_caches(*call.backends)
            c, w = time.process_time(), time.perf_counter()
            await call()
            figures[side]["cpu"].append((time.process_time() - c) * 1000)
            figures[side]["wall"].append((time.perf_counter() - w) * 1000)
    out = []
    for side in ("lexical", "hybrid"):
        wall, cpu = figures[side]["wall"], figures[side]["cpu"]
        out.append({**sb.summary(wall), "cpu_p50_ms": round(sb.pct(cpu, 50), 2), "cpu_p95_ms": round(sb.pct(cpu, 95), 2)})
    return out[0], out[1]


class Call:
    def __init__(self, fn: Any, *args: Any, backends: tuple = ()) -> None:
        self.fn, self.args, self.backends = fn, args, backends

    async def __call__(self) -> Any:
        return await self.fn(*self.args)


async def lookup_figures(lexical, hybrid, queries: list[str], similar: list[tuple[str, str]]) -> dict:
    both = (lexical, hybrid)
    out: dict = {}
    for name, inputs in (("similar_title", [(t, "") for t, _ in similar]), ("similar_title_body", similar)):
        log(f"{name}: {len(inputs)} look-ups each way")
        lex, hyb = await interleaved([(Call(lexical.similar, t, b, 5, backends=both), Call(hybrid.similar, t, b, 5, backends=both))
                                      for t, b in inputs])
        out[name] = {"lexical": lex, "hybrid": hyb}
    log(f"search: {len(queries)} queries each way")
    lex, hyb = await interleaved([(Call(lexical.search, q, 1, backends=both), Call(hybrid.search, q, 1, backends=both))
                                  for q in queries])
    out["search"] = {"lexical": lex, "hybrid": hyb}
    return out


# ----- index lag -----

async def hybrid_lag(hybrid, seconds: float, rate: float = 10.0) -> dict:
    """Questions asked `rate` a second through the real service, the indexer loop running on the
    HybridBackend: time from commit to (a) the lexical index, (b) a semantic look-up (the vector in
    this process's NeighbourIndex after `follow()`, which reads search_vector at most every 0.25 s)."""
    from community import questions
    from community.models import User
    from search.index import _stem
    from search.indexer import Indexer

    user = await User.get(id=1)
    task = asyncio.create_task(Indexer(hybrid).run())
    pending: dict[int, tuple[str, float]] = {}
    lexical_pending: dict[int, tuple[str, float]] = {}
    lags: list[float] = []
    lexical_lags: list[float] = []
    stop = time.perf_counter() + seconds

    async def poll() -> None:
        while pending or lexical_pending or time.perf_counter() < stop:
            await hybrid.neighbours.follow()
            for qid, (_, t0) in list(pending.items()):
                if hybrid.neighbours.vector_of(qid) is not None:
                    lags.append(time.perf_counter() - t0)
                    del pending[qid]
            reader = hybrid.lexical.index.searcher().reader()
            for qid, (token, t0) in list(lexical_pending.items()):
                if reader.doc_frequency("title", next(iter(_stem(token))).text):
                    lexical_lags.append(time.perf_counter() - t0)
                    del lexical_pending[qid]
            await asyncio.sleep(0.05)
            if time.perf_counter() > stop + 30:
                break

    poller = asyncio.create_task(poll())
    n = 0
    run = "".join(random.choice("bcdfghjkmpqrstvwxz") for _ in range(6))
    next_at = time.perf_counter()
    while time.perf_counter() < stop:
        n += 1
        token = f"lag{run}n{n}x"
        question = await questions.ask(user, f"Benchmark question {token} about roaming charges abroad",
                                       "Body text of a benchmark question, long enough.", "bench")
        now = time.perf_counter()
        pending[question.id] = (token, now)
        lexical_pending[question.id] = (token, now)
        next_at += 1 / rate
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    await poller
    task.cancel()

    def fig(values: list[float], missing: int) -> dict:
        return {"p50_s": round(sb.pct(values, 50), 2) if values else None,
                "p95_s": round(sb.pct(values, 95), 2) if values else None,
                "max_s": round(max(values), 2) if values else None, "never_seen": missing}

    return {"writes": n, "writes_per_s": rate, "semantic": fig(lags, len(pending)),
            "lexical_in_same_run": fig(lexical_lags, len(lexical_pending))}


# ----- the report -----

def table(r: dict) -> str:
    rows = [("measure", "lexical only", "hybrid (embeddings on)", "target")]
    look = r.get("lookups", {})

    def pp(d: dict | None) -> str:
        return f"{d['p50_ms']:.1f} / {d['p95_ms']:.1f} ms" if d else "-"

    for key, label in (("similar_title", "similar, title (p50 / p95)"), ("similar_title_body", "similar, title + body start"),
                       ("search", "search, uncached page 1")):
        if key in look:
            t = TARGETS[key]
            p95 = look[key]["hybrid"]["p95_ms"]
            rows.append((label, pp(look[key]["lexical"]), pp(look[key]["hybrid"]),
                         f"p95 < {t:.0f} ms: {'met' if p95 < t else 'NOT met'}"))
    if "lag" in r:
        lex, sem = r["lag"]["lexical_only"], r["lag"]["hybrid"]["semantic"]
        rows.append(("index lag at 10 writes/s (p50 / p95)", f"{lex['p50_s']} / {lex['p95_s']} s",
                     f"{sem['p50_s']} / {sem['p95_s']} s (lexical side {r['lag']['hybrid']['lexical_in_same_run']['p95_s']} s)",
                     f"p95 < 2 s: {'met' if sem['p95_s'] is not None and sem['p95_s'] < 2 else 'NOT met'}"))
    b = r.get("build", {})
    if "vectors_rebuild" in b:
        v = b["vectors_rebuild"]
        rows.append(("rebuild (questions/s)", f"{b['lexical_reindex']['per_s']} (Whoosh reindex)",
                     f"{v['per_s']} (vectors.rebuild: {v['questions']} in {v['seconds']} s)", ""))
        rows.append(("time to embed 100k / 1M questions", "", f"{v['extrapolated_100k_questions_s']} s / "
                     f"{v['extrapolated_1m_questions_s'] / 60:.0f} min",
                     f"100k < 300 s: {'met' if v['extrapolated_100k_questions_s'] < 300 else 'NOT met'}"))
    m = r.get("model", {})
    if m:
        rows.append(("model alone, embedded text", "", f"{m['embedded_text']['per_s']}/s ({m['tokens_mean']['embedded_text']} tokens;"
                     f" {m['embedded_text']['cpu_ms_per_text']} CPU ms each; 1 thread: {m['embedded_text_one_thread']['per_s']}/s)", ""))
        rows.append(("model alone, title + 300 body chars", "", f"{m['title_body300']['per_s']}/s ({m['tokens_mean']['title_body300']} tokens)", ""))
        rows.append(("padded to 128 as shipped vs ours", "", f"{m['padded_128_as_shipped']['per_s']}/s vs "
                     f"{m['ours_same_sample']['per_s']}/s (x{m['padding_cost_x']})", ""))
        for key, label in (("one_query_title", "embed one query: title"), ("one_query_title_body300", "embed one query: title + 300")):
            rows.append((label, "", f"{pp(m[key]['product'])} (1 thread: {pp(m[key]['one_thread'])})", ""))
    mem = r.get("memory", {})
    if mem:
        mm = mem["model"]
        rows.append(("model memory (RSS)", "", f"{mm['model_mb']} MB loaded, {mm['rss_after_256_titles_mb'] - mm['rss_before_mb']:.0f} MB"
                     " after 256 titles", ""))
    nb = r.get("neighbours", {})
    if nb:
        e, h = nb["exact"], nb["hnsw_f16"]
        rows.append(("exact matrix", "", f"{e['vectors']} vectors, {e['rss_mb']} MB RSS ({e['matrix_allocated_mb']} MB allocated;"
                     f" {e['f32_per_100k_questions_mb']} MB per 100k), search {pp(e['search'])}", ""))
        rows.append(("HNSW f16 (usearch)", "", f"{h['rss_mb']} MB RSS ({h['rss_per_100k_questions_mb']} MB per 100k), build "
                     f"{h['build_s']} s, search {pp(h['search'])}, recall@5 {h['recall_at_5']}"
                     f" ({h.get('recall_at_5_ties', '-')} counting ties)", ""))
        for size, s in nb.get("exact_synthetic", {}).items():
            rows.append((f"exact product at {int(size):,} vectors", "", pp(s), ""))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(" | ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows)


def code_state() -> dict:
    """Which code was measured: the commit, and the search modules' own digests (the tree may hold
    uncommitted changes)."""
    import hashlib
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        head = ""
    files = ("embedding.py", "vectors.py", "neighbours.py", "hybrid.py", "indexer.py", "index.py", "backend.py")
    return {"head": head, **{name: hashlib.sha1((ROOT / "search" / name).read_bytes()).hexdigest()[:10] for name in files}}


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=Path("/tmp/bench/corpus.jsonl"))
    ap.add_argument("--posts", type=int, default=None, help="use only the first N posts of the corpus")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--similar", type=int, default=200)
    ap.add_argument("--sample", type=int, default=4000, help="questions for the model-alone throughput")
    ap.add_argument("--sample-body", type=int, default=1000, help="of them, for title + 300 body chars and the padding trap")
    ap.add_argument("--approx-from", type=int, default=1000, help="APPROX_FROM of the HNSW index measured beside the exact one")
    ap.add_argument("--scale", default="100000,200000,500000,1000000", help="synthetic sizes for the exact product")
    ap.add_argument("--lag-seconds", type=float, default=30.0)
    ap.add_argument("--out", type=Path, default=ROOT / "var" / "bench" / "semantic_results.json")
    ap.add_argument("--keep", action="store_true", help="keep the database and index (for --reuse)")
    ap.add_argument("--reuse", type=Path, default=None, help="a --keep directory: skip loading and rebuilding")
    ap.add_argument("--parts", default="model,neighbours,lookups,lag", help="comma list of the parts to measure")
    args = ap.parse_args()

    from community import db
    from search.backend import WhooshBackend
    from search.hybrid import HybridBackend
    from search.neighbours import NeighbourIndex

    results: dict = {"machine": sb.machine(), "corpus": str(args.corpus), "posts_limit": args.posts, "code": code_state(),
                     "started": time.strftime("%Y-%m-%d %H:%M:%S"), "load_average": {"start": load()}}
    queries = sb.make_queries(args.queries)
    similar = sb.similar_inputs(args.similar)
    log("loading the model")
    embedder, model_memory = load_model([t for t, _ in similar])
    results["memory"] = {"model": model_memory}
    workdir = args.reuse or Path(tempfile.mkdtemp(prefix="semantic-bench-"))
    try:
        if args.reuse:
            await db.init(f"sqlite://{workdir / 'app.sqlite3'}")
            from search import vectors

            # Questions written by an earlier lexical-only lag run have no vector yet: embed them now,
            # or the indexer would fill them in the background during the hybrid lag measurement.
            results["reuse_embedded"] = await vectors.rebuild(embedder)
        else:
            results["build"] = await build(workdir, args.corpus, args.posts, embedder)
        results["load_average"]["after_build"] = load()
        parts = set(args.parts.split(","))
        if "rebuild" in parts and args.reuse:
            results["rebuild"] = await timed_rebuild(embedder)
        if "model" in parts:
            results["model"] = await model_figures(embedder, args.sample, args.sample_body)
            results["load_average"]["after_model"] = load()
        query_vectors = embedder.embed([t for t, _ in similar])
        if "neighbours" in parts:
            exact, results["neighbours"] = await neighbour_figures(
                query_vectors, args.approx_from, [int(s) for s in args.scale.split(",") if s])
            results["load_average"]["after_neighbours"] = load()
        else:
            exact = NeighbourIndex()
            await exact.follow(force=True)
        lexical = WhooshBackend(workdir / "index")
        hybrid = HybridBackend(lexical, embedder, exact)
        if "lookups" in parts:
            results["lookups"] = await lookup_figures(lexical, hybrid, queries, similar)
            results["load_average"]["after_lookups"] = load()
        if args.lag_seconds and "lag" in parts:
            # Embeddings on first: questions written by the lexical-only run have no vector, and the
            # hybrid indexer would fill them in the background during its own measurement.
            log(f"index lag, embeddings on ({args.lag_seconds:.0f} s) ...")
            results["lag"] = {"hybrid": await hybrid_lag(hybrid, args.lag_seconds)}
            log(f"index lag, lexical only ({args.lag_seconds:.0f} s) ...")
            results["lag"]["lexical_only"] = await sb.index_lag(lexical, args.lag_seconds)
        results["load_average"]["end"] = load()
        await db.close()
    finally:
        if args.keep:
            print(f"kept the database and index in {workdir} (use --reuse {workdir})")
        elif not args.reuse:
            shutil.rmtree(workdir, ignore_errors=True)
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    print(json.dumps(results, indent=1))
    print()
    print(table(results))


if __name__ == "__main__":
    asyncio.run(main())
