"""The insights room's tables, and the database triggers that keep them in step.

- `insights_question`: one narrow row per question, from `post` and its accepted answer;
- `insights_day`, `insights_wait`: per day (and month), counts and wait histograms, from those facts;
- `insights_ticket`: one row per support ticket with its question's day, from `support_ticket`;
- `insights_contribution`: reputation gained and answers accepted per member, month and year.

The triggers live in the database so that no write path can forget them: the services, moderators,
the Stack Exchange importer's bulk SQL and the benchmarks' generators all write `post`, the ledger
and tickets, and the roll-ups follow in the same transaction. The backfill fills them for a
database migrated with rows. The bucket formula is mirrored in `community/insights/rollup.py`.
"""

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

FACT_COLUMNS = ("question_id, day, month, asked_ms, first_wait_ms, solution_wait_ms, solved_at_ms, solver_id, "
                "solved_officially, visible")
TICKET_COLUMNS = ("ticket_id, question_id, day, visible, solved_officially, resolved, escalated_ms, claimed_ms, "
                  "claim_due_ms, first_reply_ms, reply_due_ms, claim_wait_ms, reply_wait_ms")
WATCHED = "created_at, first_answer_at, accepted_answer_id, deleted_at, hidden, kind"
COUNTED = "day, first_wait_ms, solution_wait_ms, solved_at_ms, solver_id, solved_officially, visible"


def _ms(dialect: str, column: str) -> str:
    if dialect == "postgres":
        return f"CAST(ROUND(EXTRACT(EPOCH FROM {column}) * 1000) AS BIGINT)"
    return f"CAST(ROUND((julianday({column}) - 2440587.5) * 86400000.0) AS INTEGER)"


def _month_of_ms(dialect: str, ms: str) -> str:
    """Months since January 1970 of a moment in epoch milliseconds (UTC)."""
    if dialect == "postgres":
        t = f"(to_timestamp(({ms}) / 1000.0) AT TIME ZONE 'UTC')"
        return f"((CAST(EXTRACT(YEAR FROM {t}) AS INTEGER) - 1970) * 12 + CAST(EXTRACT(MONTH FROM {t}) AS INTEGER) - 1)"
    t = f"({ms}) / 1000, 'unixepoch'"
    return f"((CAST(strftime('%Y', {t}) AS INTEGER) - 1970) * 12 + CAST(strftime('%m', {t}) AS INTEGER) - 1)"


def _month_of_day(dialect: str, day: str) -> str:
    """Months since January 1970 of a ledger `day` (a date on PostgreSQL, 'YYYY-MM-DD' on SQLite)."""
    if dialect == "postgres":
        return f"((CAST(EXTRACT(YEAR FROM {day}) AS INTEGER) - 1970) * 12 + CAST(EXTRACT(MONTH FROM {day}) AS INTEGER) - 1)"
    return f"((CAST(substr({day}, 1, 4) AS INTEGER) - 1970) * 12 + CAST(substr({day}, 6, 2) AS INTEGER) - 1)"


def _year(month: str) -> str:
    return f"(({month}) / 12 + 1970)"


def _flag(dialect: str, condition: str) -> str:
    return f"({condition})" if dialect == "postgres" else f"(CASE WHEN {condition} THEN 1 ELSE 0 END)"


def _facts_select(dialect: str) -> str:
    """Questions' facts from their post rows and accepted answers (`q` and `a`)."""
    asked, answered = _ms(dialect, "q.created_at"), _ms(dialect, "a.created_at")
    return (f"SELECT q.id, {asked} / 86400000, {_month_of_ms(dialect, asked)}, {asked}, "
            f"{_ms(dialect, 'q.first_answer_at')} - {asked}, {answered} - {asked}, {answered}, a.author_id, a.official, "
            f"{_flag(dialect, 'q.deleted_at IS NULL AND NOT q.hidden')} "
            "FROM post q LEFT JOIN post a ON a.id = q.accepted_answer_id")


