"""Database wiring: the Tortoise configuration for every room, migrations, and transactions."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import random
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from tortoise import Tortoise, connections
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.exceptions import ConfigurationError
from tortoise.transactions import in_transaction

from community.errors import Busy

log = logging.getLogger("community")
P = ParamSpec("P")
T = TypeVar("T")

# Each room is a Tortoise app with its own models and its own migrations package.
APPS: dict[str, dict[str, Any]] = {
    "community": {"models": ["community.models"], "migrations": "community.migrations"},
    "search": {"models": ["search.models"], "migrations": "search.migrations"},
    "support": {"models": ["community.support.models"], "migrations": "community.support.migrations"},
    "moderation": {"models": ["moderation.models"], "migrations": "moderation.migrations"},
    "insights": {"models": ["community.insights.models"], "migrations": "community.insights.migrations"},
}


def _sqlite_transactions_begin_immediate() -> None:
    """Start SQLite transactions with BEGIN IMMEDIATE.

    Tortoise begins with a deferred BEGIN: a transaction that reads, then writes after another
    process (a second worker, the indexer, a test beside a live server) committed, fails at once
    with "database is locked" instead of waiting. IMMEDIATE takes the write lock up front, so
    writers queue under busy_timeout instead.
    """
    import sqlite3

    from tortoise.backends.sqlite.client import SqliteTransactionWrapper
    from tortoise.exceptions import TransactionManagementError

    async def begin(self: SqliteTransactionWrapper) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc

    SqliteTransactionWrapper.begin = begin  # type: ignore[method-assign]


_sqlite_transactions_begin_immediate()


def normalise_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgres://" + url[len("postgresql://") :]
    return url


BACKGROUND = "background"


def tortoise_config(database_url: str, pool: Any = None) -> dict[str, Any]:
    """`pool`: `community.dbpool.PoolSettings` for PostgreSQL (the web server's are `for_server`);
    by default a command's (`for_jobs`: no statement timeout)."""
    url = normalise_url(database_url)
    if url.startswith("sqlite://"):
        path = url[len("sqlite://") :]
        connection: Any = {
            "engine": "tortoise.backends.sqlite",
            "credentials": {
                "file_path": path,
                "journal_mode": "WAL",
                "journal_size_limit": 16384,
                "foreign_keys": "ON",
                "busy_timeout": 15000,
                # WAL with NORMAL: a commit survives the process being killed at any moment; only
                # a power cut can lose the last commits. FULL would fsync on every commit.
                "synchronous": "NORMAL",
            },
        }
        connections_: dict[str, Any] = {"default": connection}
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            # Background work (the escalation sweeper) gets a connection of its own: Tortoise
            # serialises everything on one SQLite connection per process, so a long sweep on the
            # default one would make every request wait. In WAL mode the requests keep reading
            # while it writes.
            connections_[BACKGROUND] = {**connection, "credentials": dict(connection["credentials"])}
    else:
        from community import dbpool

        connections_ = {"default": dbpool.postgres_connection(url, pool or dbpool.PoolSettings.for_jobs())}
    return {
        "connections": connections_,
        "apps": {label: {**app, "default_connection": "default"} for label, app in APPS.items()},
        "use_tz": True,
        "timezone": "UTC",
    }


def _config_from_env() -> dict[str, Any]:
    from community.config import Config

    return tortoise_config(Config.from_env().database_url)


# For the `tortoise` command line (makemigrations): TORTOISE_ORM=community.db.TORTOISE_ORM
TORTOISE_ORM = _config_from_env()


async def init(database_url: str, pool: Any = None) -> None:
    await Tortoise.init(config=tortoise_config(database_url, pool), _enable_global_fallback=True)


async def migrate(database_url: str) -> None:
    """Bring the schema up to date with Tortoise's migrations; existing rows are kept."""
    from tortoise.migrations.api import migrate as run_migrations

    try:
        await run_migrations(config=tortoise_config(database_url))
    finally:
        # Also on failure: an open SQLite connection's worker thread would keep `run.py migrate` from exiting.
        await Tortoise.close_connections()


async def close() -> None:
    await Tortoise.close_connections()


def transaction():
    """One database transaction; every multi-row state change runs inside one."""
    return in_transaction("default")


RETRY_ATTEMPTS = 4  # runs of a write, the first included, before it answers 503
RETRY_PAUSE = 0.02  # seconds; the pause before each new run is random, up to this doubled per run
_RETRYABLE = {"40001", "40P01"}  # serialization_failure, deadlock_detected


def causes(exc: BaseException) -> Iterator[BaseException]:
    """The error and every error behind it: what it was raised from or during, and the driver's error
    that Tortoise wraps as its first argument."""
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        e = todo.pop()
        if not isinstance(e, BaseException) or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo += [e.__cause__, e.__context__, *e.args]


def must_retry(exc: BaseException) -> bool:
    """PostgreSQL aborted the transaction because of others running beside it (a deadlock, 40P01, or
    a serialisation failure, 40001): it was rolled back whole, and running it again will do."""
    return any(getattr(e, "sqlstate", None) in _RETRYABLE for e in causes(exc))


def retried(service: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Run a write service again when PostgreSQL aborts its transaction with a deadlock or a
    serialisation failure, a few times with a short random pause, then raise `Busy` (503, "try again").

    The whole call runs again, so the service must write in one transaction and nothing before it;
    what it does after the commit must not fail this way. Row locks are taken in one order (see
    `community.questions.lock_post`), so a retry is for what that order cannot cover.
    """

    @functools.wraps(service)
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        if isinstance(connections.get("default"), TransactionalDBClient):
            return await service(*args, **kwargs)  # inside a caller's transaction: that one is what runs again
        for attempt in range(1, RETRY_ATTEMPTS + 1):
            try:
                return await service(*args, **kwargs)
            except Exception as exc:
                if not must_retry(exc):
                    raise
                if attempt == RETRY_ATTEMPTS:
                    log.warning("%s gave up after %d runs: %s", service.__qualname__, attempt, exc)
                    raise Busy() from exc
                log.info("%s: %s; running it again", service.__qualname__, exc)
                await asyncio.sleep(random.uniform(0, RETRY_PAUSE * 2 ** attempt))
        raise AssertionError("unreachable")

    return run


def background() -> Any:
    """The connection for background work: its own on SQLite, the shared pool on PostgreSQL."""
    try:
        return connections.get(BACKGROUND)
    except ConfigurationError:  # not configured: PostgreSQL (a pool already) or in-memory SQLite
        return connections.get("default")


def background_transaction():
    """A transaction on the background connection."""
    conn = background()
    return in_transaction(conn.connection_name)


def dialect() -> str:
    return connections.get("default").capabilities.dialect


MAX_PARAMETERS = 30_000  # below PostgreSQL's 32,767 bound parameters and SQLite's 32,766


def _placeholders(query: str, dialect_name: str) -> str:
    if dialect_name != "postgres":
        return query
    parts = query.split("?")
    out = [parts[0]]
    for n, part in enumerate(parts[1:], start=1):
        out.append(f"${n}{part}")
    return "".join(out)


def as_datetime(value: Any) -> datetime:
    """A datetime from a raw row: SQLite hands them back as text (aggregates too), PostgreSQL as datetimes."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


async def fetch(query: str, values: list[Any] | None = None, conn: Any = None) -> list[dict]:
    """Run SQL written with `?` placeholders on either database; returns rows as dicts."""
    conn = conn or connections.get("default")
    return await conn.execute_query_dict(_placeholders(query, conn.capabilities.dialect), values or [])


async def execute(query: str, values: list[Any] | None = None, conn: Any = None) -> int:
    conn = conn or connections.get("default")
    count, _ = await conn.execute_query(_placeholders(query, conn.capabilities.dialect), values or [])
    return count


async def insert_many(instances: list[Any], conn: Any = None) -> None:
    """Insert model instances (of one model, primary keys left to the database) with multi-row
    INSERT statements. Tortoise's `bulk_create` sends one statement per row on PostgreSQL
    (`executemany`), which fires statement-level triggers once per row; this fires them once per
    statement. The ids are not read back: callers look rows up by a natural key."""
    if not instances:
        return
    meta = instances[0]._meta
    names = [name for name in meta.fields_db_projection if not meta.fields_map[name].generated]
    fields = [meta.fields_map[name] for name in names]
    columns = ", ".join('"' + meta.fields_db_projection[name] + '"' for name in names)
    head = f'INSERT INTO "{meta.db_table}" ({columns}) VALUES '
    row = "(" + ", ".join("?" * len(names)) + ")"
    per_statement = max(1, MAX_PARAMETERS // len(names))
    for start in range(0, len(instances), per_statement):
        chunk = instances[start:start + per_statement]
        values = [field.to_db_value(getattr(instance, name), instance)
                  for instance in chunk for name, field in zip(names, fields)]
        await execute(head + ", ".join([row] * len(chunk)), values, conn)
