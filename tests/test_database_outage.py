"""PostgreSQL stops under a running `run.py serve`: pages answer a readable 503, the API a JSON 503,
the log says so once; PostgreSQL starts again: the same server answers again, and what was posted
before the outage is still there.

The test runs its own throwaway PostgreSQL cluster (initdb and pg_ctl, as tests/with_postgres.sh
does), so it can stop and start it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from whoosh.util.filelock import FileLock

from tests.browser import ROOT, free_port


def _pg_bin() -> Path | None:
    given = os.environ.get("PG_BIN")
    if given:
        return Path(given)
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    if found:
        return found[-1]
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@dataclass
class Cluster:
    bin: Path
    data: Path
    log: Path
    port: int

    def _as_pg(self, *args: str) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        self._as_pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-o",
                    f"-p {self.port} -k {self.data.parent} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def stop(self) -> None:
        self._as_pg("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def running(self) -> bool:
        try:
            self._as_pg("pg_ctl", "-D", str(self.data), "status")
            return True
        except subprocess.CalledProcessError:
            return False

    def createdb(self, name: str) -> str:
        self._as_pg("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/outage"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    pg_bin = _pg_bin()
    if pg_bin is None or not (pg_bin / "initdb").exists():
        pytest.skip("PostgreSQL's server binaries (initdb, pg_ctl) are not installed: apt-get install postgresql, "
                    "or set PG_BIN to their folder")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: PostgreSQL refuses to run as root")
    root = Path(tempfile.mkdtemp(prefix="community-outage-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    found = Cluster(pg_bin, root / "data", root / "postgres.log", free_port())
    try:
        found._as_pg("initdb", "-D", str(found.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        found.start()
        found._as_pg("createdb", "-h", "127.0.0.1", "-p", str(found.port), "-U", "postgres", "outage")
        yield found
    finally:
        subprocess.run(["runuser", "-u", "postgres", "--", str(pg_bin / "pg_ctl"), "-D", str(found.data), "-m",
                        "immediate", "stop"] if os.geteuid() == 0 else
                       [str(pg_bin / "pg_ctl"), "-D", str(found.data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def _env(cluster: Cluster, tmp_path: Path, port: int) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": cluster.url, "SECRET_KEY": "outage-test-secret-outage-test-secret",
            "VAR_DIR": str(tmp_path / "var"), "INDEX_DIR": str(tmp_path / "index"), "DEMO_DATA": "0",
            "EMBEDDINGS": "0", "RUN_INDEXER": "0", "RUN_SWEEPER": "0", "PAGE_CACHE": "0",
            "BASE_URL": f"http://127.0.0.1:{port}", "PYTHONUNBUFFERED": "1"}


@contextlib.contextmanager
def _serving(env: dict[str, str], port: int, log_path: Path) -> Iterator[subprocess.Popen]:
    """`run.py serve` in a process of its own, once /healthz answers (the process is up)."""
    proc = subprocess.Popen([sys.executable, "run.py", "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=log_path.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if proc.poll() is not None:
                raise AssertionError(f"serve exited early:\n{log_path.read_text()}")
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError(f"serve did not start:\n{log_path.read_text()}")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _create_keeper(env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "run.py", "create-user", "--username", "keeper", "--password", "password123",
                    "--role", "admin"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)


@pytest.fixture
def server(cluster: Cluster, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """With the background loops on: the search indexer (Whoosh, the default), the escalation
    sweeper every second, the mail sender and digest schedule (SMTP_URL), the settings follower."""
    port = free_port()
    env = {**_env(cluster, tmp_path, port), "RUN_INDEXER": "1", "RUN_SWEEPER": "1", "ESCALATION_SWEEP_SECONDS": "1",
           "SMTP_URL": f"smtp://127.0.0.1:{free_port()}"}
    log_path = tmp_path / "serve.log"
    with _serving(env, port, log_path):
        _create_keeper(env)
        yield f"http://127.0.0.1:{port}", log_path


async def test_the_server_pool_has_its_size_and_statement_timeout(cluster: Cluster) -> None:
    """The web server's pool: DB_POOL_SIZE connections at most, and a statement past
    DB_STATEMENT_TIMEOUT_MS is stopped by PostgreSQL and recognised as "too slow" (a 503)."""
    from tortoise import Tortoise, connections

    from community import db, dbpool, outage

    pool = dbpool.PoolSettings.for_server({"WORKERS": "3", "DB_STATEMENT_TIMEOUT_MS": "300"})
    assert pool.size == dbpool.default_pool_size(3) == 10
    assert dbpool.PoolSettings.for_server({"WORKERS": "16"}).size == 5  # 16 x 5 = 80 connections in all
    await db.init(cluster.url, pool)
    try:
        rows = await db.fetch("SHOW statement_timeout")
        assert rows[0]["statement_timeout"] == "300ms"
        assert (await db.fetch("SHOW jit"))[0]["jit"] == "off"
        assert (await db.fetch("SHOW max_parallel_workers_per_gather"))[0]["max_parallel_workers_per_gather"] == "0"
        assert connections.get("default")._pool.get_max_size() == 10
        with pytest.raises(Exception) as stopped:
            await db.fetch("SELECT pg_sleep(5)")
        assert outage.kind(stopped.value) == outage.TOO_SLOW
    finally:
        await Tortoise.close_connections()
    await db.init(cluster.url)  # a command's pool: no statement timeout
    try:
        assert (await db.fetch("SHOW statement_timeout"))[0]["statement_timeout"] == "0"
        assert (await db.fetch("SHOW jit"))[0]["jit"] == "off"
        assert (await db.fetch("SHOW max_parallel_workers_per_gather"))[0]["max_parallel_workers_per_gather"] == "2"
    finally:
        await Tortoise.close_connections()


def test_database_outage_503_then_recovery_with_nothing_lost(cluster: Cluster, server: tuple[str, Path]) -> None:
    url, log_path = server
    http = httpx.Client(base_url=url, timeout=30)
    token = http.post("/api/v1/tokens", json={"username": "keeper", "password": "password123"})
    assert token.status_code == 201, token.text
    auth = {"Authorization": f"Bearer {token.json()['token']}"}
    posted = http.post("/api/v1/questions", headers=auth, json={
        "title": "Does my eSIM survive a phone reset?", "body": "I am about to wipe my phone. Will the eSIM stay?",
        "tags": ["esim"]})
    assert posted.status_code == 201, posted.text
    question_id = posted.json()["id"]
    assert http.get("/readyz").json()["database"] == "ok"
    # A question asked just before the stop, which the indexer cannot take before it: this test holds
    # the Whoosh index's indexer lock (search/indexer.py) until PostgreSQL is stopped.
    indexer_lock = FileLock(str(log_path.parent / "index" / "INDEXER"))
    assert indexer_lock.acquire(blocking=True)
    late = http.post("/api/v1/questions", headers=auth, json={
        "title": "Why did my quokkaphone number port fail?", "body": "The port request was refused twice this week.",
        "tags": ["porting"]})
    assert late.status_code == 201, late.text
    assert "quokkaphone" not in http.get("/api/v1/search", params={"q": "quokkaphone"}).text  # waits in the outbox

    cluster.stop()
    indexer_lock.release()

    page = http.get("/questions")
    assert page.status_code == 503
    assert "can&#39;t reach its database right now" in page.text
    assert "<h1>Try again soon</h1>" in page.text
    assert page.headers["retry-after"]
    thread = http.get(f"/questions/{question_id}")
    assert thread.status_code == 503
    api = http.get(f"/api/v1/questions/{question_id}")
    assert api.status_code == 503
    assert api.json()["error"]["code"] == "unavailable" and "database" in api.json()["error"]["message"]
    assert api.headers["retry-after"]
    write = http.post(f"/api/v1/questions/{question_id}/answers", headers=auth,
                      json={"body": "Yes, unless you choose to erase the eSIM too."})
    assert write.status_code == 503 and write.json()["error"]["code"] == "unavailable"
    ready = http.get("/readyz")
    assert ready.status_code == 503 and ready.json()["database"].startswith("unreachable")
    assert http.get("/healthz").status_code == 200  # the process itself is fine
    # Let every loop meet the outage (the sweeper and the settings follower look every second, the
    # indexer every quarter second): each says nothing more than the one shared line.
    time.sleep(3)
    log = log_path.read_text()
    assert log.count("database unreachable") == 1, log  # one line, not one per request or per loop round
    assert "Traceback" not in log, log

    cluster.start()

    page = http.get("/questions")  # the same server, not restarted: the pool connects again by itself
    assert page.status_code == 200
    assert "Does my eSIM survive a phone reset?" in page.text  # posted before the outage: still there
    again = http.get(f"/api/v1/questions/{question_id}")
    assert again.status_code == 200 and again.json()["title"] == "Does my eSIM survive a phone reset?"
    answered = http.post(f"/api/v1/questions/{question_id}/answers", headers=auth,
                         json={"body": "Yes, unless you choose to erase the eSIM too."})
    assert answered.status_code == 201, answered.text
    assert http.get("/readyz").status_code == 200
    # The indexer recovered by itself: the question asked just before the stop is found.
    found = ""
    for _ in range(300):
        found = http.get("/api/v1/search", params={"q": "quokkaphone"}).text
        if "Why did my quokkaphone number port fail?" in found:
            break
        time.sleep(0.2)
    assert "Why did my quokkaphone number port fail?" in found, log_path.read_text()
    # Each loop that met the outage says once that it carries on; none logged a traceback.
    for loop in ("the search indexer", "the escalation sweeper", "the settings follower"):
        line = f"database reachable again: {loop} carries on"
        for _ in range(150):
            if line in log_path.read_text():
                break
            time.sleep(0.2)
        assert log_path.read_text().count(line) == 1, log_path.read_text()
    assert "Traceback" not in log_path.read_text(), log_path.read_text()


def test_serve_starts_while_the_database_is_down_and_gets_ready_when_it_is_back(cluster: Cluster, tmp_path: Path) -> None:
    """`run.py serve` with PostgreSQL stopped (and a new, empty database): it starts, says so in one
    line, /healthz 200, /readyz and pages 503; PostgreSQL starts: the same server migrates, loads its
    settings, starts its rooms (the indexer among them) and serves, with no restart."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**_env(cluster, tmp_path, port), "DATABASE_URL": cluster.createdb("late"), "RUN_INDEXER": "1"}
    log_path = tmp_path / "serve.log"
    cluster.stop()
    try:
        with _serving(env, port, log_path):
            http = httpx.Client(base_url=url, timeout=30)
            ready = http.get("/readyz")
            assert ready.status_code == 503, ready.text
            assert ready.json()["startup"] == "waiting for the database"
            assert ready.json()["database"].startswith("unreachable")
            page = http.get("/questions")
            assert page.status_code == 503 and "can&#39;t reach its database right now" in page.text
            assert page.headers["retry-after"]
            api = http.get("/api/v1/questions")
            assert api.status_code == 503 and api.json()["error"]["code"] == "unavailable"
            assert http.get("/healthz").status_code == 200
            log = log_path.read_text()
            assert "The database is unreachable" in log and "the server gets ready by itself" in log, log
            assert log.count("database unreachable") == 1, log  # the worker's one line, not one per try
            assert "Traceback" not in log, log

            cluster.start()

            for _ in range(600):
                if http.get("/readyz").status_code == 200:
                    break
                time.sleep(0.2)
            assert http.get("/readyz").json() == {"database": "ok", "search": "ok"}, log_path.read_text()
            assert "the server is ready" in log_path.read_text()
            assert "migration(s) that could not run at start" in log_path.read_text()  # the new database's schema
            assert http.get("/questions").status_code == 200  # migrated by the server itself, settings loaded
            _create_keeper(env)
            token = http.post("/api/v1/tokens", json={"username": "keeper", "password": "password123"})
            auth = {"Authorization": f"Bearer {token.json()['token']}"}
            posted = http.post("/api/v1/questions", headers=auth, json={
                "title": "Does a wallaby plan include roaming?", "body": "Travelling next month, want to be sure.",
                "tags": ["roaming"]})
            assert posted.status_code == 201, posted.text
            found = ""
            for _ in range(150):  # the room startups ran late: the indexer is at work
                found = http.get("/api/v1/search", params={"q": "wallaby"}).text
                if "Does a wallaby plan include roaming?" in found:
                    break
                time.sleep(0.2)
            assert "Does a wallaby plan include roaming?" in found, log_path.read_text()
            assert "Traceback" not in log_path.read_text(), log_path.read_text()
    finally:
        if not cluster.running():
            cluster.start()  # for the tests after this one


