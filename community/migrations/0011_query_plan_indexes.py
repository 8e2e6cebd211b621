from tortoise import migrations
from tortoise.migrations import operations as ops

# Found by tests/test_query_plans.py on a populated PostgreSQL database: a thread's comments were
# read by post (no index starts with comment.post_id: every thread page scanned the comment table),
# and a member's votes by voter (the (post, voter) unique index cannot serve voter_id alone).
INDEXES = (("comment_post_created", "comment", "post_id, created_at"), ("vote_voter_created", "vote", "voter_id, created_at"))


class Migration(migrations.Migration):
    dependencies = [('community', '0010_user_identity')]

    initial = False

    operations = [
        ops.RunSQL(
            [f"CREATE INDEX {name} ON {table} ({columns})" for name, table, columns in INDEXES],
            reverse_sql=[f"DROP INDEX {name}" for name, _, _ in INDEXES],
        ),
    ]
