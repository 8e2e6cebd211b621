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
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
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
    todo, drop = await _plan(docs, removed, conn)
    if not todo and not drop:
        return 0
    vectors = await asyncio.to_thread(embedder.embed, [text for _, text, _ in todo]) if todo else None
    rows: list[tuple[int, str, bytes | None]] = [(qid, d, to_bytes(vectors[i])) for i, (qid, _, d) in enumerate(todo)]  # type: ignore[index]
    rows += [(qid, "", None) for qid in drop]
    if conn is not None:
        await _put(rows, conn)
    else:
        async with db.transaction() as own:
            await _put(rows, own)
    return len(todo)


async def _plan(docs: Iterable[ThreadDoc], removed: Iterable[int],
                conn: Any = None) -> tuple[list[tuple[int, str, str]], list[int]]:
    """(question id, text, digest) to embed, and the question ids whose vector must go."""
    wanted: dict[int, str] = {}
    gone: set[int] = {int(i) for i in removed}
    for doc in docs:
        if doc.closed_duplicate:
            gone.add(doc.question_id)
        else:
            wanted[doc.question_id] = text_of(doc)
    return await _plan_texts(wanted, gone, conn)


async def _plan_texts(wanted: dict[int, str], gone: set[int],
                      conn: Any = None) -> tuple[list[tuple[int, str, str]], list[int]]:
    gone = gone - set(wanted)
    ids = [*wanted, *gone]
    existing: dict[int, tuple[str, bool]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = await db.fetch(f"SELECT question_id, digest, vector IS NOT NULL AS has FROM search_vector"
                              f" WHERE question_id IN ({_marks(len(chunk))})", chunk, conn)
        existing.update({r["question_id"]: (r["digest"], bool(r["has"])) for r in rows})
    todo = [(qid, text, digest_of(text)) for qid, text in wanted.items()]
    todo = [(qid, text, d) for qid, text, d in todo if existing.get(qid) != (d, True)]
    drop = sorted(qid for qid in gone if existing.get(qid, ("", False))[1])
    return todo, drop


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


async def forget_digests() -> int:
    """Make every stored vector count as out of date (`reindex --fresh`): the next rebuild embeds
    every question again. The vectors and their seq stay, so searches keep working meanwhile."""
    return await db.execute("UPDATE search_vector SET digest = '' WHERE digest <> ''")


async def _texts(ids: list[int], conn: Any = None) -> dict[int, str | None]:
    """The embedded text (`text_of`) of each visible question among `ids`; None for one closed as a
    duplicate. Only the columns the text needs: a rebuild has no use for answers (which
    `documents.load` reads and converts to plain text for the search index)."""
    body = ", p.body_html" if BODY_CHARS else ""
    out: dict[int, str | None] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = await db.fetch(f"SELECT p.id, p.title, p.closed_reason{body} FROM post p WHERE p.id IN ({_marks(len(chunk))})"
                              " AND p.kind = 'question' AND p.hidden = ? AND p.deleted_at IS NULL", [*chunk, False], conn)
        for r in rows:
            doc = ThreadDoc(int(r["id"]), r["title"], documents.plain_text(r["body_html"]) if BODY_CHARS else "", "", [], "", None)
            out[int(r["id"])] = None if r["closed_reason"] == "duplicate" else text_of(doc)
    return out


@dataclass
class _Batch:
    """Questions read for a refresh: what to embed ((id, text, digest)) and whose vector goes."""

    seen: int  # visible questions among the ids asked for
    todo: list[tuple[int, str, str]]
    drop: list[int]


async def _prepare(ids: list[int]) -> _Batch:
    ids = sorted({int(i) for i in ids})
    texts = await _texts(ids)
    wanted = {qid: text for qid, text in texts.items() if text is not None}
    todo, drop = await _plan_texts(wanted, set(ids) - set(wanted))
    return _Batch(len(texts), todo, drop)


async def _store(batch: _Batch, fresh: np.ndarray | None) -> None:
    """Write the batch's vectors in a short transaction that reads the questions again first and
    keeps only what is still current."""
    if not batch.todo and not batch.drop:
        return
    async with db.transaction() as conn:
        if db.dialect() == "postgres":
            await db.execute("SELECT pg_advisory_xact_lock(?)", [VECTOR_LOCK], conn)
        now = await _texts([qid for qid, _, _ in batch.todo] + batch.drop, conn)
        current = {qid: digest_of(text) for qid, text in now.items() if text is not None}
        rows: list[tuple[int, str, bytes | None]] = [
            (qid, d, to_bytes(fresh[i])) for i, (qid, _, d) in enumerate(batch.todo) if current.get(qid) == d]  # type: ignore[index]
        rows += [(qid, "", None) for qid in batch.drop if qid not in current]
        if rows:
            await _put(rows, conn)


def _embed(embedder: Embedder, batch: _Batch) -> np.ndarray | None:
    return embedder.embed([text for _, text, _ in batch.todo]) if batch.todo else None


async def refresh(ids: list[int], embedder: Embedder) -> tuple[int, int]:
    """Bring these questions' vectors up to date; returns (texts embedded, visible questions seen).

    The texts are embedded outside any transaction; the rows are written in a short one that reads
    the questions again first and keeps only what is still current, so a rebuild running beside the
    indexer never puts back the vector of a title edited meanwhile (the edit's outbox row has the
    indexer write the new one)."""
    batch = await _prepare(ids)
    if batch.todo or batch.drop:
        await _store(batch, await asyncio.to_thread(_embed, embedder, batch))
    return len(batch.todo), batch.seen


async def _drop_orphans() -> int:
    """Tombstone the vectors of questions that no longer exist at all (removed from the database)."""
    rows = await db.fetch("SELECT v.question_id FROM search_vector v WHERE v.vector IS NOT NULL AND NOT EXISTS"
                          " (SELECT 1 FROM post p WHERE p.id = v.question_id AND p.kind = 'question')")
    if rows:
        async with db.transaction() as conn:
            await _put([(int(r["question_id"]), "", None) for r in rows], conn)
    return len(rows)


class Fill:
    """Every question's vector brought up to date, one committed batch of questions at a time (in id
    order), so it can stop at any moment: `python run.py reindex`, and the indexer's idle moments on
    the first start after an upgrade. Run again, it goes on where it stopped, because texts already
    embedded have a matching digest and are skipped."""

    def __init__(self, embedder: Embedder, batch: int = 256) -> None:
        self.embedder = embedder
        self.batch = batch
        self.after = 0  # the last question id done
        self.embedded = 0  # texts embedded so far
        self.seen = 0  # visible questions gone through so far
        self.last_seen = 0  # visible questions in the last batch
        self.done = False

    async def _next_ids(self, after: int) -> list[int]:
        rows = await db.fetch("SELECT id FROM post WHERE kind = 'question' AND id > ? ORDER BY id LIMIT ?",
                              [after, self.batch])
        return [int(r["id"]) for r in rows]

    def _count(self, ids: list[int], embedded: int, seen: int) -> None:
        self.after = ids[-1]
        self.embedded += embedded
        self.seen += seen
        self.last_seen = seen

    async def step(self) -> bool:
        """One batch; False once every question has been gone through."""
        if self.done:
            return False
        ids = await self._next_ids(self.after)
        if not ids:
            await _drop_orphans()
            self.done = True
            return False
        embedded, seen = await refresh(ids, self.embedder)
        self._count(ids, embedded, seen)
        return True

    async def run(self, on_batch: Callable[[int], None] | None = None) -> None:
        """Every remaining batch, as `step` would do them, with the model never waiting for the
        database: while batch k is embedded (on the model's threads) batch k-1 is stored and batch
        k+1 read, so a rebuild's reads and writes cost it no time on an otherwise idle core."""
        ids = await self._next_ids(self.after)
        batch = await _prepare(ids) if ids else None
        stored: tuple[list[int], _Batch, np.ndarray | None] | None = None
        while batch is not None:
            embedding = asyncio.ensure_future(asyncio.to_thread(_embed, self.embedder, batch))
            try:
                if stored:
                    await self._finish(*stored, on_batch)
                following = await self._next_ids(ids[-1])  # `self.after` moves only as batches are stored
                after = await _prepare(following) if following else None
                fresh = await embedding
            except BaseException:
                await asyncio.gather(embedding, return_exceptions=True)  # no thread left writing into a batch
                raise
            stored = (ids, batch, fresh)
            ids, batch = following, after
        if stored:
            await self._finish(*stored, on_batch)
        await _drop_orphans()
        self.done = True

    async def _finish(self, ids: list[int], batch: _Batch, fresh: np.ndarray | None,
                      on_batch: Callable[[int], None] | None) -> None:
        await _store(batch, fresh)
        self._count(ids, len(batch.todo), batch.seen)
        if on_batch:
            on_batch(batch.seen)


async def rebuild(embedder: Embedder, on_start: Callable[[int], None] | None = None,
                  on_batch: Callable[[int], None] | None = None, batch: int = 256, workers: int | None = None) -> int:
    """Bring every question's vector up to date (see `Fill`). Returns how many texts it embedded.
    The model runs one single-threaded session per core (`workers`; EMBED_WORKERS): a rebuild has
    its process to itself (the indexer's own `Fill` keeps the one shared session)."""
    if on_start:
        on_start(await documents.count_questions())
    workers = workers or int(os.environ.get("EMBED_WORKERS") or os.cpu_count() or 1)
    fill = Fill(embedder, batch)
    with embedder.parallel(workers):
        await fill.run(on_batch)
    return fill.embedded


SAMPLE = 20  # recent questions whose stored digest is compared with their text at start-up


async def outdated() -> str | None:
    """Why the vector set needs a rebuild (None: it does not): a visible question has no vector of this
    model, vectors of another model are stored, or recent questions' vectors were made from another
    text (BODY_CHARS or `text_of` changed). Questions waiting in the outbox are the indexer's."""
    if not await db.fetch("SELECT id FROM post WHERE kind = 'question' AND hidden = ? AND deleted_at IS NULL LIMIT 1",
                          [False]):
        return None
    if await db.fetch("SELECT question_id FROM search_vector WHERE model <> ? AND vector IS NOT NULL LIMIT 1", [MODEL_ID]):
        return "vectors of another model are stored"
    if await db.fetch(
            "SELECT p.id FROM post p WHERE p.kind = 'question' AND p.hidden = ? AND p.deleted_at IS NULL"
            " AND (p.closed_reason IS NULL OR p.closed_reason <> 'duplicate')"
            " AND NOT EXISTS (SELECT 1 FROM search_vector v WHERE v.question_id = p.id AND v.vector IS NOT NULL)"
            " AND NOT EXISTS (SELECT 1 FROM search_outbox o WHERE o.question_id = p.id) LIMIT 1", [False]):
        return "questions have no vector"
    recent = await db.fetch(
        "SELECT v.question_id, v.digest FROM search_vector v JOIN post p ON p.id = v.question_id"
        " WHERE v.vector IS NOT NULL AND NOT EXISTS (SELECT 1 FROM search_outbox o WHERE o.question_id = p.id)"
        " ORDER BY v.question_id DESC LIMIT ?", [SAMPLE])
    stored = {int(r["question_id"]): r["digest"] for r in recent}
    docs, _ = await documents.load(list(stored))
    if any(stored[d.question_id] != digest_of(text_of(d)) for d in docs if not d.closed_duplicate):
        return "vectors were made from another text"
    return None
