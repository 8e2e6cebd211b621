"""/healthz and /readyz: the process answers; ready means the database answers and the search index opens.
A page or an API call while the database is unreachable gets a readable 503 and one log line."""

from __future__ import annotations

import logging
import shutil

from tortoise import Tortoise

from community import db, outage
from search.index import forget, open_index

DEAD_DATABASE = "postgres://nobody@127.0.0.1:1/gone"  # nothing listens on port 1: connection refused


async def test_healthz_answers_without_the_database(client) -> None:
    await Tortoise.close_connections()
    await db.init(DEAD_DATABASE)
    try:
        r = await client.get("/healthz")
        assert (r.status_code, r.text) == (200, "ok")
    finally:
        await Tortoise.close_connections()


async def test_readyz_ok_then_503_naming_the_index(client, config) -> None:
    open_index(config.index_dir)  # the index the server would create at start
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"database": "ok", "search": "ok"}

    forget(config.index_dir)
    shutil.rmtree(config.index_dir)
    config.index_dir.write_text("not an index")  # the directory is gone: a file stands in its place
    r = await client.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["database"] == "ok"
    assert body["search"].startswith("cannot open the index") and str(config.index_dir) in body["search"]
    assert r.headers["retry-after"] == str(outage.RETRY_AFTER)


async def test_database_unreachable_503s_with_one_log_line(client, config, database, caplog) -> None:
    open_index(config.index_dir)
    outage.throttle.last.clear()
    await Tortoise.close_connections()
    await db.init(DEAD_DATABASE)
    caplog.set_level(logging.INFO, logger="community")
    try:
        r = await client.get("/readyz")
        assert r.status_code == 503
        assert r.json()["database"].startswith("unreachable: ConnectionRefusedError")
        assert r.json()["search"] == "ok"

        page = await client.get("/")
        assert page.status_code == 503
        assert "can&#39;t reach its database right now" in page.text or "can't reach its database right now" in page.text
        assert "<h1>Try again soon</h1>" in page.text  # the site's own error page, as a reader sees it
        assert page.headers["retry-after"] == str(outage.RETRY_AFTER)

        api = await client.get("/api/v1/questions")
        assert api.status_code == 503
        assert api.json()["error"]["code"] == "unavailable"
        assert api.headers["retry-after"] == str(outage.RETRY_AFTER)
        for _ in range(3):
            assert (await client.get("/questions")).status_code == 503
    finally:
        await Tortoise.close_connections()
        await db.init(database)
    lines = [r for r in caplog.records if "database unreachable" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in lines]  # not one per request
    assert lines[0].exc_info is None  # a line, not a traceback
    assert not [r for r in caplog.records if r.exc_info]
    r = await client.get("/readyz")  # the real database again: ready
    assert r.status_code == 200
