"""HTTP routes of the search room: the search page, click-through, the search/similar/deflection API.

Importing this module registers the ask page hook and the OpenAPI operations; `startup` returns the
indexer loop that the app runs in the background (unless RUN_INDEXER=0) and, with semantic search
on, the loading of the neighbour index, so the first look-up does not wait for it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from community import openapi, pages
from community.loop_guard import LoopGuard
from community.web import client_address, current_user, page_number, read_json, redirect, render
from search import deflection, whoosh_owner
from search.backend import search_backend
from search.indexer import Indexer
from search.results import SearchPage

log = logging.getLogger("search")

STATE_FILTERS = {"": "Any state", "solved": "Solved", "unsolved": "Not solved yet", "unanswered": "Unanswered"}
MAX_SIMILAR_CHARS = 2000


def _text(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def effective_query(q: str, state: str, tag: str) -> str:
    """The typed query plus the filter form's choices, written in the query language itself."""
    parts = [q.strip()]
    if state in STATE_FILTERS and state:
        parts.append(f"is:{state}")
    tag = tag.strip().lower()
    if tag:
        parts.append(f"[{tag}]")
    return " ".join(p for p in parts if p)


async def run_search(request: Request) -> tuple[str, SearchPage, int | None]:
    p = request.query_params
    q = effective_query(_text(p.get("q"), 1000), _text(p.get("state"), 20), _text(p.get("tag"), 40))
    page = page_number(p.get("page"))
    result = await search_backend(request.app).search(q, page)
    search_id = None
    if q and page == 1:
        user = await current_user(request)
        search_id = await deflection.search_ran(q, result.total, user.id if user else None)
    elif p.get("s", "").isdigit():
        search_id = int(p["s"][:18])
    return q, result, search_id


async def search_page(request: Request) -> Response:
    q, result, search_id = await run_search(request)
    p = request.query_params
    base = {k: v for k, v in (("q", _text(p.get("q"), 1000)), ("state", _text(p.get("state"), 20)),
                              ("tag", _text(p.get("tag"), 40))) if v}
    if search_id:
        base["s"] = str(search_id)

    def page_url(n: int) -> str:
        return "/search?" + urlencode({**base, "page": n})

    return await render(request, "search/results.html", {
        "query": q, "typed": base.get("q", ""), "state": base.get("state", ""), "tag": base.get("tag", ""),
        "result": result, "search_id": search_id, "states": STATE_FILTERS, "page_url": page_url,
    })


async def open_result(request: Request) -> Response:
    """Click-through from a result or a suggestion: record it, then go to the thread (works without JS)."""
    p = request.query_params
    user = await current_user(request)
    via = "ask" if p.get("via") == "ask" else "search"
    qid = await deflection.result_opened(p.get("question_id"), p.get("s") if via == "search" else p.get("view"),
                                         user.id if user else None, via)
    return redirect(f"/questions/{qid}")


async def api_search(request: Request) -> Response:
    q, result, search_id = await run_search(request)
    return JSONResponse({"items": [h.as_json() for h in result.items], "total": result.total,
                         "total_exact": result.total_exact, "page": result.page, "hint": result.hint,
                         "did_you_mean": result.suggestion, "search_id": search_id})


async def api_similar(request: Request) -> Response:
    p = request.query_params
    title, body = _text(p.get("title"), MAX_SIMILAR_CHARS), _text(p.get("body"), MAX_SIMILAR_CHARS)
    hits = await search_backend(request.app).similar(title, body, 5)
    view = _text(p.get("view"), 64)
    if view and hits:
        user = await current_user(request)
        await deflection.suggestions_shown(view, len(hits), user.id if user else None)
    return JSONResponse({"items": [{**h.as_json(), "solved": h.state == "solved",
                                    "url": f"/questions/{h.question_id}"} for h in hits]})


async def api_deflection(request: Request) -> Response:
    body = await read_json(request)
    if "question_id" not in body:
        from community.errors import Invalid

        raise Invalid("question_id", "Say which question solved your problem: question_id.")
    user = await current_user(request)
    event = await deflection.solved_my_problem(body.get("question_id"), user.id if user else None,
                                               _text(body.get("view"), 64), address=client_address(request))
    return JSONResponse({"id": event.id, "kind": event.kind, "question_id": event.question_id}, status_code=201)


async def _asked(request: Request, question: Any, form: dict) -> None:
    user = await current_user(request)
    await deflection.asked_after_suggestions(question.id, user.id if user else None, _text(form.get("suggestions_shown"), 200))


async def startup(app: Starlette) -> list:
    backend = search_backend(app)
    tasks = [_warm(backend)] if getattr(backend, "neighbours", None) is not None else []
    config = app.state.config
    claim = None
    if whoosh_owner.applies(config):
        # A Whoosh index follows the database's outbox on one host: refuse to start beside another's.
        claim = whoosh_owner.OutboxClaim(config)
        await claim.start(take=config.run_indexer)
    if config.run_indexer:
        tasks.append(_indexing(Indexer(backend, claim=claim)))
    return tasks


async def _indexing(indexer: Indexer) -> None:
    """Run the indexer; its claim on the outbox (if any) is let go when it stops."""
    try:
        await indexer.run()
    finally:
        if indexer.claim is not None:
            await indexer.claim.close()


async def _warm(backend: Any) -> None:
    """Load the neighbour index (and run the model once) in the background at start, so that the
    first look-up does not pay for it."""
    try:
        await asyncio.to_thread(backend.embedder.embed_one, "warm up")
        await backend.neighbours.follow(force=True)
        log.info("neighbour index loaded: %d question vectors", len(backend.neighbours))
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        LoopGuard("the neighbour index's first load").failed(
            exc, "loading the neighbour index failed; the first look-up will load it")


if _asked not in pages.ASKED_HOOKS:
    pages.ASKED_HOOKS.append(_asked)

_S, _I = {"type": "string"}, {"type": "integer"}
openapi.describe("GET", "/api/v1/search", "Search threads with the Stack Exchange query language "
                 "(words, \"phrases\", -word, OR, [tag], is:solved, user:, score:, answers:, created:, title:, body:)",
                 query=["q", "page", "state", "tag"])
openapi.describe("GET", "/api/v1/similar", "Up to 5 threads similar to a question being written (solved first)",
                 query=["title", "body", "view"])
openapi.describe("POST", "/api/v1/deflections", "Record that a suggested thread solved the problem (no question asked)",
                 {"question_id": _I, "view": _S}, 201)

routes = [
    Route("/search", search_page),
    Route("/search/open", open_result),
    Route("/api/v1/search", api_search),
    Route("/api/v1/similar", api_similar),
    Route("/api/v1/deflections", api_deflection, methods=["POST"]),
]
