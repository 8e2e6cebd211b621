"""In-process measure of a thread-page cache miss (issue 17): random questions of a generated
database, read by an anonymous visitor and by a member, each a miss of the anonymous page cache;
then the other pages of the scale load, each a miss too: lists with deep cursors, tag pages
(Zipf-chosen tags) and member pages.

Runs the app in this process (no server, no HTTP), so what it reports is the app's own cost: wall
and CPU milliseconds per page, and database round trips per page (every statement asyncpg or
sqlite3 runs, counted at the driver). With --profile it prints cProfile's top functions of the
anonymous misses.

    .venv/bin/python bench/scale_bench.py generate --questions 20000 --pg-port 5492 --keep   # prints its URL
    .venv/bin/python bench/thread_miss_bench.py --database-url postgres://postgres@127.0.0.1:5492/scale
    .venv/bin/python bench/thread_miss_bench.py --database-url ... --profile 25
    .venv/bin/python bench/thread_miss_bench.py --database-url ... --profile 25 --profile-route list

Results: docs/benchmarks.md, "Scale".
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib
import io
import pstats
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TRIPS = [0]
SHOWN: list[str] | None = None  # the statements of one page, when asked (--queries)


def _count_round_trips() -> None:
    """Count every statement sent to the database, at the driver."""
    try:
        import asyncpg.connection

        for name in ("_do_execute", "_execute"):
            original = getattr(asyncpg.connection.Connection, name, None)
            if original is None:
                continue

            def counted(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
                TRIPS[0] += 1
                if SHOWN is not None:
                    SHOWN.append(str(args[0])[:160] if args else "?")
                return __original(self, *args, **kwargs)

            setattr(asyncpg.connection.Connection, name, counted)
            break
        plain = asyncpg.connection.Connection.execute

        async def execute(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            if not args:  # with arguments it goes through _do_execute, counted above
                TRIPS[0] += 1
                if SHOWN is not None:
                    SHOWN.append(query[:160])
            return await plain(self, query, *args, **kwargs)

        asyncpg.connection.Connection.execute = execute  # type: ignore[method-assign]
    except ImportError:
        pass


async def _mixed(client: Any, paths: list[str], n: int, pool: int, rnd: random.Random) -> None:
    """n requests over `pool` random questions: 97% anonymous reads, 3% votes (through the voting
    service, by members with the privilege) on the pool's answers; the hit rate and cost per read."""
    from community import db, voting
    from community.errors import DomainError
    from community.models import User

    chosen = rnd.sample(paths, min(pool, len(paths)))
    qids = [int(p.split("/")[2]) for p in chosen]
    marks = ", ".join("?" * len(qids))
    answers = [int(r["id"]) for r in await db.fetch(f"SELECT id FROM post WHERE question_id IN ({marks})", qids)]
    voters = [u async for u in _voters(User)]
    hits = reads = writes = 0
    walls: list[float] = []
    cpu = 0.0
    for _ in range(n):
        if rnd.random() < 0.03 and answers:
            try:
                await voting.vote(rnd.choice(voters), rnd.choice(answers), rnd.choice((1, -1, 0)))
                writes += 1
            except DomainError:
                pass
            continue
        t0, c0 = time.perf_counter(), time.process_time()
        r = await client.get(rnd.choice(chosen))
        walls.append((time.perf_counter() - t0) * 1000)
        cpu += time.process_time() - c0
        reads += 1
        hits += r.headers.get("x-cache") == "hit"
    walls.sort()
    print(f"  mixed: {reads} reads over {len(chosen)} questions, {writes} votes: {100 * hits / max(reads, 1):.1f}% hits, "
          f"{statistics.mean(walls):.2f} ms mean, p95 {walls[int(0.95 * len(walls))]:.2f} ms, "
          f"{1000 * cpu / max(reads, 1):.2f} ms CPU per read")
    from community import web

    kept = [len(e[1]) for e in web.page_cache.entries.values()]
    print(f"  kept pages: {len(kept)}, {statistics.mean(kept) / 1024:.1f} KB each on average" if kept else "  no kept pages")


async def _voters(user_model: Any) -> Any:
    for u in await user_model.filter(role="member", reputation__gte=200).order_by("-reputation").limit(300):
        yield u


async def _other_pages(rnd: random.Random) -> dict[str, list[str]]:
    """Paths of the load's other anonymous pages, as bench/scale_load.py makes them: a list of a
    random sort with a cursor at a random question, a tag page of a tag chosen by its questions, the
    page of a random question's author."""
    from community import db
    from scale_load import deep_list_path

    # Random ids up to the newest question's, read by primary key (reading every question of a
    # million runs past the statement timeout).
    top = (await db.fetch("SELECT max(id) AS n FROM post WHERE kind = 'question'"))[0]["n"] or 0
    ids = sorted(rnd.sample(range(1, top + 1), min(top, 4000)))
    rows = await db.fetch("SELECT id, created_at, last_activity_at, score, state, author_id FROM post WHERE kind = 'question'"
                          f" AND deleted_at IS NULL AND NOT hidden AND id IN ({','.join('?' * len(ids))}) ORDER BY id", ids)
    rows = rnd.sample(rows, min(len(rows), 2000))
    lists = [deep_list_path(rnd, {**r, "created_at": db.as_datetime(r["created_at"]),
                                  "last_activity_at": db.as_datetime(r["last_activity_at"])}) for r in rows]
    tags = await db.fetch("SELECT name, question_count FROM tag WHERE question_count > 0")
    picked = rnd.choices(tags, weights=[t["question_count"] for t in tags], k=1000)
    tag_pages = [f"/tags/{t['name']}" + rnd.choice(("", "", "?sort=votes", "?sort=active")) for t in picked]
    users = [f"/users/{r['author_id']}" for r in rows if r["author_id"]]
    return {"list, deep cursor": lists, "tag page": tag_pages, "user page": users}


