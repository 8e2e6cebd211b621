"""On PostgreSQL, the roll-ups follow each statement, not each row.

0001's row-level triggers upsert the same few roll-up rows (a day, a month's wait bucket, a member's
month) once per changed row: a batch of 500 questions rewrote one `insights_day` row up to 500 times
in one transaction, each rewrite a new row version and new index entries, so bulk writes (the Stack
Exchange importer, the sweeper) slowed down as the roll-up rows bloated. These triggers see the
statement's rows as transition tables, add up the changes per roll-up row, and write each roll-up
row once per statement. SQLite keeps 0001's row-level triggers (it rewrites rows in place).

PostgreSQL allows transition tables only on single-event triggers without a column list, hence one
trigger per event on each table, sharing one function that branches on `TG_OP`.
"""

import importlib

from tortoise import migrations
from tortoise.migrations import operations as ops

base = importlib.import_module("community.insights.migrations.0001_initial")

# (table, function): the function and its triggers (one per event in EVENTS) share the name.
TRIGGERS = (("post", "insights_question_sync"), ("insights_question", "insights_rollup_sync"),
            ("support_ticket", "insights_ticket_sync"), ("reputation_event", "insights_contribution_sync"))
EVENTS = {"post": ("INSERT", "UPDATE", "DELETE"), "insights_question": ("INSERT", "UPDATE", "DELETE"),
          "support_ticket": ("INSERT", "UPDATE", "DELETE"), "reputation_event": ("INSERT", "DELETE")}
TRANSITIONS = {"INSERT": "NEW TABLE AS new_rows", "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
               "DELETE": "OLD TABLE AS old_rows"}


def _changed(columns: str, old: str, new: str) -> str:
    names = columns.split(", ")
    return f"({', '.join(old + '.' + c for c in names)}) IS DISTINCT FROM ({', '.join(new + '.' + c for c in names)})"


def _upsert(table: str, columns: str, key: str, added: str, select: str) -> str:
    return (f"INSERT INTO {table} ({columns}) {select} ON CONFLICT ({key}) DO UPDATE SET "
            + ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in added.split(", ")))


def _rollups(deltas: str) -> str:
    """Statements adding up the facts in `deltas` (a query of insights_question rows with a sign
    `s`, +1 or -1) into the roll-ups, one upsert per roll-up table and statement."""
    with_d = f"WITH d AS ({deltas}) "
    out = [with_d + _upsert(
        "insights_day", "day, asked, answered, within_hour, solved", "day", "asked, answered, within_hour, solved",
        "SELECT day, SUM(s), SUM(CASE WHEN first_wait_ms IS NOT NULL THEN s ELSE 0 END), "
        "SUM(CASE WHEN first_wait_ms < 3600000 THEN s ELSE 0 END), SUM(CASE WHEN solution_wait_ms IS NOT NULL THEN s ELSE 0 END) "
        "FROM d WHERE visible GROUP BY day")]
    for measure, column in (("first", "first_wait_ms"), ("solution", "solution_wait_ms")):
        only = f" AND {column} IS NOT NULL" if measure == "solution" else ""
        for span in ("day", "month"):
            out.append(with_d + _upsert(
                "insights_wait", "measure, span, period, bucket, n", "measure, span, period, bucket", "n",
                f"SELECT '{measure}', '{span}', {span}, {base._bucket(column)}, SUM(s) FROM d WHERE visible{only} GROUP BY 3, 4"))
    month = base._month_of_ms("postgres", "solved_at_ms")
    for span, period in (("month", month), ("year", base._year(month))):
        out.append(with_d + _upsert(
            "insights_contribution", "kind, span, period, user_id, amount", "kind, span, period, user_id", "amount",
            f"SELECT 'accepted', '{span}', {period}, solver_id, SUM(s) FROM d "
            "WHERE visible AND solver_id IS NOT NULL AND solved_at_ms IS NOT NULL GROUP BY 3, 4"))
    return "\n".join(s + ";" for s in out)


def _gains(rows: str, sign: str) -> str:
    month = base._month_of_day("postgres", "day")
    return "\n".join(_upsert(
        "insights_contribution", "kind, span, period, user_id, amount", "kind, span, period, user_id", "amount",
        f"SELECT 'reputation', '{span}', {period}, user_id, {sign}SUM(amount) FROM {rows} WHERE amount <> 0 GROUP BY 3, 4") + ";"
        for span, period in (("month", month), ("year", base._year(month))))


