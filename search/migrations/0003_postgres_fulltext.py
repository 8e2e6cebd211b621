"""PostgreSQL only: weighted tsvector columns with GIN indexes on search_document (SEARCH_BACKEND=postgres).

tsv: title (weight A), question body (B), answers (C). title_tsv and answers_tsv serve title: and
is:answer; body_tsv serves body:. SQLite has no tsvector, so there the migration does nothing.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

SQL = """
ALTER TABLE search_document ADD COLUMN tsv tsvector NOT NULL DEFAULT ''::tsvector;
ALTER TABLE search_document ADD COLUMN title_tsv tsvector NOT NULL DEFAULT ''::tsvector;
ALTER TABLE search_document ADD COLUMN body_tsv tsvector NOT NULL DEFAULT ''::tsvector;
ALTER TABLE search_document ADD COLUMN answers_tsv tsvector NOT NULL DEFAULT ''::tsvector;
CREATE INDEX search_document_tsv ON search_document USING GIN (tsv);
CREATE INDEX search_document_title_tsv ON search_document USING GIN (title_tsv);
CREATE INDEX search_document_created ON search_document (created_at);
"""


async def add_fulltext(apps, schema_editor) -> None:
    if schema_editor.client.capabilities.dialect == "postgres":
        await schema_editor.client.execute_script(SQL)


class Migration(migrations.Migration):
    dependencies = [("search", "0002_documents_and_deflections")]

    initial = False

    operations = [ops.RunPython(add_fulltext, ops.RunPython.noop)]
