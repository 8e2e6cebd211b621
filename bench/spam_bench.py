"""Spam triage on real spam and real posts, measured on data it was not trained on (issue 15).

Ham: every question and answer of the Stack Exchange sites in ../shared/datasets/stackexchange/
(read with the importer's reader). Spam: the 1,005 spam comments of the YouTube Spam Collection
(../shared/datasets/spam/) and the forum-style spam of tests/data/forum_spam.jsonl
(bench/make_forum_spam.py). Each source is split 70/30 by a hash of the text; the naive Bayes
model (moderation/spam_model.py) learns the training part as moderators' decisions would teach it,
and the held-out part is scored three ways:

- model: the learned model alone (spam when its log-odds are above 0);
- triage: the whole score as the forum computes it (`spam_model.combine`), each post as the first
  post of a member who signed up an hour before, with the domains of the training ham as the
  community's known domains, held at the default threshold;
- fresh: the triage of a community whose moderators have decided nothing yet (no model).

Figures are per source, so a classifier that only tells "music comment" from "support post" shows:
the YouTube collection's own ham (music-video chat, never trained on) is scored as an out-of-domain
check. A last run leaves each forum-spam family out of training in turn (a new kind of scam).

    .venv/bin/python bench/spam_bench.py [--markdown]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from community.insights.importer import read_rows  # noqa: E402
from moderation import spam_model  # noqa: E402

SHARED = ROOT.parent / "shared" / "datasets"
STACKEXCHANGE = SHARED / "stackexchange"
YOUTUBE = SHARED / "spam" / "youtube-spam-collection"
FORUM_SPAM = ROOT / "tests" / "data" / "forum_spam.jsonl"
THRESHOLD = 70.0  # spam.hold_score's default
MIN_DECISIONS = 5  # spam.model_min_decisions's default
TRAIN_SHARE = 7  # of 10


@dataclass
class Sample:
    source: str  # "youtube spam", "forum spam", "ham: cardano.stackexchange.com", "youtube ham (not trained)"
    spam: bool
    title: str
    body: str
    family: str = ""
    text: spam_model.Text | None = None
    tokens: list[str] = field(default_factory=list)

    def read(self) -> Sample:
        self.text = spam_model.read(self.title, self.body)
        self.tokens = spam_model.tokens(self.text)
        return self

    @property
    def in_training(self) -> bool:
        return zlib.crc32(f"{self.title}\n{self.body}".encode()) % 10 < TRAIN_SHARE


def stackexchange(root: Path = STACKEXCHANGE) -> Iterator[Sample]:
    for site in sorted(p for p in root.iterdir() if (p / "Posts.xml").exists()):
        for batch in read_rows(site / "Posts.xml", 2000):
            for row in batch:
                if row.get("PostTypeId") in ("1", "2") and row.get("Body"):
                    yield Sample(f"ham: {site.name}", False, row.get("Title", ""), row["Body"])


def youtube(root: Path = YOUTUBE) -> Iterator[Sample]:
    for path in sorted(root.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                spam = row["CLASS"].strip() == "1"
                yield Sample("youtube spam" if spam else "youtube ham (not trained)", spam, "", row["CONTENT"])


def forum_spam(path: Path = FORUM_SPAM) -> Iterator[Sample]:
    for line in path.read_text().splitlines():
        p = json.loads(line)
        yield Sample("forum spam", True, p["title"], p["body"], family=p["family"])


def load() -> list[Sample]:
    return [s.read() for s in (*stackexchange(), *youtube(), *forum_spam())]


def trainable(s: Sample) -> bool:
    return s.source != "youtube ham (not trained)"


def train(samples: list[Sample]) -> tuple[spam_model.Counts, frozenset[str]]:
    """The model's counts, and the domains of the training ham (the community's known domains)."""
    counts = spam_model.Counts()
    known: set[str] = set()
    for s in samples:
        counts.learn(s.tokens, s.spam)
        if not s.spam:
            known.update(s.text.domains)
    return counts, frozenset(known)


def scores(s: Sample, counts: spam_model.Counts, known: frozenset[str]) -> tuple[float, float, float]:
    """(the model's log-odds, the whole triage's score, the score before any decision)."""
    verdict = spam_model.judge(s.tokens, counts, MIN_DECISIONS)
    spam_domains = frozenset(d for d in s.text.domains if counts.get(f"dom:{d[:70]}", (0, 0))[0] > 0
                             and counts.get(f"dom:{d[:70]}", (0, 0))[1] == 0)
    signals = spam_model.Signals(s.text, verdict, known_domains=known, spam_domains=spam_domains, account_age_seconds=3600)
    fresh = spam_model.Signals(s.text, spam_model.judge(s.tokens, {}, MIN_DECISIONS), known_domains=known,
                               account_age_seconds=3600)
    return verdict.log_odds, spam_model.combine(signals)[0], spam_model.combine(fresh)[0]


def verdicts(s: Sample, counts: spam_model.Counts, known: frozenset[str], threshold: float = THRESHOLD) -> dict[str, bool]:
    model, triage, fresh = scores(s, counts, known)
    return {"model": model > 0, "triage": triage >= threshold, "fresh": fresh >= threshold}


@dataclass
class Tally:
    n: int = 0
    flagged: dict[str, int] = field(default_factory=lambda: {"model": 0, "triage": 0, "fresh": 0})

    def add(self, v: dict[str, bool]) -> None:
        self.n += 1
        for k, flagged in v.items():
            self.flagged[k] += flagged

    def rate(self, k: str) -> float:
        return self.flagged[k] / self.n if self.n else 0.0


def evaluate(samples: list[Sample]) -> dict:
    """Train on the training part, score the held-out part; figures per source and overall."""
    counts, known = train([s for s in samples if s.in_training and trainable(s)])
    per_source: dict[str, Tally] = {}
    started = time.perf_counter()
    held_out = [s for s in samples if not s.in_training or not trainable(s)]
    scored = [(s, scores(s, counts, known)) for s in held_out]
    seconds = time.perf_counter() - started
    for s, (model, triage, fresh) in scored:
        per_source.setdefault(s.source, Tally()).add({"model": model > 0, "triage": triage >= THRESHOLD, "fresh": fresh >= THRESHOLD})
    sweep = {}
    for threshold in (50, 60, 70, 80, 90):
        by: dict[str, list[int]] = {}
        for s, (_, triage, _) in scored:
            kind = "SE ham" if s.source.startswith("ham: ") else s.source
            by.setdefault(kind, [0, 0])
            by[kind][0] += triage >= threshold
            by[kind][1] += 1
        sweep[threshold] = {k: held / n for k, (held, n) in by.items()}
    overall = {}
    for k in ("model", "triage", "fresh"):
        tp = sum(t.flagged[k] for src, t in per_source.items() if src in ("youtube spam", "forum spam"))
        fn = sum(t.n - t.flagged[k] for src, t in per_source.items() if src in ("youtube spam", "forum spam"))
        fp = sum(t.flagged[k] for src, t in per_source.items() if src.startswith("ham: "))
        ham = sum(t.n for src, t in per_source.items() if src.startswith("ham: "))
        overall[k] = {"precision": tp / (tp + fp) if tp + fp else 0.0, "recall": tp / (tp + fn) if tp + fn else 0.0,
                      "false_positive_rate": fp / ham if ham else 0.0}
    trained = counts.get(spam_model.DOCS, (0, 0))
    return {"per_source": per_source, "overall": overall, "trained": trained, "held_out": len(held_out), "sweep": sweep,
            "ms_per_post": 1000 * seconds / max(1, len(held_out)) / 2}  # two scorings per post (triage and fresh)


def leave_family_out(samples: list[Sample]) -> dict[str, float]:
    """Recall of the whole triage on each forum-spam family when no post of that family was trained on."""
    out: dict[str, float] = {}
    for family in sorted({s.family for s in samples if s.family}):
        train_set = [s for s in samples if s.in_training and trainable(s) and s.family != family]
        counts, known = train(train_set)
        tested = [s for s in samples if s.family == family]
        out[family] = sum(verdicts(s, counts, known)["triage"] for s in tested) / len(tested)
    return out


def report(result: dict, families: dict[str, float], markdown: bool) -> str:
    lines = []
    spam_docs, ham_docs = result["trained"]
    lines.append(f"Trained on {spam_docs} spam and {ham_docs} ham posts; {result['held_out']} held-out posts scored "
                 f"({result['ms_per_post']:.2f} ms per scoring).")
    lines.append("")
    lines.append("| held-out source | posts | model alone | whole triage | triage before any decision |")
    lines.append("|---|---|---|---|---|")
    for src in sorted(result["per_source"], key=lambda s: (not s.endswith("spam"), s)):
        t = result["per_source"][src]
        what = "caught" if src.endswith("spam") else "held (false positives)"
        lines.append(f"| {src} ({what}) | {t.n} | {t.rate('model'):.1%} | {t.rate('triage'):.1%} | {t.rate('fresh'):.1%} |")
    lines.append("")
    lines.append("| overall (spam: YouTube + forum; ham: Stack Exchange) | precision | recall | false-positive rate |")
    lines.append("|---|---|---|---|")
    for k, name in (("model", "model alone"), ("triage", "whole triage"), ("fresh", "triage before any decision")):
        o = result["overall"][k]
        lines.append(f"| {name} | {o['precision']:.1%} | {o['recall']:.1%} | {o['false_positive_rate']:.2%} |")
    lines.append("")
    lines.append("| hold threshold | forum spam held | YouTube spam held | Stack Exchange ham held | YouTube ham held |")
    lines.append("|---|---|---|---|---|")
    for threshold, rates in result["sweep"].items():
        lines.append(f"| {threshold}{' (default)' if threshold == THRESHOLD else ''} | {rates.get('forum spam', 0):.1%} | "
                     f"{rates.get('youtube spam', 0):.1%} | {rates.get('SE ham', 0):.2%} | {rates.get('youtube ham (not trained)', 0):.1%} |")
    lines.append("")
    lines.append("| forum-spam family left out of training | whole triage recall |")
    lines.append("|---|---|")
    for family, recall in families.items():
        lines.append(f"| {family} | {recall:.1%} |")
    text = "\n".join(lines)
    return text if markdown else text.replace("|---", "").replace("---|", "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    if not STACKEXCHANGE.exists() or not YOUTUBE.exists():
        sys.exit(f"The datasets are not at {SHARED} (../shared beside the checkout).")
    samples = load()
    print(report(evaluate(samples), leave_family_out(samples), args.markdown))


if __name__ == "__main__":
    main()
