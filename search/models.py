"""Rows of the search room: the outbox that keeps the index in step with the database."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class IndexOutbox(Model):
    """A question whose search document must be rewritten (or removed)."""

    id = fields.BigIntField(primary_key=True)
    question_id = fields.IntField(db_index=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "search_outbox"


class SearchDocument(Model):
    """A thread as PostgreSQL full-text search sees it (SEARCH_BACKEND=postgres).

    On PostgreSQL a later migration adds the weighted `tsv` tsvector columns with GIN indexes; on
    SQLite the table exists but stays empty (the Whoosh index serves search there).
    """

    question_id = fields.IntField(primary_key=True, generated=False)
    title = fields.CharField(max_length=300)
    excerpt = fields.TextField()
    tags = fields.CharField(max_length=200, default="")  # " tag1 tag2 " (spaces around, for LIKE '% tag %')
    people = fields.TextField(default="")  # " q:name q:#id a:name a:#id " asker and answerers
    state = fields.CharField(max_length=12)
    score = fields.IntField()
    answer_count = fields.IntField()
    quality = fields.FloatField(default=1.0)
    created_at = fields.DatetimeField(null=True)

    class Meta:
        table = "search_document"


class QuestionVector(Model):
    """A question's sentence embedding (its title and the start of its body), kept like the index.

    `vector` is DIMENSIONS float32 values, little-endian; NULL means the question left the vector
    set (hidden, deleted, closed as a duplicate). Every write takes the next `seq` (one writer at a
    time), so each process's in-memory index follows the table by reading rows with a larger seq.
    `digest` is a hash of the model and the embedded text: an unchanged text is not embedded again.
    """

    question_id = fields.IntField(primary_key=True, generated=False)
    seq = fields.BigIntField(db_index=True)
    model = fields.CharField(max_length=40)
    digest = fields.CharField(max_length=40, default="")
    vector = fields.BinaryField(null=True)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "search_vector"


DEFLECTION_KINDS = (
    "search",  # a search was run (result_count says how many threads it found)
    "result_opened",  # a search result was opened (search_id links it to its search)
    "suggestions_shown",  # the ask page showed similar questions (once per ask page view)
    "suggestion_opened",  # one of those similar questions was opened
    "solved_my_problem",  # "This solved my problem" on a suggestion: a question not asked
    "asked_after_suggestions",  # the question was posted anyway after suggestions were shown
)


class DeflectionEvent(Model):
    """One event that shows whether search found the answer before a question was asked."""

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=24)
    created_at = fields.DatetimeField()
    user_id = fields.IntField(null=True)
    question_id = fields.IntField(null=True)  # the thread opened, suggested or posted
    search_id = fields.BigIntField(null=True)  # for result_opened: the search event it came from
    query = fields.CharField(max_length=200, default="")
    result_count = fields.IntField(null=True)
    solved = fields.BooleanField(default=False)  # the opened or chosen thread was solved at the time
    ref = fields.CharField(max_length=64, default="")  # the ask page view a suggestion event belongs to

    class Meta:
        table = "search_deflection_event"
        indexes = (("kind", "created_at"),)
