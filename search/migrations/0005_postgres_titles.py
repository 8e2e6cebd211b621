"""PostgreSQL only: search_title, a narrow copy of each search document's title vector and quality.

A search of common words ranks every thread whose title matches before it ranks the best of them in
full, and a similar-question look-up ranks every title holding its key words (search/postgres.py).
Read from search_document, each match costs a heap page of its own: a document's row holds its
excerpt, tags and four vectors, a few kilobytes. search_title holds only what those look-ups read,
about 130 bytes a row (at a million questions: 133 MB against search_document's 1.4 GB). A trigger
keeps it in step with search_document, so neither the indexer nor a rebuild has to know of it; the
bulk load of `bench/scale_bench.py` (triggers off) runs BACKFILL itself. SQLite has no tsvector:
there the migration does nothing.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

BACKFILL = ("INSERT INTO search_title (question_id, quality, title_tsv)"
            " SELECT question_id, quality, title_tsv FROM search_document"
            " ON CONFLICT (question_id) DO UPDATE SET quality = EXCLUDED.quality, title_tsv = EXCLUDED.title_tsv")

SQL = f"""
CREATE TABLE search_title (
    question_id integer PRIMARY KEY,
    quality double precision NOT NULL,
    title_tsv tsvector NOT NULL
);
CREATE FUNCTION search_title_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND NEW.question_id <> OLD.question_id) THEN
        DELETE FROM search_title WHERE question_id = OLD.question_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO search_title (question_id, quality, title_tsv) VALUES (NEW.question_id, NEW.quality, NEW.title_tsv)
        ON CONFLICT (question_id) DO UPDATE SET quality = EXCLUDED.quality, title_tsv = EXCLUDED.title_tsv;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER search_title_added AFTER INSERT OR DELETE ON search_document
    FOR EACH ROW EXECUTE FUNCTION search_title_follow();
CREATE TRIGGER search_title_changed AFTER UPDATE ON search_document FOR EACH ROW
    WHEN (NEW.question_id <> OLD.question_id OR NEW.quality IS DISTINCT FROM OLD.quality
          OR NEW.title_tsv IS DISTINCT FROM OLD.title_tsv)
    EXECUTE FUNCTION search_title_follow();
{BACKFILL};
CREATE INDEX search_title_tsv ON search_title USING GIN (title_tsv);
"""

REVERSE = """
DROP TRIGGER search_title_changed ON search_document;
DROP TRIGGER search_title_added ON search_document;
DROP FUNCTION search_title_follow();
DROP TABLE search_title;
"""


async def _run(schema_editor, sql: str) -> None:
    if schema_editor.client.capabilities.dialect == "postgres":
        await schema_editor.client.execute_script(sql)


async def add_titles(apps, schema_editor) -> None:
    await _run(schema_editor, SQL)


async def drop_titles(apps, schema_editor) -> None:
    await _run(schema_editor, REVERSE)


class Migration(migrations.Migration):
    dependencies = [("search", "0004_question_vectors")]

    initial = False

    operations = [ops.RunPython(add_titles, drop_titles)]
