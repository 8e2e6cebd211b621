"""Probes for load balancers: /healthz (the process answers) and /readyz (it can serve: the database
and the search index are reachable).

/healthz touches nothing: 200 "ok" as long as the event loop turns. /readyz runs `SELECT 1` within
READY_TIMEOUT seconds and opens the search index (the Whoosh directory, or PostgreSQL's
search_document table), answering 200 {"database": "ok", "search": "ok"} or 503 naming what failed
and why. Neither reads the session or the member (load balancers send no cookie), and a successful
probe writes no access-log line.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from community import db, outage

READY_TIMEOUT = 2.0  # seconds each check may take


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok", headers={"Cache-Control": "no-store"})


async def check_database() -> str:
    """"ok", or why not."""
    try:
        await asyncio.wait_for(db.fetch("SELECT 1 AS ok"), READY_TIMEOUT)
        return "ok"
    except asyncio.TimeoutError:
        return f"no answer within {READY_TIMEOUT:g} s"
    except Exception as exc:
        return f"unreachable: {outage.describe(exc)}"


def _open_whoosh(directory: Path) -> int:
    from whoosh import index

    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} is not a directory")
    if not index.exists_in(str(directory)):
        raise FileNotFoundError(f"no search index in {directory} (run `python run.py reindex`)")
    ix = index.open_dir(str(directory))
    try:
        return ix.doc_count()
    finally:
        ix.close()


async def check_search(config: Any) -> str:
    """"ok", or why not: the Whoosh directory opens (read from disk now, not the copy in memory), or
    PostgreSQL's search table answers."""
    try:
        if config.search_backend == "postgres":
            await asyncio.wait_for(db.fetch("SELECT 1 AS ok FROM search_document LIMIT 1"), READY_TIMEOUT)
        else:
            await asyncio.wait_for(asyncio.to_thread(_open_whoosh, Path(config.index_dir)), READY_TIMEOUT)
        return "ok"
    except asyncio.TimeoutError:
        return f"no answer within {READY_TIMEOUT:g} s"
    except Exception as exc:
        return f"cannot open the index: {type(exc).__name__}: {exc}"


async def readyz(request: Request) -> Response:
    config = request.app.state.config
    database, search = await asyncio.gather(check_database(), check_search(config))
    body = {"database": database, "search": search}
    status = 200 if database == "ok" and search == "ok" else 503
    waiting = getattr(request.app.state, "not_ready", None)  # a start that met an unreachable database (community/readiness.py)
    if waiting:
        body["startup"], status = waiting, 503
    response = JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})
    if status == 503:
        response.headers["Retry-After"] = str(outage.RETRY_AFTER)
    return response


routes = [
    Route("/healthz", healthz, methods=["GET", "HEAD"]),
    Route("/readyz", readyz, methods=["GET", "HEAD"]),
]
