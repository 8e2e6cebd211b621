"""Browser journeys: the real server in a subprocess and Debian's Chromium driven by Playwright.

Use the `live_server` and `browser_page` fixtures (exported through conftest):
    async def test_x(live_server, browser_page): await browser_page.goto(live_server.url + "/")
`phone_page` is the same at 390 px wide.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("Debian's chromium is not installed: run `make test` (it installs it) or apt-get install chromium")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def start_server(database_url: str, tmp_path: Path, env_extra: dict[str, str] | None = None) -> LiveServer:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "browser-test-secret",
           "VAR_DIR": str(tmp_path / "var"), "INDEX_DIR": str(tmp_path / "index"), "DEMO_DATA": "0",
           "BASE_URL": f"http://127.0.0.1:{port}", "PYTHONUNBUFFERED": "1", **(env_extra or {})}
    log_path = tmp_path / f"server-{port}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "community.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log_path.read_text()}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return LiveServer(url, proc, log_path)
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server did not start:\n{log_path.read_text()}")


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture
def live_server_env() -> dict[str, str]:
    """Override in a test module to pass settings to the server (e.g. SLA_FIRST_ANSWER)."""
    return {}


@pytest.fixture
async def live_server(database, tmp_path: Path, live_server_env: dict[str, str]) -> AsyncIterator[LiveServer]:
    server = start_server(database, tmp_path, live_server_env)
    yield server
    stop_server(server)


@pytest.fixture
async def browser() -> AsyncIterator:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        yield b
        await b.close()


@pytest.fixture
async def browser_page(browser) -> AsyncIterator:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(15000)
    yield page
    await context.close()


@pytest.fixture
async def phone_page(browser) -> AsyncIterator:
    context = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = await context.new_page()
    page.set_default_timeout(15000)
    yield page
    await context.close()


async def new_page(browser, phone: bool = False):
    """A second person in the same journey gets their own context (cookies)."""
    if phone:
        context = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    else:
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(15000)
    return page


async def assert_fits_width(page) -> None:
    """Nothing on the page is wider than the viewport (no sideways scrolling on a phone)."""
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"page is {overflow}px wider than the {page.viewport_size['width']}px viewport"


async def log_in(page, url: str, name: str, password: str = "password123") -> None:
    """Log in through the real form and wait for the home page."""
    await page.goto(url + "/login")
    await page.get_by_label("Username").fill(name)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(url + "/")