def _bodies() -> dict[str, str]:
    columns = base.FACT_COLUMNS
    fact_updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns.split(", ")[1:])
    facts = base._facts_select("postgres")
    inserted = facts.replace("FROM post q", "FROM new_rows q") + " WHERE q.kind = 'question'"
    updated = (facts.replace("FROM post q", "FROM new_rows q JOIN old_rows o ON o.id = q.id")
               + f" WHERE q.kind = 'question' AND {_changed(base.WATCHED, 'o', 'q')}")
    fact_upsert = f"INSERT INTO insights_question ({columns}) {{}} ON CONFLICT (question_id) DO UPDATE SET {fact_updates};"

    counted = base.COUNTED
    changed = _changed(counted, "o", "n")
    tickets_follow = ("UPDATE insights_ticket t SET day = n.day, visible = n.visible, solved_officially = n.solved_officially "
                      "FROM new_rows n WHERE t.question_id = n.question_id "
                      "AND (t.day, t.visible, t.solved_officially) IS DISTINCT FROM (n.day, n.visible, n.solved_officially);")

    ticket_columns = base.TICKET_COLUMNS
    ticket_updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in ticket_columns.split(", ")[1:])
    tickets = base._ticket_select("postgres", "t").replace(
        " FROM insights_question f WHERE f.question_id = t.question_id",
        " FROM new_rows t JOIN insights_question f ON f.question_id = t.question_id")
    ticket_upsert = (f"INSERT INTO insights_ticket ({ticket_columns}) {tickets} "
                     f"ON CONFLICT (ticket_id) DO UPDATE SET {ticket_updates};")
    return {
        "insights_question_sync": (
            f"  IF TG_OP = 'INSERT' THEN {fact_upsert.format(inserted)}\n"
            f"  ELSIF TG_OP = 'UPDATE' THEN {fact_upsert.format(updated)}\n"
            "  ELSE DELETE FROM insights_question WHERE question_id IN (SELECT id FROM old_rows WHERE kind = 'question');\n"
            "  END IF;"),
        "insights_rollup_sync": (
            f"  IF TG_OP = 'INSERT' THEN\n{_rollups('SELECT *, 1 AS s FROM new_rows')}\n{tickets_follow}\n"
            f"  ELSIF TG_OP = 'DELETE' THEN\n{_rollups('SELECT *, -1 AS s FROM old_rows')}\n"
            "  ELSE\n"
            + _rollups(f"SELECT n.*, 1 AS s FROM new_rows n JOIN old_rows o USING (question_id) WHERE {changed} "
                       f"UNION ALL SELECT o.*, -1 AS s FROM old_rows o JOIN new_rows n USING (question_id) WHERE {changed}")
            + f"\n{tickets_follow}\n  END IF;"),
        "insights_ticket_sync": (
            "  IF TG_OP = 'DELETE' THEN DELETE FROM insights_ticket WHERE ticket_id IN (SELECT id FROM old_rows);\n"
            f"  ELSE {ticket_upsert} END IF;"),
        "insights_contribution_sync": (
            f"  IF TG_OP = 'DELETE' THEN\n{_gains('old_rows', '-')}\n  ELSE\n{_gains('new_rows', '')}\n  END IF;"),
    }


def _function(name: str, body: str) -> str:
    return f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n{body}\n  RETURN NULL;\nEND $$"


def _drop_statement_triggers() -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {name}_{event.lower()} ON {table}"
            for table, name in TRIGGERS for event in EVENTS[table]]


async def install(apps, state_editor) -> None:
    client = state_editor.client
    if client.capabilities.dialect != "postgres":
        return
    for sql in base._uninstall_sql("postgres"):
        await client.execute_script(sql)
    bodies = _bodies()
    for table, name in TRIGGERS:
        await client.execute_script(_function(name, bodies[name]))
        for event in EVENTS[table]:
            await client.execute_script(
                f"CREATE TRIGGER {name}_{event.lower()} AFTER {event} ON {table} REFERENCING {TRANSITIONS[event]} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()")


async def uninstall(apps, state_editor) -> None:
    """Back to 0001's row-level triggers (the roll-ups are already in step, so no backfill)."""
    client = state_editor.client
    if client.capabilities.dialect != "postgres":
        return
    for sql in _drop_statement_triggers() + [f"DROP FUNCTION IF EXISTS {name}()" for _, name in TRIGGERS]:
        await client.execute_script(sql)
    for sql in base._install_sql("postgres"):
        if sql.startswith("CREATE"):
            await client.execute_script(sql)


class Migration(migrations.Migration):
    dependencies = [("insights", "0001_initial")]

    initial = False

    operations = [ops.RunPython(install, uninstall)]