async def run(url: str, count: int, profile: int, queries: bool, mixed: int = 0, pool: int = 1000,
              profile_route: str = "thread") -> None:
    global SHOWN
    import httpx

    from community import db, web
    from community.app import create_app
    from community.config import Config

    config = Config(var_dir=Path(tempfile.mkdtemp(prefix="miss-bench-")), database_url=url, secret_key="bench",
                    demo_data=False, run_indexer=False, run_sweeper=False, page_cache=True,
                    extra={"SEARCH_BACKEND": "postgres" if url.startswith("postgres") else "whoosh", "EMBEDDINGS": "0",
                           "ACCESS_LOG": "0"})
    app = create_app(config, background=False)
    async with app.router.lifespan_context(app):
        from community import slugs

        rows = await db.fetch("SELECT id, title FROM post WHERE kind = 'question' AND deleted_at IS NULL AND NOT hidden")
        ids = [slugs.question_path(int(r["id"]), r["title"]) for r in rows]  # canonical: no redirect
        member = (await db.fetch("SELECT username FROM \"user\" WHERE role = 'member' ORDER BY reputation DESC LIMIT 1"))[0]["username"]
        rnd = random.Random(17)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as anon, \
                httpx.AsyncClient(transport=transport, base_url="http://test") as mem:
            await _log_in_as(mem, member)
            for _ in range(20):  # warm up templates, statement caches
                await anon.get(rnd.choice(ids))
                await anon.get("/bare")

            async def measure(client: httpx.AsyncClient, path: Any, n: int) -> tuple[float, float, float]:
                walls, cpus, trips = [], [], []
                for _ in range(n):
                    target = path() if callable(path) else path
                    web.page_cache.entries.clear()
                    web.page_cache.shared_entries.clear()
                    t0, c0, r0 = time.perf_counter(), time.process_time(), TRIPS[0]
                    r = await client.get(target, follow_redirects=True)
                    walls.append((time.perf_counter() - t0) * 1000)
                    cpus.append((time.process_time() - c0) * 1000)
                    trips.append(TRIPS[0] - r0)
                    assert r.status_code == 200, (target, r.status_code)
                return statistics.median(walls), statistics.median(cpus), statistics.mean(trips)

            if queries:
                for label, client in (("anonymous miss", anon), ("member page", mem)):
                    SHOWN = []
                    await measure(client, rnd.choice(ids), 1)
                    print(f"{label}: {len(SHOWN)} statements")
                    for q in SHOWN:
                        print("   ", q.replace("\n", " "))
                    SHOWN = None
            question = lambda: rnd.choice(ids)  # noqa: E731
            print(f"{len(ids):,} questions; {count} pages each; medians (round trips: mean)")
            for label, client, path in (("bare route", anon, "/bare"), ("anonymous thread miss", anon, question),
                                        ("member thread page", mem, question)):
                wall, cpu, trips = await measure(client, path, count)
                print(f"  {label:24} {wall:6.2f} ms wall  {cpu:6.2f} ms CPU  {trips:5.1f} round trips")
            others = await _other_pages(rnd)
            for label, paths in others.items():
                wall, cpu, trips = await measure(anon, lambda paths=paths: rnd.choice(paths), count)
                print(f"  {label:24} {wall:6.2f} ms wall  {cpu:6.2f} ms CPU  {trips:5.1f} round trips")
            if mixed:
                await _mixed(anon, ids, mixed, pool, rnd)
            if profile:
                prof = cProfile.Profile()
                prof.enable()
                routes = {"thread": question, "list": lambda: rnd.choice(others["list, deep cursor"]),
                          "tag": lambda: rnd.choice(others["tag page"]), "user": lambda: rnd.choice(others["user page"])}
                await measure(anon, routes[profile_route], profile)
                prof.disable()
                out = io.StringIO()
                pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(45)
                print(out.getvalue())
                out = io.StringIO()
                pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(30)
                print(out.getvalue())


async def _log_in_as(client: Any, name: str) -> None:
    """Log in through the form, with the generated members' password (bench/scale_data.py)."""
    import re

    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = await client.post("/login", data={"username": name, "password": "bench-password-1", "csrf_token": token, "next": "/"})
    if r.status_code != 303:
        raise SystemExit(f"could not log in as {name}: {r.status_code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--count", type=int, default=200, help="pages per measure")
    parser.add_argument("--profile", type=int, default=0, help="profile this many anonymous misses")
    parser.add_argument("--profile-route", choices=("thread", "list", "tag", "user"), default="thread",
                        help="the page --profile profiles")
    parser.add_argument("--queries", action="store_true", help="print the statements of one miss")
    parser.add_argument("--mixed", type=int, default=0, help="then this many requests of a mixed load (3%% votes)")
    parser.add_argument("--pool", type=int, default=1000, help="questions the mixed load reads")
    parser.add_argument("--global-bumps", action="store_true",
                        help="every write throws away every kept page (as before issue 17's per-thread changes)")
    args = parser.parse_args()
    if args.global_bumps:
        from community import questions

        scoped = questions.bump_generation

        async def everything(question_id: Any = None, users: Any = ()) -> None:
            await scoped()

        questions.bump_generation = everything  # type: ignore[assignment]
        for name in ("voting", "acceptance"):
            setattr(importlib.import_module(f"community.{name}"), "bump_generation", everything)
    _count_round_trips()
    asyncio.run(run(args.database_url, args.count, args.profile, args.queries, args.mixed, args.pool, args.profile_route))


if __name__ == "__main__":
    main()
