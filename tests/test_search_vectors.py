"""The question vectors' life: written by the indexer from the outbox, kept through answers and votes,
re-embedded by an edit, tombstoned when a question leaves search; rebuilt by `run.py reindex` (resumable
after a kill, equal to the live set); filled in the background after an upgrade; the model checked
against reference embeddings; each process's neighbour index, exact and approximate."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import random
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from community import clock, db, questions, settings, voting
from community.models import Post
from moderation import closing, flags, posts
from search import documents, embedding, vectors
from search.backend import backend_for
from search.embedding import MODEL_ID, ModelMissing
from search.indexer import Indexer
from search.neighbours import NeighbourIndex

from tests.conftest import PG_URL

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = Path(__file__).resolve().parent / "data" / "minilm_reference.json"

PROBLEMS = ["Hotspot keeps turning off", "No signal indoors", "Voicemail greeting is gone", "Calls drop after a minute",
            "Mobile data is very slow", "SIM card not detected", "eSIM shows no service", "Cannot send picture messages",
            "Roaming does not connect", "Battery drains overnight", "Wifi calling fails", "Top-up payment was declined"]
DEVICES = ["iPhone 12", "Pixel 7", "Galaxy S21", "Moto G", "old Nokia", "tablet", "work phone", "dual SIM phone"]
WHEN = ["at home", "abroad", "on the train", "after the update", "since yesterday", "in the city centre", "at night"]


@pytest.fixture(params=["whoosh", "postgres"])
def lexical(request, config):
    """The configuration with each lexical backend (the indexer's turn and transaction differ)."""
    if request.param == "postgres" and not PG_URL:
        pytest.skip("PostgreSQL full-text search runs when the suite runs on PostgreSQL (TEST_DATABASE_URL)")
    config.search_backend = request.param
    return config


def titles(n: int) -> list[str]:
    combos = list(itertools.product(PROBLEMS, DEVICES, WHEN))
    random.Random(16).shuffle(combos)
    return [f"{p} on my {d} {w}" for p, d, w in combos[:n]]


async def rows() -> dict[int, dict]:
    return {int(r["question_id"]): r for r in
            await db.fetch("SELECT question_id, seq, model, digest, vector FROM search_vector ORDER BY question_id")}


async def live_vectors() -> dict[int, np.ndarray]:
    return {qid: vectors.from_bytes(r["vector"]) for qid, r in (await rows()).items() if r["vector"] is not None}


async def expected_vectors() -> dict[int, np.ndarray]:
    """Every visible, not-duplicate question's vector computed here and now, straight from the model."""
    ids = [r["id"] for r in await db.fetch("SELECT id FROM post WHERE kind = 'question' ORDER BY id")]
    docs, _ = await documents.load(ids)
    docs = [d for d in docs if not d.closed_duplicate]
    made = embedding.shared().embed([vectors.text_of(d) for d in docs])
    return {d.question_id: made[i] for i, d in enumerate(docs)}


def assert_same_vectors(got: dict[int, np.ndarray], want: dict[int, np.ndarray]) -> None:
    assert sorted(got) == sorted(want)
    for qid in want:
        assert np.allclose(got[qid], want[qid], atol=1e-5), qid


async def bulk_questions(n: int, author_id: int) -> list[int]:
    """n questions written straight into the table (no outbox row: as if they existed before vectors)."""
    now = clock.now()
    await db.insert_many([Post(kind="question", author_id=author_id, title=t, body=f"{t}. Restarting did not help.",
                               body_html=f"<p>{t}. Restarting did not help.</p>", created_at=now, last_activity_at=now)
                          for t in titles(n)])
    return [r["id"] for r in await db.fetch("SELECT id FROM post WHERE kind = 'question' ORDER BY id")]


def top5(index: NeighbourIndex, ids: list[int]) -> dict[int, list[int]]:
    return {qid: [n for n, _ in index.search(index.vector_of(qid), 5, {qid})] for qid in ids}


# ----- a. the life of one question's vector -----


async def test_a_vector_follows_its_question_through_edits_and_moderation(lexical, database, users):
    backend = backend_for(lexical)
    indexer = Indexer(backend)
    asker, member = await users("asker", 200), await users("member", 500)
    moderator = await users("mod", 1, "moderator")
    q = await questions.ask(asker, "Hotspot keeps turning off on my phone",
                            "After five minutes the laptop loses the connection.", "hotspot")
    original = await questions.ask(asker, "Personal hotspot switches itself off",
                                   "The hotspot stops when the screen locks.", "hotspot")
    await indexer.drain()  # one drain: both questions have their vector
    assert_same_vectors(await live_vectors(), await expected_vectors())
    first = (await rows())[q.id]
    assert first["model"] == MODEL_ID and first["digest"] == vectors.digest_of(vectors.text_of(
        (await documents.load([q.id]))[0][0]))
    index = NeighbourIndex()
    await index.follow(force=True)
    assert len(index) == 2 and np.allclose(index.vector_of(q.id), vectors.from_bytes(first["vector"]))

    # An answer and a vote change the thread's document, not the embedded text: same digest, no new seq.
    await questions.answer(member, q.id, "Turn off 'switch off hotspot automatically' in the settings.")
    await voting.vote(member, q.id, 1)
    await indexer.drain()
    assert (await rows())[q.id]["seq"] == first["seq"]

    # A new title is embedded again, under a new seq, and the index following the table takes it.
    await questions.edit(asker, q.id, title="Hotspot on my Pixel stops after five minutes")
    await indexer.drain()
    edited = (await rows())[q.id]
    assert edited["seq"] > first["seq"] and edited["digest"] != first["digest"]
    assert_same_vectors(await live_vectors(), await expected_vectors())
    await index.follow(force=True)
    assert np.allclose(index.vector_of(q.id), vectors.from_bytes(edited["vector"]))

    async def gone() -> None:
        await indexer.drain()
        assert (await rows())[q.id]["vector"] is None
        await index.follow(force=True)
        assert index.vector_of(q.id) is None and [n for n, _ in index.search(index.vector_of(original.id), 5)] == [original.id]

    async def back() -> None:
        await indexer.drain()
        assert_same_vectors(await live_vectors(), await expected_vectors())
        await index.follow(force=True)
        assert np.allclose(index.vector_of(q.id), (await live_vectors())[q.id])

    settings.override("flag.hide_threshold", 1)
    _, hidden = await flags.raise_flag(moderator, q.id, "spam")
    assert hidden
    await gone()
    await posts.delete(moderator, q.id)
    await gone()
    await posts.undelete(moderator, q.id)  # shown again, no longer hidden
    await back()
    await closing.vote(moderator, q.id, "close", "duplicate", original.id)
    await gone()
    await closing.vote(moderator, q.id, "reopen")
    await back()


# ----- b. the model itself -----


def test_b_the_model_matches_reference_embeddings():
    """tests/data/minilm_reference.json was made outside the project with sentence-transformers 5 on
    PyTorch (fp32, CPU), from the original all-MiniLM-L6-v2 weights (model.safetensors):
    `SentenceTransformer(model_dir, device="cpu").encode(sentences, normalize_embeddings=True)`, each
    value rounded to 6 decimals. The int8 model run here must point the same way (cosine > 0.999)."""
    reference = json.loads(REFERENCE.read_text())
    assert len(reference) >= 5
    model = embedding.shared()
    sentences = list(reference)
    made = model.embed(sentences)
    for sentence, vector in zip(sentences, made):
        want = np.array(reference[sentence], dtype=np.float32)
        assert abs(float(np.linalg.norm(vector)) - 1) < 1e-5
        assert float(vector @ want) / float(np.linalg.norm(want)) > 0.999, sentence


def test_b_inputs_are_not_padded_to_a_fixed_length():
    model = embedding.shared()
    title = "Hotspot keeps turning off on my phone"
    assert len(model.tokenizer.encode(title).ids) < 16  # the shipped tokenizer.json pads to 128
    long = json.loads(REFERENCE.read_text())
    body = max(long, key=len)
    alone = model.embed([title])[0]
    beside = model.embed([body, title, "SIM card"])[1]  # one batch, padded to the body's length
    assert float(alone @ beside) > 0.9999


def test_b_a_rebuild_s_sessions_embed_every_text_as_the_shared_one_does():
    """`Embedder.parallel` (python run.py reindex): single-threaded sessions share a call's batches;
    every text must come out, in its own row, as one session makes it."""
    model = embedding.shared()
    texts = [f"{' '.join(titles(1 + n % 7))} {n}" for n in range(90)]  # many lengths, many batches
    alone = model.embed(texts, batch=8)
    with model.parallel(3):
        shared_out = model.embed(texts, batch=8)
    assert model.workers == 1  # back to the one session afterwards
    assert np.allclose(np.linalg.norm(shared_out, axis=1), 1, atol=1e-5)
    assert float(np.min(np.sum(alone * shared_out, axis=1))) > 0.9999


def test_b_a_tampered_model_file_is_refused(tmp_path, monkeypatch):
    onnx, tokenizer = embedding.model_files()
    data = bytearray(onnx.read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered = tmp_path / "model.onnx"
    tampered.write_bytes(bytes(data))
    monkeypatch.setattr(embedding, "model_files", lambda: (tampered, tokenizer))
    with pytest.raises(ModelMissing, match="sha256"):
        embedding.Embedder()
    tampered.write_bytes(onnx.read_bytes())  # the same seam with the real bytes loads
    assert embedding.Embedder(threads=1).embed_one("SIM card").shape == (embedding.DIMENSIONS,)


# ----- c. killed mid-batch, run again -----

STALLING_REINDEX = """
import sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from search import embedding
real, calls = embedding.Embedder.embed, []

def embed(self, texts, batch=embedding.BATCH):
    calls.append(len(texts))
    if len(calls) == 3:  # the third batch: read, being embedded, never committed
        Path({mark!r}).write_text("stalled")
        time.sleep(3600)
    return real(self, texts, batch)

embedding.Embedder.embed = embed
import run
run.cli(["reindex", "--vectors-only", "--fresh", "--batch", "32"])
"""


async def test_c_a_rebuild_killed_mid_batch_goes_on_where_it_stopped(database, users, tmp_path):
    asker = await users("asker", 200)
    ids = await bulk_questions(260, asker.id)
    hidden, deleted, duplicates = ids[5:8], ids[40:42], ids[100:103]
    await Post.filter(id__in=hidden).update(hidden=True)
    await Post.filter(id__in=deleted).update(deleted_at=clock.now())
    await Post.filter(id__in=duplicates).update(closed_reason="duplicate", duplicate_of_id=ids[0])
    # Before: vectors of another model for some, and for the last ones a wrong vector under the right
    # digest (only --fresh embeds those again); a hidden question still has a vector.
    now = Post._meta.fields_map["created_at"].to_db_value(clock.now(), None)
    junk = vectors.to_bytes(np.full(embedding.DIMENSIONS, 1 / np.sqrt(embedding.DIMENSIONS), dtype=np.float32))
    docs = {d.question_id: d for d in (await documents.load(ids))[0]}
    before = [(qid, "old-model", "x", junk) for qid in ids[10:30]] + [(hidden[0], MODEL_ID, "x", junk)]
    before += [(qid, MODEL_ID, vectors.digest_of(vectors.text_of(docs[qid])), junk) for qid in ids[-40:]]
    for seq, (qid, model, digest, raw) in enumerate(before, start=1):
        await db.execute("INSERT INTO search_vector (question_id, seq, model, digest, vector, updated_at)"
                         " VALUES (?, ?, ?, ?, ?, ?)", [qid, seq, model, digest, raw, now])

    env = {**os.environ, "DATABASE_URL": database, "SECRET_KEY": "test-secret", "VAR_DIR": str(tmp_path / "cli-var"),
           "DEMO_DATA": "0", "EMBED_THREADS": "1"}
    mark = tmp_path / "stalled"
    script = tmp_path / "stalling_reindex.py"
    script.write_text(STALLING_REINDEX.format(root=str(ROOT), mark=str(mark)))
    proc = await asyncio.create_subprocess_exec(sys.executable, str(script), env=env, cwd=ROOT,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        for _ in range(1200):  # the third batch is being embedded once the mark exists
            if mark.exists() or proc.returncode is not None:
                break
            await asyncio.sleep(0.05)
        assert mark.exists(), (await proc.communicate())[1].decode()[-2000:]
        # The rebuild stores batch two while the model embeds batch three (`Fill.run`): let that
        # commit land, then kill the process with the third batch in the model's hands.
        wanted = await expected_vectors()
        for _ in range(200):
            got = await rows()
            if all(qid in got and got[qid]["digest"] == vectors.digest_of(vectors.text_of(docs[qid]))
                   for qid in ids[:64] if qid in wanted):
                break
            await asyncio.sleep(0.05)
    finally:
        if proc.returncode is None:
            proc.kill()  # SIGKILL: nothing runs on the way out
        await proc.wait()

    # Two batches of 32 questions were committed; the third was lost with the process.
    got = await rows()
    done = [qid for qid in ids[:64] if qid in wanted]
    assert all(got[qid]["digest"] == vectors.digest_of(vectors.text_of(docs[qid])) for qid in done)
    assert all(got[qid]["digest"] == "" for qid in ids[-40:])  # --fresh forgot them before it started
    assert not any(qid in got for qid in ids[64:] if qid not in ids[-40:] and qid not in ids[10:30])

    done_run = await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "run.py"), "reindex", "--vectors-only",
                                                    "--batch", "32", env=env, cwd=ROOT,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await done_run.communicate()
    assert done_run.returncode == 0, err.decode()[-2000:]
    embedded = int(re.search(r"Embedded (\d+) questions", out.decode()).group(1))
    assert embedded == len(wanted) - len(done)  # only the rest
    assert "vectors" in err.decode()  # the progress bar

    final = await rows()
    assert sorted(final) == sorted(set(wanted) | {hidden[0]}) and final[hidden[0]]["vector"] is None
    assert all(r["model"] == MODEL_ID for r in final.values())
    assert_same_vectors(await live_vectors(), wanted)
    assert len({r["seq"] for r in final.values()}) == len(final)


# ----- d. a rebuilt set equals the live one -----


async def test_d_a_rebuilt_vector_set_equals_the_live_one(config, database, users):
    indexer = Indexer(backend_for(config))
    askers = [await users(f"asker{n}", 200) for n in range(3)]
    moderator = await users("mod", 1, "moderator")
    asked = []
    for n, title in enumerate(titles(36)):
        asked.append(await questions.ask(askers[n % 3], title, f"{title}. It started last week, restarting did not help.",
                                         "network"))
        if n % 12 == 11:
            await indexer.drain()
    await questions.edit(askers[0], asked[0].id, title="My personal hotspot stops when the screen locks")
    await closing.vote(moderator, asked[1].id, "close", "duplicate", asked[2].id)
    await posts.delete(moderator, asked[3].id)
    await indexer.drain()
    live = await live_vectors()
    assert_same_vectors(live, await expected_vectors())
    live_index = NeighbourIndex()
    await live_index.follow(force=True)

    await vectors.forget_digests()  # what `reindex --fresh` does first
    assert await vectors.rebuild(embedding.shared(), batch=10) == len(live)
    rebuilt = await live_vectors()
    assert_same_vectors(rebuilt, live)
    rebuilt_index = NeighbourIndex()
    await rebuilt_index.follow(force=True)
    assert top5(rebuilt_index, sorted(live)) == top5(live_index, sorted(live))
    await live_index.follow(force=True)  # the live index takes the rewritten rows: nothing moves
    assert top5(live_index, sorted(live)) == top5(rebuilt_index, sorted(live))


# ----- the first start after an upgrade -----


async def test_the_indexer_fills_missing_vectors_in_the_background(lexical, database, users, caplog):
    backend = backend_for(lexical)
    asker = await users("asker", 200)
    ids = await bulk_questions(150, asker.id)
    await db.execute("INSERT INTO search_vector (question_id, seq, model, digest, vector, updated_at) VALUES (?, 1, ?, '', ?, ?)",
                     [ids[0], "old-model", vectors.to_bytes(np.ones(embedding.DIMENSIONS, dtype=np.float32)),
                      Post._meta.fields_map["created_at"].to_db_value(clock.now(), None)])
    assert await vectors.outdated() == "vectors of another model are stored"
    caplog.set_level(logging.INFO, "search.indexer")
    loop = asyncio.create_task(Indexer(backend).run(poll=0.05))
    try:
        asked = await questions.ask(asker, "Voicemail greeting resets every night",
                                    "Each morning the greeting is the default one again.", "voicemail")

        async def filled() -> None:
            while (await vectors.outdated() is not None or len(await live_vectors()) < len(ids) + 1
                   or asked.id not in [h.question_id for h in (await backend.search("voicemail greeting")).items]):
                await asyncio.sleep(0.05)

        await asyncio.wait_for(filled(), timeout=60)
    finally:
        loop.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loop
    assert_same_vectors(await live_vectors(), await expected_vectors())
    assert "question vectors out of date (vectors of another model are stored)" in caplog.text
    assert "question vectors up to date" in caplog.text


async def test_the_app_loads_the_neighbour_index_at_start(config, database, users):
    from community.app import create_app
    from search.web import search_backend

    asker = await users("asker", 200)
    await bulk_questions(20, asker.id)
    await vectors.rebuild(embedding.shared())
    app = create_app(config, manage_db=False, background=True)  # config: RUN_INDEXER=0, so only the warm-up
    async with app.router.lifespan_context(app):
        index = search_backend(app).neighbours

        async def loaded() -> None:
            while len(index) < 20:
                await asyncio.sleep(0.02)

        await asyncio.wait_for(loaded(), timeout=30)
    assert index.seq == max(r["seq"] for r in (await rows()).values())


async def test_outdated_sees_missing_vectors_and_another_text(database, users, monkeypatch):
    asker = await users("asker", 200)
    assert await vectors.outdated() is None  # no questions: nothing to fill
    ids = await bulk_questions(5, asker.id)
    assert await vectors.outdated() == "questions have no vector"
    await vectors.rebuild(embedding.shared())
    assert await vectors.outdated() is None
    monkeypatch.setattr(vectors, "text_of", lambda doc: doc.title + "\n" + doc.body[:50])
    assert await vectors.outdated() == "vectors were made from another text"
    monkeypatch.undo()
    await db.execute("UPDATE search_vector SET vector = NULL WHERE question_id = ?", [ids[0]])
    assert await vectors.outdated() == "questions have no vector"
    await Post.filter(id=ids[0]).update(closed_reason="duplicate", duplicate_of_id=ids[1])  # needs none
    assert await vectors.outdated() is None


# ----- e. the neighbour index -----


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    """Clustered unit vectors, as sentence embeddings are (topics), rather than uniform noise."""
    centres = rng.normal(size=(12, embedding.DIMENSIONS))
    points = centres[rng.integers(0, 12, n)] + rng.normal(scale=0.6, size=(n, embedding.DIMENSIONS))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def test_e_exact_and_approximate_agree_on_the_nearest():
    rng = np.random.default_rng(16)
    points = unit(rng, 400)
    exact, approx = NeighbourIndex(), NeighbourIndex(approx_from=50)
    for qid, vector in enumerate(points[:100], start=1):
        exact.put(qid, vector)
        approx.put(qid, vector)
    changes = [(qid, vector) for qid, vector in enumerate(points[100:], start=101)]
    exact.put_many(changes)
    approx.put_many(changes)
    assert approx.approximate and not exact.approximate and len(exact) == len(approx) == 400
    queries = unit(rng, 60)
    found = sum(len({q for q, _ in exact.search(v, 5)} & {q for q, _ in approx.search(v, 5)}) for v in queries)
    assert found / (5 * len(queries)) >= 0.95
    for v in queries[:5]:  # similarities are cosines in both modes (float16 in the graph)
        # The graph is approximate (and built by several threads): compare the questions both found.
        exact_sims, approx_sims = dict(exact.search(v, 5)), dict(approx.search(v, 5))
        both = sorted(set(exact_sims) & set(approx_sims))
        assert len(both) >= 3
        assert np.allclose([exact_sims[q] for q in both], [approx_sims[q] for q in both], atol=2e-3)


@pytest.mark.parametrize("approximate", [False, True])
def test_e_put_replace_and_remove(approximate):
    rng = np.random.default_rng(7)
    points = unit(rng, 60)
    index = NeighbourIndex(approx_from=20 if approximate else 10_000)
    index.put_many([(qid, v) for qid, v in enumerate(points[:50], start=1)])
    assert index.approximate is approximate and len(index) == 50
    assert index.search(points[0], 1)[0][0] == 1
    assert index.search(points[0], 3, exclude={1})[0][0] != 1
    index.put(1, points[55])  # replaced: found by its new vector, not by the old one
    assert index.search(points[55], 1)[0] == (1, pytest.approx(1.0, abs=2e-3))
    assert 1 not in [q for q, s in index.search(points[0], 5) if s > 0.99]
    assert np.allclose(index.vector_of(1), points[55], atol=2e-3) and len(index) == 50
    index.put(2, None)
    index.put(999, None)  # removing what is not there is harmless
    assert index.vector_of(2) is None and len(index) == 49
    assert 2 not in [q for q, _ in index.search(points[1], 49)]
    index.put(2, points[1])  # back again
    assert index.search(points[1], 1)[0][0] == 2 and len(index) == 50
    index.put_many([(3, None), (3, points[56]), (4, points[57]), (4, None)])  # the last change of each wins
    assert np.allclose(index.vector_of(3), points[56], atol=2e-3) and index.vector_of(4) is None
    assert len(index) == 49


@pytest.mark.parametrize("approx_from", [10_000, 3])
async def test_e_follow_picks_up_rows_written_after_it_loaded(database, approx_from):
    from search.documents import ThreadDoc

    def doc(qid: int, title: str) -> ThreadDoc:
        return ThreadDoc(qid, title, "", "", [], "", None)

    model = embedding.shared()
    await vectors.write([doc(1, "SIM card not detected"), doc(2, "Top-up payment declined"),
                         doc(3, "Voicemail greeting is gone")], [], model)
    index = NeighbourIndex(approx_from=approx_from)
    await index.follow(force=True)
    assert len(index) == 3 and index.approximate is (approx_from == 3)
    await vectors.write([doc(4, "eSIM shows no service after the update"), doc(2, "Card payment for my top-up failed")],
                        [3], model)
    await index.follow(force=True)
    assert len(index) == 3 and index.vector_of(3) is None
    query = model.embed_one("my esim has no service")
    assert index.search(query, 1)[0][0] == 4
    assert np.allclose(index.vector_of(2), model.embed_one("Card payment for my top-up failed"), atol=2e-3)
    seq = index.seq
    await index.follow()  # within FOLLOW_SECONDS of the last look, or not: nothing new either way
    assert index.seq == seq and len(index) == 3
