"""Fixtures: a real, migrated database per test (SQLite file, or PostgreSQL when
TEST_DATABASE_URL is set), a fake clock, the app behind an ASGI client, and member factories."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tortoise import Tortoise

from community import clock, db, reputation, settings
from community.config import Config
from community.models import User

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
DATASETS = SHARED / "datasets" / "stackexchange"


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {'PostgreSQL ' + PG_URL if PG_URL else 'SQLite (file per test)'}"


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Run the real migrations once: into a template SQLite file, or into the PostgreSQL test database."""
    if PG_URL:
        asyncio.run(_pg_reset_schema())
        asyncio.run(db.migrate(PG_URL))
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    asyncio.run(db.migrate(f"sqlite://{path}"))
    return str(path)


async def _pg_reset_schema() -> None:
    import asyncpg

    conn = await asyncpg.connect(db.normalise_url(PG_URL).replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


async def _pg_truncate() -> None:
    rows = await db.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'tortoise_migrations'"
    )
    if rows:
        names = ", ".join(f'"{r["tablename"]}"' for r in rows)
        await db.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


@pytest.fixture
def database_url(migrated_template: str, tmp_path: Path) -> str:
    if PG_URL:
        return PG_URL
    path = tmp_path / "community.sqlite3"
    shutil.copy(migrated_template, path)
    return f"sqlite://{path}"


@pytest.fixture
def fake_clock() -> clock.FakeClock:
    fake = clock.FakeClock()
    previous = clock.use(fake)
    yield fake
    clock.use(previous)


@pytest.fixture
async def database(database_url: str, fake_clock: clock.FakeClock) -> AsyncIterator[str]:
    await db.init(database_url)
    if PG_URL:
        await _pg_truncate()
    settings.reset_overrides()
    from community.questions import ensure_generation_row

    await ensure_generation_row()
    yield database_url
    settings.reset_overrides()
    await Tortoise.close_connections()


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    return Config(var_dir=tmp_path / "var", database_url=database_url, secret_key="test-secret",
                  index_dir=tmp_path / "index", demo_data=False, page_cache=False,
                  run_indexer=False, run_sweeper=False)


@pytest.fixture
def app(config: Config, database: str):
    from community.app import create_app

    return create_app(config, manage_db=False, background=False)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def make_user(name: str, reputation_points: int = 1, role: str = "member") -> User:
    """A member whose reputation comes from a ledger event, so every invariant still holds."""
    from community import accounts

    user = await accounts.sign_up(name, f"{name}@example.com", "password123", role)
    await User.filter(id=user.id).update(email_confirmed_at=clock.now())  # as if they followed the sign-up mail
    if reputation_points > 1:
        async with db.transaction() as conn:
            await reputation.grant(user.id, reputation_points - 1, "earlier_history", f"test:{name}", None, conn)
            await reputation.refresh_total(user.id, conn)
    return await User.get(id=user.id)


@pytest.fixture
def users():
    return make_user


async def token_for(client: httpx.AsyncClient, name: str, password: str = "password123") -> dict[str, str]:
    r = await client.post("/api/v1/tokens", json={"username": name, "password": password})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def login(client: httpx.AsyncClient, name: str, password: str = "password123") -> str:
    """Log in through the real form; returns the session's CSRF token for later forms."""
    import re

    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = await client.post("/login", data={"username": name, "password": password, "csrf_token": token, "next": "/"})
    assert r.status_code == 303, r.text
    page = await client.get("/questions/ask")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def require_datasets() -> Path:
    if not DATASETS.exists():
        pytest.skip(f"the Stack Exchange datasets are not at {DATASETS} (../shared is absent)")
    return DATASETS


from tests.browser import browser, browser_page, live_server, live_server_env, phone_page  # noqa: E402,F401