def _ticket_select(dialect: str, t: str) -> str:
    """A ticket's row (`t`: NEW or a table alias) with its question's facts (`f`)."""
    escalated = _ms(dialect, f"{t}.escalated_at")
    return (f"SELECT {t}.id, {t}.question_id, f.day, f.visible, f.solved_officially, {_flag(dialect, t + '.state = ' + repr('resolved'))}, "
            + ", ".join(_ms(dialect, f"{t}.{c}") for c in ("escalated_at", "claimed_at", "claim_due_at", "first_reply_at", "reply_due_at"))
            + f", {_ms(dialect, t + '.claimed_at')} - {escalated}, {_ms(dialect, t + '.first_reply_at')} - {escalated}"
            + f" FROM insights_question f WHERE f.question_id = {t}.question_id")


def _bucket(w: str) -> str:
    """The histogram bucket of a wait in milliseconds: -1 none; then minutes up to an hour, ten
    minutes up to a day, hours up to 30 days, days beyond (integer arithmetic on both databases)."""
    return (f"(CASE WHEN {w} IS NULL THEN -1 WHEN {w} < 3600000 THEN (CASE WHEN {w} < 0 THEN 0 ELSE {w} / 60000 END) "
            f"WHEN {w} < 86400000 THEN 60 + ({w} - 3600000) / 600000 "
            f"WHEN {w} < 2592000000 THEN 198 + ({w} - 86400000) / 3600000 "
            f"ELSE 894 + ({w} - 2592000000) / 86400000 END)")


def _changed(columns: str, dialect: str) -> str:
    """True when an UPDATE changed one of the columns (an ORM save writes every column back)."""
    names = columns.split(", ")
    if dialect == "postgres":
        return f"({', '.join('OLD.' + c for c in names)}) IS DISTINCT FROM ({', '.join('NEW.' + c for c in names)})"
    return "(" + " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in names) + ")"


def _upsert(table: str, columns: str, key: str, added: str) -> str:
    return (f"INSERT INTO {table} ({columns}) ON CONFLICT ({key}) DO UPDATE SET "
            + ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in added.split(", ")))


def _fact_deltas(dialect: str, row: str, sign: str) -> list[str]:
    """Statements adding (sign '') or taking away (sign '-') one fact (`row`: NEW or OLD) from the roll-ups."""
    out = [_upsert("insights_day", "day, asked, answered, within_hour, solved", "day", "asked, answered, within_hour, solved")
           .replace(") ON CONFLICT", f") SELECT {row}.day, {sign}1, {sign}{_flag('sqlite', row + '.first_wait_ms IS NOT NULL')}, "
                    f"{sign}{_flag('sqlite', row + '.first_wait_ms < 3600000')}, {sign}{_flag('sqlite', row + '.solution_wait_ms IS NOT NULL')} "
                    f"WHERE {row}.visible ON CONFLICT", 1)]
    for measure, column in (("first", "first_wait_ms"), ("solution", "solution_wait_ms")):
        only = f" AND {row}.{column} IS NOT NULL" if measure == "solution" else ""
        for span, period in (("day", f"{row}.day"), ("month", f"{row}.month")):
            out.append(_upsert("insights_wait", "measure, span, period, bucket, n", "measure, span, period, bucket", "n")
                       .replace(") ON CONFLICT", f") SELECT '{measure}', '{span}', {period}, {_bucket(row + '.' + column)}, {sign}1 "
                                f"WHERE {row}.visible{only} ON CONFLICT", 1))
    month = _month_of_ms(dialect, f"{row}.solved_at_ms")
    for span, period in (("month", month), ("year", _year(month))):
        out.append(_upsert("insights_contribution", "kind, span, period, user_id, amount", "kind, span, period, user_id", "amount")
                   .replace(") ON CONFLICT", f") SELECT 'accepted', '{span}', {period}, {row}.solver_id, {sign}1 "
                            f"WHERE {row}.visible AND {row}.solver_id IS NOT NULL AND {row}.solved_at_ms IS NOT NULL ON CONFLICT", 1))
    return [s + ";" for s in out]


def _gains(dialect: str, row: str, sign: str) -> list[str]:
    month = _month_of_day(dialect, f"{row}.day")
    return [_upsert("insights_contribution", "kind, span, period, user_id, amount", "kind, span, period, user_id", "amount")
            .replace(") ON CONFLICT", f") SELECT 'reputation', '{span}', {period}, {row}.user_id, {sign}{row}.amount "
                     f"WHERE {row}.amount <> 0 ON CONFLICT", 1) + ";"
            for span, period in (("month", month), ("year", _year(month)))]


