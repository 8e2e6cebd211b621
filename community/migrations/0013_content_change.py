from tortoise import migrations
from tortoise.migrations import operations as ops

# Issue 17: which thread (question_id) or member (user_id: their name, reputation, badges beside their
# posts) each bump of the content generation changed, so a write to one question no longer throws
# away every other thread's kept page (community/page_changes.py). A row with both NULL changed
# everything. Old rows are deleted as new ones come; plain SQL that PostgreSQL and SQLite both take.


class Migration(migrations.Migration):
    dependencies = [('community', '0012_scale_list_indexes')]

    initial = False

    operations = [
        ops.RunSQL(
            ["CREATE TABLE content_change (generation BIGINT NOT NULL, question_id INT NULL, user_id INT NULL)",
             "CREATE INDEX content_change_generation ON content_change (generation)"],
            reverse_sql=["DROP TABLE content_change"],
        ),
    ]
