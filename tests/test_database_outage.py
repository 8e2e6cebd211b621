"""PostgreSQL stops under a running `run.py serve`: pages answer a readable 503, the API a JSON 503,
the log says so once; PostgreSQL starts again: the same server answers again, and what was posted
before the outage is still there.

The test runs its own throwaway PostgreSQL cluster (initdb and pg_ctl, as tests/with_postgres.sh
does), so it can stop and start it.
"""

from __future__ import annotations

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


@pytest.fixture
def server(cluster: Cluster, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    env = _env(cluster, tmp_path, port)
    log_path = tmp_path / "serve.log"
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
        subprocess.run([sys.executable, "run.py", "create-user", "--username", "keeper", "--password", "password123",
                        "--role", "admin"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
        yield url, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
        assert connections.get("default")._pool.get_max_size() == 10
        with pytest.raises(Exception) as stopped:
            await db.fetch("SELECT pg_sleep(5)")
        assert outage.kind(stopped.value) == outage.TOO_SLOW
    finally:
        await Tortoise.close_connections()
    await db.init(cluster.url)  # a command's pool: no statement timeout
    try:
        assert (await db.fetch("SHOW statement_timeout"))[0]["statement_timeout"] == "0"
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

    cluster.stop()

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
    log = log_path.read_text()
    assert log.count("database unreachable") == 1, log  # one line, not one per request
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
    assert "Traceback" not in log_path.read_text()
