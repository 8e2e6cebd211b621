"""Schema changes go through Tortoise's migrations: `run.py migrate` upgrades a database that
already holds rows without losing them, and the migrations on disk describe the models exactly."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from tortoise import Tortoise
from tortoise.migrations.api import migrate as tortoise_migrate
from tortoise.migrations.autodetector import MigrationAutodetector

from community import db
from community.config import ROOT
from tests.conftest import PG_URL

WHEN = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def _run_migrate(url: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "test-secret", "VAR_DIR": str(tmp_path / "var"), "DEMO_DATA": "0"}
    done = subprocess.run([sys.executable, str(ROOT / "run.py"), "migrate"], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Database is up to date." in done.stdout
    return done


@pytest.fixture
async def empty_database(tmp_path: Path) -> AsyncIterator[str]:
    """A database with no tables at all: a new SQLite file, or a new PostgreSQL database beside the test one."""
    if not PG_URL:
        yield f"sqlite://{tmp_path / 'empty.sqlite3'}"
        return
    import asyncpg

    name = f"community_migrations_{uuid.uuid4().hex[:8]}"
    server = db.normalise_url(PG_URL).replace("postgres://", "postgresql://", 1)
    admin_url = server.rsplit("/", 1)[0] + "/postgres"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    yield PG_URL.rsplit("/", 1)[0] + "/" + name
    await Tortoise.close_connections()
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def _table_columns(table: str) -> dict[str, bool]:
    """Column name -> whether an insert may leave it out (nullable, defaulted or generated)."""
    if db.dialect() == "sqlite":
        rows = await db.fetch(f'PRAGMA table_info("{table}")')
        return {r["name"]: not r["notnull"] or r["dflt_value"] is not None or bool(r["pk"]) for r in rows}
    rows = await db.fetch("SELECT column_name, is_nullable, column_default, is_generated FROM information_schema.columns "
                          "WHERE table_schema = 'public' AND table_name = ?", [table])
    return {r["column_name"]: r["is_nullable"] == "YES" or r["column_default"] is not None or r["is_generated"] == "ALWAYS"
            for r in rows}


async def test_migrate_upgrades_a_database_from_the_first_migrations_and_keeps_its_rows(empty_database, tmp_path):
    # A database as the first release left it: only each room's 0001 migration applied.
    config = db.tortoise_config(empty_database)
    for label in db.APPS:
        await tortoise_migrate(config=config, target=f"{label}.0001_initial")
        await Tortoise.close_connections()

    await db.init(empty_database)
    await db.execute('INSERT INTO "user" (username, email, role, reputation, about, created_at, suspension_reason) '
                     "VALUES (?, ?, ?, ?, ?, ?, ?)", ["early", "early@example.com", "member", 26, "Here first.", WHEN, ""])
    uid = (await db.fetch("SELECT id FROM \"user\" WHERE username = 'early'"))[0]["id"]
    post_columns = "kind, author_id, title, body, body_html, score, created_at, last_activity_at, official, tag_names, state, answer_count, view_count, locked, hidden"
    values = "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
    await db.execute(f"INSERT INTO post ({post_columns}) VALUES ({values})",
                     ["question", uid, "Kept across the upgrade", "Body.", "<p>Body.</p>", 3, WHEN, WHEN, False, "esim", "answered", 1, 0, False, False])
    qid = (await db.fetch("SELECT id FROM post WHERE kind = 'question'"))[0]["id"]
    await db.execute("INSERT INTO reputation_event (user_id, amount, reason, ref, created_at, day) VALUES (?, ?, ?, ?, ?, ?)",
                     [uid, 25, "earlier_history", "test:early", WHEN, WHEN.date()])
    await Tortoise.close_connections()

    _run_migrate(empty_database, tmp_path)
    _run_migrate(empty_database, tmp_path)  # a second run is a no-op

    from community.models import Post, ReputationEvent, User

    await db.init(empty_database)
    try:
        user = await User.get(username="early")  # the ORM reads every current column, new ones included
        assert (user.email, user.reputation, user.about) == ("early@example.com", 26, "Here first.")
        question = await Post.get(id=qid)
        assert (question.title, question.score, question.state, question.author_id) == ("Kept across the upgrade", 3, "answered", uid)
        assert question.created_at == WHEN
        assert [e.amount for e in await ReputationEvent.filter(user_id=uid)] == [25]
        await _assert_schema_matches_models()
    finally:
        await Tortoise.close_connections()


async def test_migrate_on_a_database_in_use_keeps_every_row(database, users, tmp_path):
    from community import acceptance, questions, voting
    from community.models import Post, ReputationEvent, User, Vote

    asker, helper, voter = await users("asker"), await users("helper"), await users("voter", 200)
    q = await questions.ask(asker, "Roaming charges after coming home", "I was charged roaming for a day at home.", ["roaming"])
    a = await questions.answer(helper, q.id, "Ask billing to refund the day; it happens near borders.")
    await voting.vote(voter, a.id, 1)
    await acceptance.accept(asker, q.id, a.id)
    before = {m.__name__: await m.all().count() for m in (User, Post, Vote, ReputationEvent)}

    _run_migrate(database, tmp_path)

    assert {m.__name__: await m.all().count() for m in (User, Post, Vote, ReputationEvent)} == before
    assert (await User.get(id=helper.id)).reputation == 26
    assert (await Post.get(id=q.id)).accepted_answer_id == a.id


async def _assert_schema_matches_models() -> None:
    """Every model's table has every column of the model; any other column (a room's database-side
    extra, such as PostgreSQL full-text columns) must not get in the way of the ORM's inserts."""
    problems = []
    for label, models in Tortoise.apps.items():
        for model in models.values():
            meta = model._meta
            wanted = set(meta.fields_db_projection.values())
            have = await _table_columns(meta.db_table)
            missing = sorted(wanted - set(have))
            blocking = sorted(c for c in set(have) - wanted if not have[c])
            if missing or blocking:
                problems.append(f"{label}.{model.__name__} ({meta.db_table}): missing {missing}, extra required {blocking}")
    assert not problems, "\n".join(problems)


async def test_migrations_on_a_fresh_database_match_the_models_and_makemigrations_finds_nothing(empty_database):
    await db.migrate(empty_database)
    await db.init(empty_database)
    try:
        await _assert_schema_matches_models()
        # What `tortoise makemigrations` would do, without writing files: compare the models with
        # the state the migrations on disk build.
        apps_config = db.tortoise_config(empty_database)["apps"]
        pending = await MigrationAutodetector(Tortoise.apps, apps_config).changes()
        assert not pending, [f"{w.app_label} models differ from its migrations: {[(type(op).__name__, getattr(op, 'name', '')) for op in w.operations]}" for w in pending]
    finally:
        await Tortoise.close_connections()