def _backfill(dialect: str) -> list[str]:
    out = [f"INSERT INTO insights_question ({FACT_COLUMNS}) {_facts_select(dialect)} WHERE q.kind = 'question'",
           "INSERT INTO insights_day (day, asked, answered, within_hour, solved) SELECT day, COUNT(*), COUNT(first_wait_ms), "
           "SUM(CASE WHEN first_wait_ms < 3600000 THEN 1 ELSE 0 END), COUNT(solution_wait_ms) FROM insights_question "
           "WHERE visible GROUP BY day"]
    for measure, column in (("first", "first_wait_ms"), ("solution", "solution_wait_ms")):
        only = f" AND {column} IS NOT NULL" if measure == "solution" else ""
        for span in ("day", "month"):
            out.append(f"INSERT INTO insights_wait (measure, span, period, bucket, n) SELECT '{measure}', '{span}', {span}, "
                       f"{_bucket(column)}, COUNT(*) FROM insights_question WHERE visible{only} GROUP BY {span}, {_bucket(column)}")
    for kind, month, user, amount, source in (
            ("reputation", _month_of_day(dialect, "day"), "user_id", "SUM(amount)", "reputation_event"),
            ("accepted", _month_of_ms(dialect, "solved_at_ms"), "solver_id", "COUNT(*)",
             "insights_question WHERE visible AND solver_id IS NOT NULL AND solved_at_ms IS NOT NULL")):
        for span, period in (("month", month), ("year", _year(month))):
            out.append(f"INSERT INTO insights_contribution (kind, span, period, user_id, amount) SELECT '{kind}', '{span}', "
                       f"{period}, {user}, {amount} FROM {source} GROUP BY {period}, {user}")
    out.append(f"INSERT INTO insights_ticket ({TICKET_COLUMNS}) " + _ticket_select(dialect, "t").replace(
        " FROM insights_question f WHERE f.question_id = t.question_id",
        " FROM support_ticket t JOIN insights_question f ON f.question_id = t.question_id"))
    return out


