"""Issue 17: a tag page is an index range of `post_tag`, whatever the tag's size.

A tag page used to take one of two shapes (a walk of the post index probing post_tag, or the tag's
post_tag rows joined to their posts and sorted); either read about sqrt(page x questions) rows for the
tags near the threshold between them: 20 ms of PostgreSQL per page at a million questions, a quarter
of the database's time under the scale load. Now `post_tag` keeps each question's sort keys (created,
last activity, score, state) and whether it is listed (not deleted, not hidden), with an index per
sort that starts with the tag, so a tag page is a range read like a list page
(community/question_lists.py).

The keys follow the question: a trigger on `post` copies them to its post_tag rows when one of them
changes, and one on `post_tag` fills them in for a new row (tags added on asking, editing, importing).
Writers need not know. A bulk load with triggers off (bench/scale_bench.py) runs BACKFILL itself.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

KEYS = ("created_at", "last_activity_at", "score", "state")
INDEXES = (
    ("post_tag_list_created", "tag_id, listed, created_at, post_id"),
    ("post_tag_list_active", "tag_id, listed, last_activity_at, post_id"),
    ("post_tag_list_score", "tag_id, listed, score, post_id"),
    ("post_tag_list_state_created", "tag_id, listed, state, created_at, post_id"),
)
FOLLOWED = KEYS + ("deleted_at", "hidden")  # the question's columns post_tag's copy depends on


def _listed(dialect: str, row: str) -> str:
    condition = f"{row}.deleted_at IS NULL AND NOT {row}.hidden"
    return f"({condition})" if dialect == "postgres" else f"(CASE WHEN {condition} THEN 1 ELSE 0 END)"


def _from_question(dialect: str) -> str:
    """The select list of post_tag's copy (KEYS, then listed) from the question `p`."""
    return f"{', '.join('p.' + k for k in KEYS)}, {_listed(dialect, 'p')}"


def _sqlite_fill(post_id: str) -> str:
    return f"UPDATE post_tag SET ({', '.join(KEYS)}, listed) = (SELECT {_from_question('sqlite')} FROM post p WHERE p.id = {post_id})"


def backfill(dialect: str) -> list[str]:
    """Statements filling every post_tag row's keys from its question (after a load with triggers off)."""
    if dialect == "postgres":
        return ["UPDATE post_tag pt SET " + ", ".join(f"{k} = p.{k}" for k in KEYS)
                + f", listed = {_listed(dialect, 'p')} FROM post p WHERE p.id = pt.post_id"]
    return [_sqlite_fill("post_tag.post_id")]


def _install_sql(dialect: str) -> list[str]:
    pg = dialect == "postgres"
    types = {"created_at": "TIMESTAMPTZ" if pg else "TIMESTAMP", "last_activity_at": "TIMESTAMPTZ" if pg else "TIMESTAMP",
             "score": "INT NOT NULL DEFAULT 0", "state": "VARCHAR(12)", "listed": "BOOLEAN NOT NULL DEFAULT FALSE" if pg else "INT NOT NULL DEFAULT 0"}
    out = [f"ALTER TABLE post_tag ADD COLUMN {name} {kind}" for name, kind in types.items()]
    out += backfill(dialect)
    out += [f"CREATE INDEX {name} ON post_tag ({columns})" for name, columns in INDEXES]
    keys_from_new = ", ".join(f"{k} = NEW.{k}" for k in KEYS)
    if pg:
        changed = f"({', '.join('OLD.' + c for c in FOLLOWED)}) IS DISTINCT FROM ({', '.join('NEW.' + c for c in FOLLOWED)})"
        out += [
            "CREATE FUNCTION post_tag_keys_follow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"UPDATE post_tag SET {keys_from_new}, listed = {_listed(dialect, 'NEW')} WHERE post_id = NEW.id; "
            "RETURN NULL; END $$",
            f"CREATE TRIGGER post_tag_keys_follow AFTER UPDATE OF {', '.join(FOLLOWED)} ON post FOR EACH ROW "
            f"WHEN (NEW.kind = 'question' AND {changed}) EXECUTE FUNCTION post_tag_keys_follow()",
            "CREATE FUNCTION post_tag_keys_fill() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"SELECT {_from_question(dialect)} "
            f"INTO {', '.join('NEW.' + k for k in KEYS)}, NEW.listed FROM post p WHERE p.id = NEW.post_id; "
            "RETURN NEW; END $$",
            "CREATE TRIGGER post_tag_keys_fill BEFORE INSERT ON post_tag FOR EACH ROW EXECUTE FUNCTION post_tag_keys_fill()",
        ]
    else:
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in FOLLOWED)
        out += [
            f"CREATE TRIGGER post_tag_keys_follow AFTER UPDATE OF {', '.join(FOLLOWED)} ON post "
            f"WHEN NEW.kind = 'question' AND ({changed}) BEGIN "
            f"UPDATE post_tag SET {keys_from_new}, listed = {_listed(dialect, 'NEW')} WHERE post_id = NEW.id; END",
            f"CREATE TRIGGER post_tag_keys_fill AFTER INSERT ON post_tag BEGIN {_sqlite_fill('NEW.post_id')} "
            "WHERE post_id = NEW.post_id AND tag_id = NEW.tag_id; END",
        ]
    return out


def _uninstall_sql(dialect: str) -> list[str]:
    if dialect == "postgres":
        out = ["DROP TRIGGER IF EXISTS post_tag_keys_follow ON post", "DROP FUNCTION IF EXISTS post_tag_keys_follow()",
               "DROP TRIGGER IF EXISTS post_tag_keys_fill ON post_tag", "DROP FUNCTION IF EXISTS post_tag_keys_fill()"]
    else:
        out = ["DROP TRIGGER IF EXISTS post_tag_keys_follow", "DROP TRIGGER IF EXISTS post_tag_keys_fill"]
    out += [f"DROP INDEX IF EXISTS {name}" for name, _ in INDEXES]
    return out + [f"ALTER TABLE post_tag DROP COLUMN {name}" for name in KEYS + ("listed",)]


def _run(statements: Callable[[str], list[str]]) -> Callable[..., Awaitable[None]]:
    """A RunPython step running the statements for the database's dialect."""
    async def run(apps: Any, state_editor: Any) -> None:
        for sql in statements(state_editor.client.capabilities.dialect):
            await state_editor.client.execute_script(sql)
    return run


class Migration(migrations.Migration):
    dependencies = [('community', '0015_open_unanswered_index')]

    initial = False

    operations = [ops.RunPython(_run(_install_sql), _run(_uninstall_sql))]
