"""Import benchmark: posts per second into the database, and peak memory as the dump grows.

    .venv/bin/python bench/import_bench.py                       # SQLite, cardano 1x and 10x
    PG_TEST_PORT=55437 bash tests/with_postgres.sh .venv/bin/python bench/import_bench.py   # PostgreSQL

The 10x dump is the same site replicated with every id shifted per copy, generated under /tmp
(`replicate`). Each import runs in its own process into a fresh, migrated database, so its peak
resident memory (ru_maxrss) is the importer's own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATASETS = ROOT.parent / "shared" / "datasets" / "stackexchange"
ID_ATTRIBUTES = ("Id", "PostId", "ParentId", "AcceptedAnswerId", "OwnerUserId", "UserId", "RelatedPostId",
                 "LastEditorUserId", "ExcerptPostId", "WikiPostId")
SHIFT = 10_000_000


def replicate(source: Path, times: int, target: Path) -> Path:
    """Write `times` copies of every dump file into one, ids shifted by 10,000,000 per copy (streamed)."""
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.xml")):
        root_tag = None
        for _, elem in ET.iterparse(path, events=("start",)):
            root_tag = elem.tag
            break
        with (target / path.name).open("w", encoding="utf-8") as out:
            out.write('\ufeff<?xml version="1.0" encoding="utf-8"?>\n' + f"<{root_tag}>\n")
            for copy in range(times):
                for _, elem in ET.iterparse(path):
                    if elem.tag != "row":
                        continue
                    row = ET.Element("row", dict(elem.attrib))
                    for name in ID_ATTRIBUTES:
                        value = row.get(name)
                        if value and value.lstrip("-").isdigit():
                            row.set(name, str(int(value) + copy * SHIFT))
                    out.write("  " + ET.tostring(row, encoding="unicode") + "\n")
                    elem.clear()
            out.write(f"</{root_tag}>\n")
    return target


async def _fresh_database(url: str) -> None:
    from community import db

    if url.startswith("postgres"):
        import asyncpg

        conn = await asyncpg.connect(db.normalise_url(url).replace("postgres://", "postgresql://", 1))
        try:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        finally:
            await conn.close()
    await db.migrate(url)


async def _import(directory: str, url: str) -> dict:
    from community import db, settings
    from community.insights.importer import StackExchangeImport
    from community.questions import ensure_generation_row

    await _fresh_database(url)
    await db.init(url)
    await settings.load()
    await ensure_generation_row()
    began = time.perf_counter()
    try:
        report = await StackExchangeImport(directory).run()
    finally:
        await db.close()
    seconds = time.perf_counter() - began
    return {"posts": report.posts_imported, "post_seconds": round(report.post_seconds, 2), "seconds": round(seconds, 2),
            "posts_per_second": round(report.posts_imported / report.post_seconds),
            "rows": {k: t.imported for k, t in report.sections.items()},
            "reputation_match_pct": round(100 * report.reputation_match_share, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def run_one(directory: Path, url: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "_one", str(directory), url], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--site", default=str(DATASETS / "cardano.stackexchange.com"))
    parser.add_argument("--times", type=int, default=10)
    parser.add_argument("--work", default="/tmp/se-import-bench")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite://{work / 'bench.sqlite3'}"
    site = Path(args.site)
    began = time.perf_counter()
    bigger = replicate(site, args.times, work / f"{site.name}-x{args.times}")
    print(f"replicated {site.name} x{args.times} into {bigger} in {time.perf_counter() - began:.1f} s", flush=True)
    print(f"database: {'PostgreSQL' if url.startswith('postgres') else 'SQLite'}; machine: {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}", flush=True)
    for label, directory in (("1x", site), (f"{args.times}x", bigger)):
        for path in Path(url[len("sqlite://"):]).parent.glob("bench.sqlite3*") if url.startswith("sqlite") else []:
            path.unlink()
        result = run_one(directory, url)
        print(f"{label:>4}: {result['posts']:>7} posts in {result['post_seconds']:>6} s = {result['posts_per_second']:>6} posts/s; "
              f"whole import {result['seconds']} s; peak RSS {result['peak_rss_mb']} MB; "
              f"reputation match {result['reputation_match_pct']}%", flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "_one":
        print(json.dumps(asyncio.run(_import(sys.argv[2], sys.argv[3]))))
    else:
        main()
