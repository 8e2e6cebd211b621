"""Generate a search benchmark corpus (default 100,000 posts) from the Stack Exchange datasets' real text.

The four sites hold about 6,000 posts; the corpus recombines their real titles, sentences, tags and
answers into as many threads as asked for (about 40% questions, 60% answers), so word frequencies
and lengths stay those of real forum text. Deterministic for a given --seed.

    .venv/bin/python bench/make_corpus.py --posts 100000 --out var/bench/corpus.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search.corpus import read_all  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets" / "stackexchange"
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=100_000)
    ap.add_argument("--out", type=Path, default=ROOT / "var" / "bench" / "corpus.jsonl")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--datasets", type=Path, default=DATASETS)
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    docs, _ = read_all(args.datasets)
    titles = [d.title for d in docs if d.title]
    sentences = [s for d in docs for s in _SENTENCE.split(d.body) if 20 <= len(s) <= 400]
    answers = [a for d in docs for a in d.answers.split("\n") if len(a) >= 40]
    answer_sentences = [s for a in answers for s in _SENTENCE.split(a) if 20 <= len(s) <= 400]
    tag_sets = [d.tags for d in docs if d.tags]
    vocabulary = sorted({w for t in titles for w in t.split() if w.isalpha() and len(w) > 3})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    posts = 0
    qid = 0
    with args.out.open("w") as out:
        while posts < args.posts:
            qid += 1
            words = rnd.choice(titles).split()
            for _ in range(rnd.choice((0, 1, 1, 2))):  # vary titles so they are not all exact copies
                words[rnd.randrange(len(words))] = rnd.choice(vocabulary)
            n_answers = min(rnd.choice((0, 1, 1, 1, 2, 2, 3)), args.posts - posts - 1)
            state = "unanswered"
            if n_answers:
                state = "solved" if rnd.random() < 0.4 else "answered"
            thread = {
                "id": qid, "title": " ".join(words)[:150],
                "body": " ".join(rnd.choice(sentences) for _ in range(rnd.randint(2, 6))),
                "tags": rnd.choice(tag_sets)[:5], "score": int(rnd.gauss(1, 3)), "state": state,
                "answers": [" ".join(rnd.choice(answer_sentences) for _ in range(rnd.randint(2, 8)))
                            for _ in range(n_answers)],
                "days_ago": rnd.randint(0, 1500),
            }
            out.write(json.dumps(thread) + "\n")
            posts += 1 + n_answers
    print(f"wrote {posts} posts in {qid} threads to {args.out}")


if __name__ == "__main__":
    main()