def _install_sql(dialect: str) -> list[str]:
    fact_updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in FACT_COLUMNS.split(", ")[1:])
    fact_upsert = (f"INSERT INTO insights_question ({FACT_COLUMNS}) {_facts_select(dialect)} WHERE q.id = NEW.id "
                   f"ON CONFLICT (question_id) DO UPDATE SET {fact_updates};")
    ticket_updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in TICKET_COLUMNS.split(", ")[1:])
    ticket_upsert = (f"INSERT INTO insights_ticket ({TICKET_COLUMNS}) {_ticket_select(dialect, 'NEW')} "
                     f"ON CONFLICT (ticket_id) DO UPDATE SET {ticket_updates};")
    tickets_follow = ("UPDATE insights_ticket SET day = NEW.day, visible = NEW.visible, solved_officially = NEW.solved_officially "
                      "WHERE question_id = NEW.question_id;")
    plus, minus = " ".join(_fact_deltas(dialect, "NEW", "")), " ".join(_fact_deltas(dialect, "OLD", "-"))
    if dialect == "postgres":
        def function(name: str, body: str) -> str:
            return f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n{body}\n  RETURN NULL;\nEND $$"

        return [
            *_backfill(dialect),
            function("insights_question_sync",
                     "  IF TG_OP = 'DELETE' THEN\n"
                     "    IF OLD.kind = 'question' THEN DELETE FROM insights_question WHERE question_id = OLD.id; END IF;\n"
                     f"  ELSIF NEW.kind = 'question' AND (TG_OP = 'INSERT' OR {_changed(WATCHED, dialect)}) THEN {fact_upsert}\n"
                     "  END IF;"),
            f"CREATE TRIGGER insights_question_sync AFTER INSERT OR DELETE OR UPDATE OF {WATCHED} ON post "
            "FOR EACH ROW EXECUTE FUNCTION insights_question_sync()",
            function("insights_rollup_sync",
                     f"  IF TG_OP = 'UPDATE' AND NOT {_changed(COUNTED, dialect)} THEN RETURN NULL; END IF;\n"
                     f"  IF TG_OP IN ('UPDATE', 'DELETE') THEN {minus} END IF;\n"
                     f"  IF TG_OP IN ('UPDATE', 'INSERT') THEN {plus} {tickets_follow} END IF;"),
            "CREATE TRIGGER insights_rollup_sync AFTER INSERT OR DELETE OR UPDATE ON insights_question "
            "FOR EACH ROW EXECUTE FUNCTION insights_rollup_sync()",
            function("insights_ticket_sync",
                     "  IF TG_OP = 'DELETE' THEN DELETE FROM insights_ticket WHERE ticket_id = OLD.id;\n"
                     f"  ELSE {ticket_upsert} END IF;"),
            "CREATE TRIGGER insights_ticket_sync AFTER INSERT OR DELETE OR UPDATE ON support_ticket "
            "FOR EACH ROW EXECUTE FUNCTION insights_ticket_sync()",
            function("insights_contribution_sync",
                     f"  IF TG_OP = 'DELETE' THEN {' '.join(_gains(dialect, 'OLD', '-'))} "
                     f"ELSE {' '.join(_gains(dialect, 'NEW', ''))} END IF;"),
            "CREATE TRIGGER insights_contribution_sync AFTER INSERT OR DELETE ON reputation_event "
            "FOR EACH ROW EXECUTE FUNCTION insights_contribution_sync()",
        ]
    return [
        *_backfill(dialect),
        f"CREATE TRIGGER insights_question_asked AFTER INSERT ON post WHEN NEW.kind = 'question' BEGIN {fact_upsert} END",
        f"CREATE TRIGGER insights_question_changed AFTER UPDATE OF {WATCHED} ON post "
        f"WHEN NEW.kind = 'question' AND {_changed(WATCHED, dialect)} BEGIN {fact_upsert} END",
        "CREATE TRIGGER insights_question_gone AFTER DELETE ON post WHEN OLD.kind = 'question' "
        "BEGIN DELETE FROM insights_question WHERE question_id = OLD.id; END",
        f"CREATE TRIGGER insights_rollup_added AFTER INSERT ON insights_question BEGIN {plus} {tickets_follow} END",
        f"CREATE TRIGGER insights_rollup_changed AFTER UPDATE ON insights_question WHEN {_changed(COUNTED, dialect)} "
        f"BEGIN {minus} {plus} {tickets_follow} END",
        f"CREATE TRIGGER insights_rollup_removed AFTER DELETE ON insights_question BEGIN {minus} END",
        f"CREATE TRIGGER insights_ticket_added AFTER INSERT ON support_ticket BEGIN {ticket_upsert} END",
        f"CREATE TRIGGER insights_ticket_changed AFTER UPDATE ON support_ticket BEGIN {ticket_upsert} END",
        "CREATE TRIGGER insights_ticket_removed AFTER DELETE ON support_ticket "
        "BEGIN DELETE FROM insights_ticket WHERE ticket_id = OLD.id; END",
        f"CREATE TRIGGER insights_contribution_added AFTER INSERT ON reputation_event BEGIN {' '.join(_gains(dialect, 'NEW', ''))} END",
        f"CREATE TRIGGER insights_contribution_removed AFTER DELETE ON reputation_event BEGIN {' '.join(_gains(dialect, 'OLD', '-'))} END",
    ]


def _uninstall_sql(dialect: str) -> list[str]:
    if dialect == "postgres":
        return [sql for name, table in (("question", "post"), ("rollup", "insights_question"), ("ticket", "support_ticket"),
                                        ("contribution", "reputation_event"))
                for sql in (f"DROP TRIGGER IF EXISTS insights_{name}_sync ON {table}", f"DROP FUNCTION IF EXISTS insights_{name}_sync()")]
    return [f"DROP TRIGGER IF EXISTS insights_{name}" for name in
            ("question_asked", "question_changed", "question_gone", "rollup_added", "rollup_changed", "rollup_removed",
             "ticket_added", "ticket_changed", "ticket_removed", "contribution_added", "contribution_removed")]


async def install(apps, state_editor) -> None:
    for sql in _install_sql(state_editor.client.capabilities.dialect):
        await state_editor.client.execute_script(sql)


async def uninstall(apps, state_editor) -> None:
    for sql in _uninstall_sql(state_editor.client.capabilities.dialect):
        await state_editor.client.execute_script(sql)


