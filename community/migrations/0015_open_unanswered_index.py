from tortoise import migrations
from tortoise.migrations import operations as ops

# Issue 17: the escalation sweeper and the SLA nudge read only open, visible, non-exempt questions
# with no answer; the (kind, state, created_at) index also led them through every unanswered
# question of imported history (3-10 s a sweep at a million questions). A partial index of exactly
# those rows, in created_at order (community/support/backlog.py keeps the same condition).
# Plain SQL that PostgreSQL and SQLite both take.


class Migration(migrations.Migration):
    dependencies = [('community', '0014_accepted_answer_index')]

    initial = False

    operations = [
        ops.RunSQL(
            ["CREATE INDEX post_open_unanswered ON post (created_at) WHERE kind = 'question' AND state = 'unanswered' "
             "AND first_answer_at IS NULL AND deleted_at IS NULL AND hidden = FALSE AND closed_reason IS NULL "
             "AND escalation_exempt = FALSE"],
            reverse_sql=["DROP INDEX post_open_unanswered"],
        ),
    ]
