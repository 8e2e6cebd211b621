"""Each question's sentence vector, kept in the database (search_vector) like the search index.

The indexer calls `write` with the thread documents it has just read from the outbox, so a vector is
computed when a question is written or edited, never inside the request. A document whose embedded
text (title and the start of the body) did not change keeps its vector: an answer or a vote costs
no embedding. Hidden, deleted and closed-as-duplicate questions get a NULL vector (a tombstone, so
every process's in-memory index sees them leave).

Every write takes the next `seq` under one lock (a PostgreSQL advisory lock; SQLite has one writer),
so `seq` grows in commit order and a follower that read up to seq N has seen every row below it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from community import clock, db
from search import documents
from search.documents import ThreadDoc
from search.embedding import DIMENSIONS, MODEL_ID, Embedder
from search.models import QuestionVector

log = logging.getLogger("search.vectors")

BODY_CHARS = 0  # characters of the question body embedded after the title (docs/benchmarks.md)
VECTOR_LOCK = 7_340_002  # PostgreSQL advisory lock held by every transaction that writes search_vector
FOLLOW_BATCH = 5000


def text_of(doc: ThreadDoc) -> str:
    body = doc.body[:BODY_CHARS] if BODY_CHARS else ""
    return doc.title + ("\n" + body if body else "")


def digest_of(text: str) -> str:
    return hashlib.sha1(f"{MODEL_ID}\0{BODY_CHARS}\0{text}".encode()).hexdigest()


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(raw: Any) -> np.ndarray:
    return np.frombuffer(bytes(raw), dtype="<f4", count=DIMENSIONS)


def _marks(n: int) -> str:
    return ",".join("?" * n)


async def write(docs: Iterable[ThreadDoc], removed: Iterable[int], embedder: Embedder, conn: Any = None) -> int:
    """Store the vectors of these documents (embedding only changed texts) and tombstone the removed
    questions and closed duplicates. Returns how many texts were embedded."""
    wanted: dict[int, str] = {}
    gone: set[int] = {int(i) for i in removed}
    for doc in docs:
        if doc.closed_duplicate:
            gone.add(doc.question_id)
        else:
            wanted[doc.question_id] = text_of(doc)
    gone -= set(wanted)
    ids = [*wanted, *gone]
    if not ids:
        return 0
    existing: dict[int, tuple[str, bool]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = await db.fetch(f"SELECT question_id, digest, vector IS NOT NULL AS has FROM search_vector"
                              f" WHERE question_id IN ({_marks(len(chunk))})", chunk, conn)
        existing.update({r["question_id"]: (r["digest"], bool(r["has"])) for r in rows})
    todo = [(qid, text, digest_of(text)) for qid, text in wanted.items()]
    todo = [(qid, text, d) for qid, text, d in todo if existing.get(qid) != (d, True)]
    drop = [qid for qid in gone if existing.get(qid, ("", False))[1]]
    if not todo and not drop:
        return 0
    vectors = await asyncio.to_thread(embedder.embed, [text for _, text, _ in todo]) if todo else None
    rows: list[tuple[int, str, bytes | None]] = [(qid, d, to_bytes(vectors[i])) for i, (qid, _, d) in enumerate(todo)]
    rows += [(qid, "", None) for qid in drop]
    if conn is not None:
        await _put(rows, conn)
    else:
        async with db.transaction() as own:
            await _put(rows, own)
    return len(todo)


async def _put(rows: list[tuple[int, str, bytes | None]], conn: Any) -> None:
    if db.dialect() == "postgres":
        await db.execute("SELECT pg_advisory_xact_lock(?)", [VECTOR_LOCK], conn)
    top = await db.fetch("SELECT COALESCE(MAX(seq), 0) AS m FROM search_vector", [], conn)
    seq = int(top[0]["m"])
    now = QuestionVector._meta.fields_map["updated_at"].to_db_value(clock.now(), None)
    for start in range(0, len(rows), 1000):
        chunk = rows[start:start + 1000]
        values: list[Any] = []
        for qid, d, raw in chunk:
            seq += 1
            values += [qid, seq, MODEL_ID, d, raw, now]
        await db.execute(
            "INSERT INTO search_vector (question_id, seq, model, digest, vector, updated_at) VALUES "
            + ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(chunk))
            + " ON CONFLICT (question_id) DO UPDATE SET seq = excluded.seq, model = excluded.model,"
              " digest = excluded.digest, vector = excluded.vector, updated_at = excluded.updated_at",
            values, conn)


async def changes(after: int, limit: int = FOLLOW_BATCH) -> list[tuple[int, int, np.ndarray | None]]:
    """(seq, question_id, vector or None for gone) of rows written after `after`, in seq order.
    A vector of another model counts as gone."""
    rows = await db.fetch("SELECT seq, question_id, model, vector FROM search_vector WHERE seq > ? ORDER BY seq LIMIT ?",
                          [after, limit])
    return [(int(r["seq"]), int(r["question_id"]),
             from_bytes(r["vector"]) if r["vector"] is not None and r["model"] == MODEL_ID else None) for r in rows]


async def rebuild(embedder: Embedder, on_start: Callable[[int], None] | None = None,
                  on_batch: Callable[[int], None] | None = None, batch: int = 256) -> int:
    """Bring every question's vector up to date, in batches of `batch` questions, each committed on its
    own: stopped at any moment, running it again goes on where it stopped (texts already embedded have
    the same digest and are skipped). Returns how many texts it embedded."""
    if on_start:
        on_start(await documents.count_questions())
    embedded = 0
    async for ids in documents.all_question_ids(batch):
        docs, removed = await documents.load(ids)
        embedded += await write(docs, removed, embedder)
        if on_batch:
            on_batch(len(docs))
    return embedded
