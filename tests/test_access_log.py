"""The access log: one key=value line per request with the route's template (never the path), the
status, the time taken and a request id; on by default for `run.py serve`, off with ACCESS_LOG=0."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from community.app import create_app
from community.config import Config
from tests.browser import ROOT, free_port

LINE = re.compile(r"time=\S+Z method=(\S+) route=(\S+) status=(\S+) ms=(\d+\.\d) id=([0-9a-f]{12}|\S+)$")


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def access_lines():
    handler = Lines()
    logger = logging.getLogger("community.access")
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


async def _client(config: Config, env: dict[str, str]) -> httpx.AsyncClient:
    config.extra = env
    app = create_app(config, manage_db=False, background=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_one_line_per_request_with_the_route_template(config, database, users, access_lines) -> None:
    from community import questions

    author = await users("asker", 10)
    question = await questions.ask(author, "Roaming charges in France", "Do I pay extra for data in France?", "roaming")
    async with await _client(config, {"ACCESS_LOG": "1"}) as client:
        thread = await client.get(f"/questions/{question.id}/roaming-charges-in-france")
        missing = await client.get("/no/such/page")
        api = await client.get(f"/api/v1/questions/{question.id}", headers={"X-Request-ID": "lb-7f3a"})
        await client.get("/healthz")  # a successful probe writes no line
    assert thread.status_code == 200 and missing.status_code == 404 and api.status_code == 200
    parsed = [LINE.match(line) for line in access_lines]
    assert all(parsed), access_lines
    assert [m.groups()[:3] for m in parsed] == [
        ("GET", "/questions/{question_id}/{slug}", "200"),
        ("GET", "-", "404"),
        ("GET", "/api/v1/questions/{question_id}", "200"),
    ]
    assert parsed[2].group(5) == "lb-7f3a" and api.headers["x-request-id"] == "lb-7f3a"
    assert thread.headers["x-request-id"] == parsed[0].group(5)  # a fresh id, sent back to the client
    assert "roaming" not in "".join(access_lines)  # the path itself (slug, search words) is never logged


async def test_access_log_0_writes_nothing(config, database, access_lines) -> None:
    async with await _client(config, {"ACCESS_LOG": "0"}) as client:
        assert (await client.get("/questions")).status_code == 200
    async with await _client(config, {}) as client:  # the app outside `serve` logs only when asked
        assert (await client.get("/questions")).status_code == 200
    assert access_lines == []


def _serve(database_url: str, tmp_path: Path, extra: dict[str, str]) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "access-log-test-secret",
           "VAR_DIR": str(tmp_path / "var"), "INDEX_DIR": str(tmp_path / "index"), "DEMO_DATA": "0",
           "EMBEDDINGS": "0", "RUN_INDEXER": "0", "RUN_SWEEPER": "0", "PYTHONUNBUFFERED": "1", **extra}
    if "ACCESS_LOG" not in extra:
        env.pop("ACCESS_LOG", None)  # serve's own default
    log_path = tmp_path / f"serve-{port}.log"
    proc = subprocess.Popen([sys.executable, "run.py", "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=log_path.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        if proc.poll() is not None:
            raise AssertionError(f"serve exited early:\n{log_path.read_text()}")
        try:
            httpx.get(url + "/healthz", timeout=1)
            return proc, url, log_path
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"serve did not start:\n{log_path.read_text()}")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("setting", [None, "0"])
async def test_serve_logs_by_default_and_access_log_0_silences(database, tmp_path, setting) -> None:
    proc, url, log_path = _serve(database, tmp_path, {} if setting is None else {"ACCESS_LOG": setting})
    try:
        assert httpx.get(url + "/questions", timeout=10).status_code == 200
        assert httpx.get(url + "/tags", timeout=10).status_code == 200
    finally:
        _stop(proc)
    lines = [line for line in log_path.read_text().splitlines() if line.startswith("time=")]
    if setting == "0":
        assert lines == []
    else:
        assert [LINE.match(line).group(2, 3) for line in lines] == [("/questions", "200"), ("/tags", "200")], lines
