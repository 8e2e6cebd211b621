"""`run.py doctor`: a healthy deployment passes; a migration not applied, an index out of step with the
database and a missing database index are each reported with how to fix them (exit status 1)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from community import db, doctor, questions
from community.config import Config
from search.backend import WhooshBackend
from search.indexer import Indexer
from tests.browser import ROOT

SECRET = "doctor-test-secret-that-is-long-enough-to-pass"


@pytest.fixture
async def healthy(config: Config, database: str, users) -> Config:
    """A small community with its Whoosh index rebuilt: everything in step."""
    config.secret_key, config.embeddings = SECRET, False
    author = await users("asker", 10)
    for title in ("Roaming charges in France", "eSIM after a phone reset", "Porting my number to a new SIM"):
        await questions.ask(author, title, f"Details about {title.lower()}, please.", "help")
    await Indexer(WhooshBackend(config.index_dir)).reindex()
    return config


def _problem(report: doctor.Report, name: str) -> doctor.Check:
    found = report.problems(name)
    assert len(found) == 1, report.text()
    return found[0]


async def test_a_healthy_deployment_passes(healthy: Config) -> None:
    report = await doctor.run_checks(healthy, connect=False)
    assert report.healthy, report.text()
    text = report.text()
    assert "3 indexed, 3 in the database" in text and "Everything checked is fine." in text


async def test_a_migration_not_applied_is_reported_with_the_fix(healthy: Config) -> None:
    row = (await db.fetch("SELECT app, name, applied_at FROM tortoise_migrations WHERE app = ? AND name = ?",
                          ["community", "0010_user_identity"]))[0]
    await db.execute("DELETE FROM tortoise_migrations WHERE app = ? AND name = ?", ["community", "0010_user_identity"])
    try:
        report = await doctor.run_checks(healthy, connect=False)
    finally:  # the PostgreSQL test database is shared by later tests
        await db.execute("INSERT INTO tortoise_migrations (app, name, applied_at) VALUES (?, ?, ?)",
                         [row["app"], row["name"], row["applied_at"]])
    check = _problem(report, "migrations")
    assert "community.0010_user_identity" in check.detail
    assert "python run.py migrate" in check.fix
    assert not report.healthy


async def test_an_index_out_of_step_is_reported_with_the_fix(healthy: Config, users) -> None:
    author = await users("late", 10)
    late = await questions.ask(author, "Voicemail stopped working", "Nobody can leave me a message.", "voicemail")
    await db.execute("DELETE FROM search_outbox")  # the change never reached the indexer (an outbox lost by hand)
    report = await doctor.run_checks(healthy, connect=False)
    count = _problem(report, "questions")
    assert "the index holds 3 questions, the database 4" in count.detail
    assert "python run.py reindex" in count.fix
    sample = _problem(report, "sample")
    assert str(late.id) in sample.detail

    await Indexer(WhooshBackend(healthy.index_dir)).reindex()
    first = (await db.fetch("SELECT MIN(id) AS id FROM post WHERE kind = 'question'"))[0]["id"]
    await db.execute("UPDATE post SET title = ? WHERE id = ?", ["Roaming charges in Spain", first])  # behind search's back
    report = await doctor.run_checks(healthy, connect=False)
    assert not report.problems("questions")
    assert str(first) in _problem(report, "sample").detail


async def test_a_missing_database_index_is_reported_with_the_fix(healthy: Config) -> None:
    wanted = doctor.expected_indexes(db.dialect())
    model_index = next(name for name, how in sorted(wanted.items()) if how.startswith("CREATE"))
    dropped = {model_index: wanted[model_index],
               "post_author_kind": "CREATE INDEX post_author_kind ON post (author_id, kind)"}  # made by a migration
    for name in dropped:
        await db.execute(f"DROP INDEX {name}")
    try:
        report = await doctor.run_checks(healthy, connect=False)
    finally:  # the PostgreSQL test database is shared by later tests
        for statement in dropped.values():
            await db.execute(statement.rstrip(";"))
    check = _problem(report, "indexes")
    assert "2 missing" in check.detail and model_index in check.detail and "post_author_kind" in check.detail
    assert "community.0008_nudge_indexes" in check.detail
    assert wanted[model_index] in check.fix  # the statement that recreates it


def test_the_command_exits_0_when_healthy_and_1_with_a_problem(healthy: Config, tmp_path) -> None:
    env = {**os.environ, "DATABASE_URL": healthy.database_url, "INDEX_DIR": str(healthy.index_dir),
           "VAR_DIR": str(tmp_path / "var"), "SECRET_KEY": SECRET, "EMBEDDINGS": "0", "WORKERS": "1",
           "BASE_URL": "http://127.0.0.1:8000", "SMTP_URL": "", "SUPPORT_WEBHOOK_URL": ""}
    ok = subprocess.run([sys.executable, "run.py", "doctor"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Everything checked is fine." in ok.stdout
    env["BASE_URL"] = "http://community.example.com"  # public, but not https
    bad = subprocess.run([sys.executable, "run.py", "doctor"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "PROBLEM  BASE_URL" in bad.stdout and "https" in bad.stdout
