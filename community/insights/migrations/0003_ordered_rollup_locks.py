"""On PostgreSQL, the roll-up triggers lock the shared roll-up rows in one order, and only those they change.

0002's triggers upserted a statement's roll-up rows in whatever order its GROUP BY produced them, and
also rewrote rows whose count did not change (accepting an answer rewrote the question's first-answer
bucket with +0). The per-day and per-month rows are shared by every question of that day or month, so
two writers could lock two of them in opposite orders and deadlock. Now every upsert skips the rows
whose change adds up to zero and takes the others in key order, and each function writes its tables in
one fixed order (facts; day, wait, contribution; tickets). Since the services take the question's row
and its members first (`community.questions.lock_post`), the roll-ups are the last locks a write
takes, and any two writes take the roll-up rows they share in the same order.

Only the functions change; 0002's triggers call them by name.
"""

import importlib

from tortoise import migrations
from tortoise.migrations import operations as ops

base = importlib.import_module("community.insights.migrations.0001_initial")
statement = importlib.import_module("community.insights.migrations.0002_statement_triggers")

CONTRIBUTION = ("insights_contribution", "kind, span, period, user_id, amount", "kind, span, period, user_id", "amount")


def _ordered(select: str, changed: str, order: str) -> str:
    """`select`'s rows whose change is not zero, in key order (`select` names its columns)."""
    return f"SELECT * FROM ({select}) AS r WHERE {changed} ORDER BY {order}"


def _rollups(deltas: str) -> str:
    """Statements adding up the facts in `deltas` (insights_question rows with a sign `s`, +1 or -1)
    into the roll-ups: one upsert per roll-up table and statement, rows in key order."""
    with_d = f"WITH d AS ({deltas}) "
    out = [with_d + statement._upsert(
        "insights_day", "day, asked, answered, within_hour, solved", "day", "asked, answered, within_hour, solved",
        _ordered("SELECT day, SUM(s) AS asked, SUM(CASE WHEN first_wait_ms IS NOT NULL THEN s ELSE 0 END) AS answered, "
                 "SUM(CASE WHEN first_wait_ms < 3600000 THEN s ELSE 0 END) AS within_hour, "
                 "SUM(CASE WHEN solution_wait_ms IS NOT NULL THEN s ELSE 0 END) AS solved FROM d WHERE visible GROUP BY day",
                 "(asked, answered, within_hour, solved) <> (0, 0, 0, 0)", "day"))]
    for measure, column in (("first", "first_wait_ms"), ("solution", "solution_wait_ms")):
        only = f" AND {column} IS NOT NULL" if measure == "solution" else ""
        for span in ("day", "month"):
            out.append(with_d + statement._upsert(
                "insights_wait", "measure, span, period, bucket, n", "measure, span, period, bucket", "n",
                _ordered(f"SELECT '{measure}' AS measure, '{span}' AS span, {span} AS period, {base._bucket(column)} AS bucket, "
                         f"SUM(s) AS n FROM d WHERE visible{only} GROUP BY 3, 4", "n <> 0", "period, bucket")))
    month = base._month_of_ms("postgres", "solved_at_ms")
    for span, period in (("month", month), ("year", base._year(month))):
        out.append(with_d + statement._upsert(*CONTRIBUTION, _ordered(
            f"SELECT 'accepted' AS kind, '{span}' AS span, {period} AS period, solver_id AS user_id, SUM(s) AS amount FROM d "
            "WHERE visible AND solver_id IS NOT NULL AND solved_at_ms IS NOT NULL GROUP BY 3, 4",
            "amount <> 0", "period, user_id")))
    return "\n".join(s + ";" for s in out)


def _gains(rows: str, sign: str) -> str:
    month = base._month_of_day("postgres", "day")
    return "\n".join(statement._upsert(*CONTRIBUTION, _ordered(
        f"SELECT 'reputation' AS kind, '{span}' AS span, {period} AS period, user_id, {sign}SUM(amount) AS amount "
        f"FROM {rows} WHERE amount <> 0 GROUP BY 3, 4", "amount <> 0", "period, user_id")) + ";"
        for span, period in (("month", month), ("year", base._year(month))))


def _bodies() -> dict[str, str]:
    """0002's function bodies, with the roll-ups above and the facts and tickets written in id order."""
    columns = base.FACT_COLUMNS
    fact_updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns.split(", ")[1:])
    facts = base._facts_select("postgres")
    inserted = facts.replace("FROM post q", "FROM new_rows q") + " WHERE q.kind = 'question' ORDER BY q.id"
    updated = (facts.replace("FROM post q", "FROM new_rows q JOIN old_rows o ON o.id = q.id")
               + f" WHERE q.kind = 'question' AND {statement._changed(base.WATCHED, 'o', 'q')} ORDER BY q.id")
    fact_upsert = f"INSERT INTO insights_question ({columns}) {{}} ON CONFLICT (question_id) DO UPDATE SET {fact_updates};"

    changed = statement._changed(base.COUNTED, "o", "n")
    # An UPDATE ... FROM locks in the join's order; the rows to change are picked (and locked) in id order first.
    tickets_follow = ("WITH f AS (SELECT t.ticket_id, n.day, n.visible, n.solved_officially FROM insights_ticket t "
                      "JOIN new_rows n ON t.question_id = n.question_id "
                      "WHERE (t.day, t.visible, t.solved_officially) IS DISTINCT FROM (n.day, n.visible, n.solved_officially) "
                      "ORDER BY t.ticket_id FOR UPDATE OF t) "
                      "UPDATE insights_ticket t SET day = f.day, visible = f.visible, solved_officially = f.solved_officially "
                      "FROM f WHERE t.ticket_id = f.ticket_id;")

    ticket_columns = base.TICKET_COLUMNS
    ticket_updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in ticket_columns.split(", ")[1:])
    tickets = base._ticket_select("postgres", "t").replace(
        " FROM insights_question f WHERE f.question_id = t.question_id",
        " FROM new_rows t JOIN insights_question f ON f.question_id = t.question_id ORDER BY t.id")
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


async def _replace_functions(state_editor, bodies: dict[str, str]) -> None:
    client = state_editor.client
    if client.capabilities.dialect != "postgres":
        return  # SQLite keeps 0001's row triggers: one writer at a time, nothing to deadlock
    for _, name in statement.TRIGGERS:
        await client.execute_script(statement._function(name, bodies[name]))


async def install(apps, state_editor) -> None:
    await _replace_functions(state_editor, _bodies())


async def uninstall(apps, state_editor) -> None:
    await _replace_functions(state_editor, statement._bodies())


class Migration(migrations.Migration):
    dependencies = [("insights", "0002_statement_triggers")]

    initial = False

    operations = [ops.RunPython(install, uninstall)]