async def test_reindex_refuses_when_another_hosts_whoosh_index_owns_the_outbox(cluster: Cluster, tmp_path: Path) -> None:
    """`run.py reindex` on Whoosh takes the outbox claim as `run.py indexer` does: another index
    directory (another host) holding it: a clear refusal, exit status 1, the index left alone; the same
    directory (another worker of this host): it rebuilds."""
    from types import SimpleNamespace

    from search import whoosh_owner

    env = {**_env(cluster, tmp_path, free_port()), "INDEX_DIR": str(tmp_path / "this-host")}
    subprocess.run([sys.executable, "run.py", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)
    other = whoosh_owner.OutboxClaim(SimpleNamespace(index_dir=str(tmp_path / "other-host"), database_url=cluster.url))
    await other.start()
    try:
        refused = subprocess.run([sys.executable, "run.py", "reindex"], cwd=ROOT, env=env, capture_output=True,
                                 text=True, timeout=300)
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert "Another host's Whoosh index" in refused.stderr and "SEARCH_BACKEND=postgres" in refused.stderr
        assert "Traceback" not in refused.stderr
        assert "Indexed" not in refused.stdout
        same = subprocess.run([sys.executable, "run.py", "reindex"], cwd=ROOT,
                              env={**env, "INDEX_DIR": str(tmp_path / "other-host")}, capture_output=True, text=True,
                              timeout=300)
        assert same.returncode == 0, same.stdout + same.stderr
        assert "Indexed" in same.stdout and "threads into whoosh" in same.stdout
    finally:
        await other.close()
    alone = subprocess.run([sys.executable, "run.py", "reindex"], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=300)
    assert alone.returncode == 0, alone.stdout + alone.stderr  # nobody holds it now: this host may


async def test_every_background_loop_says_one_line_in_an_outage_and_carries_on(
        cluster: Cluster, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """The loops a server runs (mail sender, digest schedule, escalation sweeper, webhook sender,
    settings follower), in this process on a real PostgreSQL database that stops: no traceback, one
    shared "database unreachable" line, and once it is back one "carries on" line from each."""
    import asyncio
    import logging

    from tortoise import Tortoise

    from community import db, dbpool, digest, mail, outage, settings
    from community.config import Config
    from community.mail_links import Site
    from community.support import sweeper, webhooks

    url = cluster.createdb("loops")
    await db.migrate(url)
    monkeypatch.setattr(outage, "throttle", outage._Throttle())  # a fresh "one line every 30 s" for this test
    monkeypatch.setattr(webhooks.Target, "url", f"http://127.0.0.1:{free_port()}/hook")  # the hand-off on: it reads its outbox
    config = Config.from_env({**_env(cluster, tmp_path, free_port()), "DATABASE_URL": url,
                              "SMTP_URL": f"smtp://127.0.0.1:{free_port()}"})
    await db.init(url, dbpool.PoolSettings.for_server({}))
    await settings.load()
    caplog.set_level(logging.INFO)
    loops = {"the mail sender": mail.sender_loop(mail.Transport.from_config(config), poll_seconds=0.2),
             "the digest schedule": digest.schedule_loop(Site.from_config(config), every_seconds=0.2),
             "the escalation sweeper": sweeper.sweeper_loop(0.2),
             "the support webhook sender": webhooks.delivery_loop(poll_seconds=0.2),
             "the settings follower": settings.follow(every=0.2)}
    tasks = [asyncio.create_task(loop) for loop in loops.values()]
    try:
        await asyncio.sleep(0.5)  # each loop has had a round with the database there
        cluster.stop()
        for _ in range(10):  # a few rounds each without it (the mail sender is woken as a new mail would)
            mail.wake_event().set()
            await asyncio.sleep(0.2)
        cluster.start()
        for _ in range(300):
            mail.wake_event().set()
            if all(f"database reachable again: {name} carries on" in caplog.text for name in loops):
                break
            await asyncio.sleep(0.1)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await Tortoise.close_connections()
        if not cluster.running():
            cluster.start()
    for name in loops:
        assert caplog.text.count(f"database reachable again: {name} carries on") == 1, caplog.text
    assert caplog.text.count("database unreachable") == 1, caplog.text
    assert "retrying with back-off" in caplog.text
    assert not [r for r in caplog.records if r.exc_info], caplog.text  # no traceback from any loop


def test_loop_guard_backs_off_up_to_ten_seconds_and_says_once_when_back(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    from tortoise.exceptions import DBConnectionError

    from community import outage
    from community.loop_guard import LoopGuard

    monkeypatch.setattr(outage, "throttle", outage._Throttle())
    caplog.set_level(logging.INFO)
    guard = LoopGuard("the test loop")
    pauses = [guard.failed(DBConnectionError("connection refused"), "the test loop failed", 0.25) for _ in range(8)]
    assert pauses == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]
    assert guard.failed(DBConnectionError("connection refused"), "x", 30.0) == 30.0  # a slower loop keeps its pace
    guard.ok()
    guard.ok()
    assert caplog.text.count("database unreachable") == 1
    assert caplog.text.count("database reachable again: the test loop carries on") == 1
    assert not [r for r in caplog.records if r.exc_info]
    assert guard.failed(ValueError("a bug"), "the test loop failed", 2.0) == 2.0  # not an outage: as before
    assert [r.getMessage() for r in caplog.records if r.exc_info] == ["the test loop failed"]
