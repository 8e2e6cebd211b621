from tortoise import migrations
from tortoise.migrations import operations as ops

# Sign-in and sign-up look names and e-mail addresses up in any letter case: Tortoise's `iexact`
# compares UPPER(CAST(column AS VARCHAR)) on both databases, which no plain index serves. These
# expression indexes match it exactly, so the look-ups (and the importer's name checks) stop
# scanning every member.
INDEXES = (("user_username_upper", "username"), ("user_email_upper", "email"))


class Migration(migrations.Migration):
    dependencies = [('community', '0003_reputation_event_day_index')]

    initial = False

    operations = [
        ops.RunSQL(
            [f'CREATE INDEX {name} ON "user" (UPPER(CAST({column} AS VARCHAR)))' for name, column in INDEXES],
            reverse_sql=[f"DROP INDEX {name}" for name, _ in INDEXES],
        ),
    ]
