"""One Whoosh index follows the database's search outbox: a second host's indexer refuses to start.

A Whoosh index is a directory on one host. Its indexer drains `search_outbox` (deleting the rows it
has indexed), so two hosts with their own directories on one PostgreSQL database would each get
part of the changes and both indexes would go wrong. With `SEARCH_BACKEND=whoosh` on PostgreSQL the
process that drains therefore holds a session-level advisory lock on a connection of its own, named
(`application_name`) after its index directory's id (a random id kept in the directory, `.owner-id`).
Another process finding the lock held:

- by the same index directory (another worker of this host): it starts, and leaves the draining to
  the holder (if the holder stops, the next drain takes the lock over);
- by another directory (another host): it refuses to start with a message saying what to do
  (several hosts: `SEARCH_BACKEND=postgres`, whose index is in the shared database).

SQLite and `SEARCH_BACKEND=postgres` need none of this (`applies` is False).
"""

from __future__ import annotations

import logging
import secrets
import socket
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from community import db, outage
from community.config import Config

log = logging.getLogger("search.whoosh_owner")

LOCK = (7_340_001, 2)  # (class, object) of the advisory lock; the indexer's drain lock uses the bigint form
PREFIX = "whoosh-outbox "
ID_FILE = ".owner-id"  # a dot name: Whoosh's clean-up of the index leaves it alone


class OutboxTaken(RuntimeError):
    """Another host's Whoosh index already follows this database."""


def applies(config: Config) -> bool:
    return config.search_backend == "whoosh" and not config.database_url.startswith("sqlite")


def directory_id(index_dir: Path) -> str:
    """The index directory's own id, made once and kept in the directory."""
    path = Path(index_dir) / ID_FILE
    try:
        value = path.read_text().strip()
        if value:
            return value
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(8)
    path.write_text(value + "\n")
    return value


def asyncpg_dsn(database_url: str) -> str:
    """The database URL for asyncpg: Tortoise's pool parameters left out (sslmode and the like kept)."""
    parts = urlsplit(db.normalise_url(database_url).replace("postgres://", "postgresql://", 1))
    keep = [(k, v) for k, v in parse_qsl(parts.query) if k in {"sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout"}]
    return urlunsplit(parts._replace(query=urlencode(keep)))


class OutboxClaim:
    """This process's claim on the outbox (see the module's docstring)."""

    def __init__(self, config: Config) -> None:
        self.index_dir = Path(config.index_dir or "")
        self.dsn = asyncpg_dsn(config.database_url)
        self.id = directory_id(self.index_dir)
        self.name = (PREFIX + self.id + " " + socket.gethostname())[:63]  # application_name's limit
        self._conn: Any = None
        self._warned = False

    async def start(self, take: bool = True) -> None:
        """Take the claim (`take`: this process runs the indexer), or find it held by this directory;
        raise OutboxTaken when another directory has it. Without `take` (RUN_INDEXER=0, the indexer
        is a process of its own) only the holder is looked at."""
        holder = await self._try(take)
        if not take:
            await self.close()
        if holder is not None and not self._same(holder):
            await self.close()
            raise OutboxTaken(self.refusal(holder))

    async def may_drain(self) -> bool:
        """Whether this process drains now: it holds the lock (taking it over if the holder left)."""
        try:
            holder = await self._try()
        except Exception as exc:
            if outage.kind(exc) is not None:
                raise  # the database is away: the indexer's loop says so once and backs off
            log.exception("could not check who follows the search outbox; not indexing this time")
            return False
        if holder is None:
            self._warned = False
            return True
        if not self._same(holder) and not self._warned:
            self._warned = True
            log.error("%s This process no longer indexes; restart it once the other host is stopped.", self.refusal(holder))
        return False

    async def _try(self, take: bool = True) -> str | None:
        """None when this process holds the lock (now or already) or, without `take`, nobody does;
        else the holder's name ('' when it cannot be read)."""
        import asyncpg

        if self._conn is not None and not self._conn.is_closed():
            try:
                if await self._conn.fetchval(
                        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 "
                        "AND objid = $2 AND objsubid = 2 AND pid = pg_backend_pid() AND granted)", *LOCK):
                    return None
            except (asyncpg.PostgresError, OSError):
                await self.close()
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(self.dsn, server_settings={"application_name": self.name})
        for _ in range(3):  # the holder may leave between the two statements: look again
            if take and await self._conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", *LOCK):
                log.info("this process follows the search outbox into %s", self.index_dir)
                return None
            holder = await self._conn.fetchval(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2 AND l.granted "
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())", *LOCK)
            if holder is not None or not take:
                return holder
        return ""

    def _same(self, holder: str) -> bool:
        return holder.startswith(PREFIX + self.id + " ")

    def refusal(self, holder: str) -> str:
        other = holder[len(PREFIX):] if holder.startswith(PREFIX) else "unknown"
        return (f"Another host's Whoosh index (id and host: {other}) already follows this database's search outbox, "
                f"so this one (INDEX_DIR={self.index_dir}, id {self.id}) would miss changes. A Whoosh index serves one "
                "host: with several hosts set SEARCH_BACKEND=postgres on every host (README: Several hosts), "
                "or run this server on the machine that holds that index.")

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close(timeout=2)
            except Exception:
                conn.terminate()