class Migration(migrations.Migration):
    initial = True
    dependencies = [("community", "0003_reputation_event_day_index"), ("support", "0001_initial")]

    operations = [
        ops.CreateModel(
            name='Contribution',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=10)),
                ('span', fields.CharField(max_length=5)),
                ('period', fields.IntField()),
                ('user_id', fields.IntField()),
                ('amount', fields.IntField(default=0)),
            ],
            options={'table': 'insights_contribution', 'app': 'insights', 'unique_together': (('kind', 'span', 'period', 'user_id'),), 'pk_attr': 'id', 'table_description': 'Per member and month or year (UTC): reputation gained (from the ledger) and answers accepted'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DayCount',
            fields=[
                ('day', fields.IntField(generated=False, primary_key=True, unique=True, db_index=True)),
                ('asked', fields.IntField(default=0)),
                ('answered', fields.IntField(default=0)),
                ('within_hour', fields.IntField(default=0)),
                ('solved', fields.IntField(default=0)),
            ],
            options={'table': 'insights_day', 'app': 'insights', 'pk_attr': 'day', 'table_description': 'Per day: questions asked, answered (by someone other than the asker), answered within the'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='QuestionFact',
            fields=[
                ('question_id', fields.IntField(generated=False, primary_key=True, unique=True, db_index=True)),
                ('day', fields.IntField()),
                ('month', fields.IntField()),
                ('asked_ms', fields.BigIntField()),
                ('first_wait_ms', fields.BigIntField(null=True)),
                ('solution_wait_ms', fields.BigIntField(null=True)),
                ('solved_at_ms', fields.BigIntField(null=True)),
                ('solver_id', fields.IntField(null=True)),
                ('solved_officially', fields.BooleanField(null=True)),
                ('visible', fields.BooleanField()),
            ],
            options={'table': 'insights_question', 'app': 'insights', 'indexes': [Index(fields=['visible', 'day', 'first_wait_ms'], name='insights_question_by_day'), Index(fields=['visible', 'first_wait_ms', 'day', 'asked_ms'], name='insights_question_by_first_wait'), Index(fields=['visible', 'solution_wait_ms', 'day'], name='insights_question_by_solution_wait'), Index(fields=['visible', 'solved_at_ms', 'solver_id'], name='insights_question_by_solved_at')], 'pk_attr': 'question_id', 'table_description': 'One row per question.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TicketFact',
            fields=[
                ('ticket_id', fields.IntField(generated=False, primary_key=True, unique=True, db_index=True)),
                ('question_id', fields.IntField()),
                ('day', fields.IntField()),
                ('visible', fields.BooleanField()),
                ('solved_officially', fields.BooleanField(null=True)),
                ('resolved', fields.BooleanField()),
                ('escalated_ms', fields.BigIntField()),
                ('claimed_ms', fields.BigIntField(null=True)),
                ('claim_due_ms', fields.BigIntField()),
                ('first_reply_ms', fields.BigIntField(null=True)),
                ('reply_due_ms', fields.BigIntField()),
                ('claim_wait_ms', fields.BigIntField(null=True)),
                ('reply_wait_ms', fields.BigIntField(null=True)),
            ],
            options={'table': 'insights_ticket', 'app': 'insights', 'indexes': [Index(fields=['question_id']), Index(fields=['visible', 'claim_wait_ms', 'day'], name='insights_ticket_by_claim_wait'), Index(fields=['visible', 'reply_wait_ms', 'day'], name='insights_ticket_by_reply_wait')], 'pk_attr': 'ticket_id', 'table_description': 'One row per support ticket, with the day its question was asked and whether staff solved it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WaitCount',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('measure', fields.CharField(max_length=10)),
                ('span', fields.CharField(max_length=5)),
                ('period', fields.IntField()),
                ('bucket', fields.IntField()),
                ('n', fields.IntField(default=0)),
            ],
            options={'table': 'insights_wait', 'app': 'insights', 'unique_together': (('measure', 'span', 'period', 'bucket'),), 'indexes': [Index(fields=['measure', 'span', 'bucket', 'period', 'n'], name='insights_wait_by_bucket')], 'pk_attr': 'id', 'table_description': "How many questions asked in a day (span 'day') or a month ('month') waited how long: the"},
            bases=['Model'],
        ),
        ops.RunPython(install, uninstall),
    ]
