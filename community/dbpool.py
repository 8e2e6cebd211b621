"""PostgreSQL connection pool settings: how many connections each process holds, how long a statement
may run, how long a connection attempt may wait.

The web server (`community.app`) uses `for_server`: a pool of DB_POOL_SIZE connections per worker
(default: 10, fewer when WORKERS is large, so WORKERS x pool stays under 80 of PostgreSQL's default
100 connections), a statement timeout of DB_STATEMENT_TIMEOUT_MS (default 10,000 ms) so one slow
query cannot hold a worker, and an idle-in-transaction timeout. Commands (`run.py migrate`, `reindex`,
imports, the indexer and mailer processes) use `for_jobs`: a small pool and
DB_JOB_STATEMENT_TIMEOUT_MS (default 0: no limit, a reindex of a million questions runs long
statements). Both connect with DB_CONNECT_TIMEOUT seconds (default 5) so an unreachable database
answers quickly instead of after asyncpg's 60 s. Every connection runs without JIT compilation,
and the server's without parallel plans. SQLite is not pooled; its busy timeout stays in
`community.db.tortoise_config`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_TOTAL = 80  # connections all workers of one host may hold by default (PostgreSQL's default max is 100)
DEFAULT_PER_WORKER = 10
DEFAULT_STATEMENT_TIMEOUT_MS = 10_000
IDLE_IN_TRANSACTION_MS = 60_000  # a request that left a transaction open gives its locks back after this
DEFAULT_CONNECT_TIMEOUT = 5.0


def default_pool_size(workers: int) -> int:
    """Per worker: 10, or fewer so that all workers together hold at most MAX_TOTAL (at least 2 each)."""
    return max(2, min(DEFAULT_PER_WORKER, MAX_TOTAL // max(1, workers)))


def _int(env: Mapping[str, str], name: str, default: int, low: int = 0) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from exc
    if value < low:
        raise ValueError(f"{name} must be at least {low}, not {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number of seconds, not {raw!r}") from exc
    if value <= 0:
        raise ValueError(f"{name} must be more than 0 seconds")
    return value


@dataclass(frozen=True)
class PoolSettings:
    size: int  # most connections this process holds
    statement_timeout_ms: int  # 0: no limit
    idle_in_transaction_ms: int  # 0: no limit
    connect_timeout: float  # seconds
    # A page's statements, one core each: a parallel plan's extra processes only take cores other
    # requests wait for (None: PostgreSQL's own setting, for commands that run alone).
    parallel_workers: int | None = None

    @classmethod
    def for_server(cls, env: Mapping[str, str] | None = None) -> PoolSettings:
        env = os.environ if env is None else env
        workers = _int(env, "WORKERS", 1, low=1)
        return cls(size=_int(env, "DB_POOL_SIZE", default_pool_size(workers), low=1),
                   statement_timeout_ms=_int(env, "DB_STATEMENT_TIMEOUT_MS", DEFAULT_STATEMENT_TIMEOUT_MS),
                   idle_in_transaction_ms=IDLE_IN_TRANSACTION_MS,
                   connect_timeout=_float(env, "DB_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT), parallel_workers=0)

    @classmethod
    def for_jobs(cls, env: Mapping[str, str] | None = None) -> PoolSettings:
        env = os.environ if env is None else env
        return cls(size=5, statement_timeout_ms=_int(env, "DB_JOB_STATEMENT_TIMEOUT_MS", 0),
                   idle_in_transaction_ms=0, connect_timeout=_float(env, "DB_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT))


_quiet: Any = None


def quiet_connection_class() -> Any:
    """asyncpg's connection without its reset statement on release to the pool.

    The pool sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` each time a
    connection goes back, and outside a transaction Tortoise takes one from the pool per statement:
    half of every page's round trips were that reset (issue 17). Nothing here leaves session state
    behind: the only advisory locks are transaction-level (pg_advisory_xact_lock), there is no LISTEN,
    no session-level SET and no cursor WITH HOLD; an open transaction is still rolled back on release.
    """
    global _quiet
    if _quiet is None:
        import asyncpg

        class QuietConnection(asyncpg.Connection):  # type: ignore[misc]
            def get_reset_query(self) -> str:
                return ""

        _quiet = QuietConnection
    return _quiet


def postgres_connection(url: str, pool: PoolSettings) -> dict[str, Any]:
    """Tortoise's connection entry for a PostgreSQL URL with these pool settings. What the URL's own
    query string sets (?maxsize=, ?minsize=) wins over the settings."""
    from tortoise.backends.base.config_generator import expand_db_url

    entry = expand_db_url(url)
    credentials: dict[str, Any] = entry["credentials"]
    credentials.setdefault("maxsize", pool.size)
    # No floor: asyncpg would keep reconnecting to restore one while the database is down, logging a
    # traceback each time; connections are opened on demand and kept (idle ones closed after 5 min).
    credentials.setdefault("minsize", 0)
    credentials.setdefault("timeout", pool.connect_timeout)  # asyncpg's connect timeout, per new connection
    credentials.setdefault("connection_class", quiet_connection_class())
    server_settings = dict(credentials.get("server_settings") or {})
    # No JIT: compiling a plan the planner thinks costly took 35 ms of a 600 ms search at a million
    # threads, and every statement here is short (PostgreSQL's own advice for such loads).
    server_settings.setdefault("jit", "off")
    if pool.parallel_workers is not None:
        server_settings.setdefault("max_parallel_workers_per_gather", str(pool.parallel_workers))
    if pool.statement_timeout_ms:
        server_settings.setdefault("statement_timeout", str(pool.statement_timeout_ms))
    if pool.idle_in_transaction_ms:
        server_settings.setdefault("idle_in_transaction_session_timeout", str(pool.idle_in_transaction_ms))
    if server_settings:
        credentials["server_settings"] = server_settings
    return entry
