"""Scale benchmark of issue 17: a million questions on PostgreSQL, driven by a mixed load at 32 connections.

Two steps, or both at once:

    # a throwaway PostgreSQL cluster under /tmp, generated, measured, deleted:
    .venv/bin/python bench/scale_bench.py all --questions 1000000 --duration 120 --markdown
    # or step by step on a database of your own (it must be empty; it is migrated first):
    .venv/bin/python bench/scale_bench.py generate --questions 100000 --database-url postgres://...
    .venv/bin/python bench/scale_bench.py load --database-url postgres://... --duration 60 --markdown

`generate` migrates the database with the app's migrations, then bulk-loads (asyncpg COPY) the forum
made by `bench/scale_data.py` from the shared datasets' real text: N questions, about 2 answers each,
comments, votes, Zipf-spread tags, members with heavy-tailed reputations (and their ledger rows),
accepted answers, watches, the search documents for SEARCH_BACKEND=postgres (their tsvectors made by
PostgreSQL in one INSERT ... SELECT per id range), then rebuilds the indexes it dropped, fills the
insights roll-ups in bulk (their triggers are off during the load) and runs ANALYZE. It prints rows
and seconds per table.

`load` starts the real server (`run.py serve`, WORKERS=2, SEARCH_BACKEND=postgres, EMBEDDINGS=0: embedding
a million questions on two cores takes hours, and the issue's targets are about the lexical backend)
and drives it with wrk at 32 connections, one connection per wrk thread so a LuaJIT timer can time
each request and tag it with its class: 80% anonymous reads, 10% member reads, 7% searches and
similar-question look-ups, 3% writes through the JSON API. Then, in the same run, the bare route,
the anonymous thread page and the lists alone, and the searches one at a time beside PostgreSQL's
own full-text search on the same queries and table. Results: docs/benchmarks.md, "Scale".
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import scale_data  # noqa: E402

CHUNK = 20_000  # questions per COPY round
# Tables whose secondary indexes are dropped during the load and built again after it.
BULK_TABLES = ("user", "post", "post_tag", "comment", "vote", "reputation_event", "question_watch", "notification",
               "search_document", "search_title")
# Tables whose triggers are off during the load: the insights roll-ups, post_tag's sort keys and search_title,
# filled in bulk after.
TRIGGER_TABLES = ("post", "reputation_event", "insights_question", "post_tag", "search_document")
SEQUENCES = {"user": "user_id_seq", "post": "post_id_seq", "tag": "tag_id_seq", "comment": "comment_id_seq",
             "vote": "vote_id_seq", "reputation_event": "reputation_event_id_seq", "api_token": "api_token_id_seq",
             "question_watch": "question_watch_id_seq", "notification": "notification_id_seq"}
# Writes in the load come from a few members at many a second: lift the hourly limits (0 turns one off).
LIFTED_LIMITS = ("limit.answers_per_hour", "limit.answers_per_hour_per_address", "limit.comments_per_hour",
                 "limit.comments_per_hour_per_address", "limit.votes_per_hour")


# ----- a throwaway cluster, as tests/with_postgres.sh starts one -----

class Cluster:
    def __init__(self, port: int) -> None:
        self.port = port
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
        if not bins:
            raise SystemExit("PostgreSQL is not installed (apt-get install postgresql)")
        self.bin = bins[-1]
        self.dir = Path(tempfile.mkdtemp(prefix="scale-pg-", dir="/tmp"))
        self.url = f"postgres://postgres@127.0.0.1:{port}/scale"

    def _as_pg(self, *cmd: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(prefix + list(cmd), check=True, capture_output=True)

    def start(self) -> str:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        self._as_pg(str(self.bin / "initdb"), "-D", str(self.dir / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                "-c full_page_writes=off -c max_connections=200 -c shared_buffers=1GB -c maintenance_work_mem=512MB "
                "-c max_wal_size=8GB")
        self._as_pg(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-l", str(self.dir / "log"), "-w", "-o", opts, "start")
        self._as_pg(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "scale")
        return self.url

    def stop(self) -> None:
        try:
            self._as_pg(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def _asyncpg_url(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


# ----- generate -----

async def _drop_indexes(conn: Any) -> list[str]:
    """Drop the secondary indexes (not those behind a primary key or unique constraint) of the bulk
    tables; returns their definitions to build again. Whatever indexes the migrations made, they come back."""
    rows = await conn.fetch(
        "SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i "
        "JOIN pg_class t ON t.oid = i.indrelid LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid "
        "WHERE t.relname = ANY($1::text[]) AND t.relnamespace = 'public'::regnamespace AND c.oid IS NULL",
        list(BULK_TABLES))
    for r in rows:
        await conn.execute(f"DROP INDEX {r['name']}")
    return [r["def"] for r in rows]


async def _triggers_off(conn: Any) -> str:
    """Switch off the insights triggers (and, as a superuser, the foreign-key checks) for this session."""
    try:
        await conn.execute("SET session_replication_role = replica")
        return "session"
    except Exception:  # not a superuser: the table owner may still disable its own triggers
        for t in TRIGGER_TABLES:
            await conn.execute(f"ALTER TABLE {t} DISABLE TRIGGER USER")
        return "tables"


async def generate(url: str, questions: int, seed: int, datasets: Path) -> dict[str, Any]:
    import asyncpg

    from community import accounts, db

    t_all = time.perf_counter()
    timings: dict[str, list[float]] = {}  # table -> [rows, seconds]

    def took(table: str, rows: int, since: float) -> None:
        entry = timings.setdefault(table, [0, 0.0])
        entry[0] += rows
        entry[1] += time.perf_counter() - since

    t = time.perf_counter()
    await db.migrate(url)
    took("(migrate)", 0, t)
    conn = await asyncpg.connect(_asyncpg_url(url))
    try:
        if await conn.fetchval("SELECT count(*) FROM post") or await conn.fetchval('SELECT count(*) FROM "user"'):
            raise SystemExit("the database already holds members or posts: generate needs a freshly made database")
        t = time.perf_counter()
        text = scale_data.read_text(datasets)
        p = scale_data.plan(questions, seed, text)
        took("(read the datasets, plan)", 0, t)
        await conn.execute("SET maintenance_work_mem = '512MB'")
        how = await _triggers_off(conn)
        definitions = await _drop_indexes(conn)
        await conn.execute("CREATE UNLOGGED TABLE scale_search_text (question_id int PRIMARY KEY, title text, body text, "
                           "answers text, excerpt text, tags text, people text, state text, score int, answer_count int, "
                           "quality float8, created_at timestamptz)")

        async def copy(table: str, rows: list[tuple]) -> None:
            if rows:
                t0 = time.perf_counter()
                await conn.copy_records_to_table(table, records=rows, columns=list(scale_data.COLUMNS[table]))
                took(table, len(rows), t0)

        t = time.perf_counter()
        await copy("user", list(scale_data.members(p, accounts.hash_password(scale_data.PASSWORD))))
        await copy("reputation_event", list(scale_data.ledger(p)))
        await copy("api_token", list(scale_data.tokens(p)))
        chunks = scale_data.Chunks(p, text)
        for first in range(1, questions + 1, CHUNK):
            t0 = time.perf_counter()
            rows = chunks.chunk(first, min(questions, first + CHUNK - 1))
            took("(make rows in Python)", 0, t0)
            for table in ("post", "post_tag", "comment", "vote", "question_watch", "notification", "scale_search_text"):
                await copy(table, rows[table])
            print(f"  questions {min(questions, first + CHUNK - 1):,} of {questions:,} "
                  f"({time.perf_counter() - t:.0f} s)", file=sys.stderr, flush=True)
        await copy("tag", list(scale_data.tags(p)))
        for table, seq in SEQUENCES.items():
            await conn.execute(f"SELECT setval('{seq}', GREATEST(1, (SELECT COALESCE(max(id), 0) FROM \"{table}\")))")
        await conn.execute("INSERT INTO content_generation (id, value) VALUES (1, 0) ON CONFLICT (id) DO NOTHING")
        await conn.executemany("INSERT INTO community_setting (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE "
                               "SET value = EXCLUDED.value", [(name, "0") for name in LIFTED_LIMITS])
        # The search documents: PostgreSQL makes the tsvectors, in id ranges over two connections.
        t = time.perf_counter()
        await _search_documents(url, questions)
        await conn.execute("DROP TABLE scale_search_text")
        took("search_document", questions, t)
        t = time.perf_counter()  # the titles' narrow copy, which its trigger keeps afterwards
        await conn.execute(importlib.import_module("search.migrations.0005_postgres_titles").BACKFILL)
        took("search_title", questions, t)
        t = time.perf_counter()
        for sql in importlib.import_module("community.insights.migrations.0001_initial")._backfill("postgres"):
            await conn.execute(sql)
        took("(insights roll-ups, in bulk)", await conn.fetchval("SELECT count(*) FROM insights_question"), t)
        t = time.perf_counter()  # post_tag's copy of the questions' sort keys, which its triggers keep afterwards
        for sql in importlib.import_module("community.migrations.0016_post_tag_sort_keys").backfill("postgres"):
            await conn.execute(sql)
        took("(post_tag sort keys, in bulk)", await conn.fetchval("SELECT count(*) FROM post_tag"), t)
        if how == "tables":
            for table in TRIGGER_TABLES:
                await conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        t = time.perf_counter()
        await _build_indexes(url, definitions)
        took("(indexes built again)", len(definitions), t)
        t = time.perf_counter()
        await conn.execute("VACUUM (ANALYZE)")
        took("(VACUUM ANALYZE)", 0, t)
        sizes = await conn.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))")
    finally:
        await conn.close()
    total = time.perf_counter() - t_all
    return {"questions": questions, "members": p.members, "seed": seed, "timings": timings, "seconds": total,
            "database_size": sizes}


async def _search_documents(url: str, questions: int, workers: int = 2) -> None:
    import asyncpg

    sql = ("INSERT INTO search_document (question_id, title, excerpt, tags, people, state, score, answer_count, quality, "
           "created_at, tsv, title_tsv, body_tsv, answers_tsv) SELECT question_id, title, excerpt, tags, people, state, "
           "score, answer_count, quality, created_at, setweight(t, 'A') || setweight(b, 'B') || setweight(a, 'C'), t, b, a "
           "FROM (SELECT *, to_tsvector('english', title) AS t, to_tsvector('english', body) AS b, "
           "to_tsvector('english', answers) AS a FROM scale_search_text WHERE question_id BETWEEN $1 AND $2 OFFSET 0) s")
    step = 50_000
    ranges = [(lo, min(questions, lo + step - 1)) for lo in range(1, questions + 1, step)]

    async def worker() -> None:
        conn = await asyncpg.connect(_asyncpg_url(url))
        try:
            try:  # search_title's trigger off (BACKFILL fills it after); not a superuser: generate disabled it
                await conn.execute("SET session_replication_role = replica")
            except asyncpg.PostgresError:
                pass
            while ranges:
                lo, hi = ranges.pop(0)
                await conn.execute(sql, lo, hi)
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(workers)))


async def _build_indexes(url: str, definitions: list[str], workers: int = 2) -> None:
    import asyncpg

    todo = list(definitions)

    async def worker() -> None:
        conn = await asyncpg.connect(_asyncpg_url(url))
        try:
            await conn.execute("SET maintenance_work_mem = '512MB'")
            while todo:
                await conn.execute(todo.pop(0))
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(workers)))


def _print_generate(summary: dict[str, Any], markdown: bool) -> None:
    lines = [f"generated {summary['questions']:,} questions, {summary['members']:,} members (seed {summary['seed']}) in "
             f"{summary['seconds']:.0f} s; database {summary['database_size']}", "",
             "| table / step | rows | seconds |", "|---|---:|---:|"]
    for table, (rows, secs) in summary["timings"].items():
        lines.append(f"| {table} | {rows:,} | {secs:.1f} |")
    text = "\n".join(lines)
    print(text if markdown else text.replace("|---|---:|---:|\n", "").replace("|", " "))



# ----- the command line -----

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    for name in ("generate", "load", "all"):
        s = sub.add_parser(name)
        s.add_argument("--database-url", default=os.environ.get("DATABASE_URL", "") if name != "all" else "",
                       help="a PostgreSQL database (default for generate/all: a throwaway cluster under /tmp)")
        s.add_argument("--pg-port", type=int, default=55440, help="port of the throwaway cluster")
        s.add_argument("--markdown", action="store_true")
        if name in ("generate", "all"):
            s.add_argument("--questions", type=int, default=1_000_000)
            s.add_argument("--seed", type=int, default=7)
            s.add_argument("--datasets", type=Path, default=scale_data.DATASETS)
            s.add_argument("--keep", action="store_true", help="keep the throwaway cluster running afterwards")
        if name in ("load", "all"):
            s.add_argument("--duration", type=int, default=60, help="seconds of mixed load")
            s.add_argument("--alone", type=int, default=15, help="seconds for each route measured alone")
            s.add_argument("--connections", type=int, default=32)
            s.add_argument("--load-seed", type=int, default=11)
            s.add_argument("--think-ms", type=float, default=0,
                           help="mixed load below saturation: each connection pauses this long on average "
                                "(exponential) before each request; the runs alone stay saturating")
            s.add_argument("--no-search-compare", action="store_true",
                           help="skip the searches one at a time beside raw full-text search (minutes at a million)")
    args = ap.parse_args()
    cluster = None
    url = args.database_url
    try:
        if not url:
            if args.command == "load":
                raise SystemExit("load needs --database-url (or DATABASE_URL): a database made by generate")
            cluster = Cluster(args.pg_port)
            url = cluster.start()
            print(f"throwaway PostgreSQL cluster: {url} ({cluster.dir})", file=sys.stderr)
        if args.command in ("generate", "all"):
            _print_generate(asyncio.run(generate(url, args.questions, args.seed, args.datasets)), args.markdown)
        if args.command in ("load", "all"):
            from scale_load import run_load

            run_load(url, args)
    finally:
        if cluster is not None:
            if getattr(args, "keep", False):
                print(f"kept: {url}; stop it with: runuser -u postgres -- {cluster.bin}/pg_ctl -D {cluster.dir}/data stop",
                      file=sys.stderr)
            else:
                cluster.stop()


if __name__ == "__main__":
    main()
