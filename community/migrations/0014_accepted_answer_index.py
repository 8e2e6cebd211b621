from tortoise import migrations
from tortoise.migrations import operations as ops

# Issue 17: the badge rules read a member's accepted answers from the question side
# (`post q JOIN post a ON a.id = q.accepted_answer_id WHERE a.author_id = ?`); without an index on
# accepted_answer_id PostgreSQL scans every question for each accept (13 s at a million questions).
# Plain SQL that PostgreSQL and SQLite both take.


class Migration(migrations.Migration):
    dependencies = [('community', '0013_content_change')]

    initial = False

    operations = [
        ops.RunSQL(
            ["CREATE INDEX post_accepted_answer ON post (accepted_answer_id)"],
            reverse_sql=["DROP INDEX post_accepted_answer"],
        ),
    ]
