from tortoise import migrations
from tortoise.migrations import operations as ops

# Issue 17: question lists page with a cursor `(sort value, id) < (?, ?)` (community/question_lists.py);
# an index ending in id makes a page deep in a list an index range instead of a filtered walk over
# every question before it. One per sort: newest/unsolved, active, votes, unanswered; and one for a
# member's posts by time. Plain SQL that PostgreSQL and SQLite both take.
INDEXES = (
    ("post_list_created", "post", "kind, created_at, id"),
    ("post_list_active", "post", "kind, last_activity_at, id"),
    ("post_list_score", "post", "kind, score, id"),
    ("post_list_state_created", "post", "kind, state, created_at, id"),
    # A member's page: their latest questions, answers, weeks of activity (community/activity.py).
    ("post_author_kind_created", "post", "author_id, kind, created_at"),
)


class Migration(migrations.Migration):
    dependencies = [('community', '0011_query_plan_indexes')]

    initial = False

    operations = [
        ops.RunSQL(
            [f"CREATE INDEX {name} ON {table} ({columns})" for name, table, columns in INDEXES],
            reverse_sql=[f"DROP INDEX {name}" for name, _, _ in INDEXES],
        ),
    ]
