from tortoise import migrations
from tortoise.migrations import operations as ops

# The SLA nudge ranks members by their accepted answers in a question's tags: it walks the tag's
# questions (post_tag by tag) and the answers of a few members (post by author). Neither had an index
# that starts with those columns, so each batch read every question.
INDEXES = (("post_tag_tag_post", "post_tag", "tag_id, post_id"), ("post_author_kind", "post", "author_id, kind"))


class Migration(migrations.Migration):
    dependencies = [('community', '0007_mail_watches')]

    initial = False

    operations = [
        ops.RunSQL(
            [f"CREATE INDEX {name} ON {table} ({columns})" for name, table, columns in INDEXES],
            reverse_sql=[f"DROP INDEX {name}" for name, _, _ in INDEXES],
        ),
    ]
