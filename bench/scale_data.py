"""The scale benchmark's forum generator (issue 17): rows for every table, from real Stack Exchange text.

Used by `bench/scale_bench.py generate`. It recombines the shared datasets' real titles, sentences
and tags (as `bench/make_corpus.py` does) into N questions with about two answers each, comments,
votes, tags with a Zipf spread, members with a heavy-tailed reputation spread (one ledger row each,
so `reputation = 1 + sum(ledger)` holds), accepted answers, watches, a few inbox notifications for
the members the load logs in as, and the search documents' text. Everything is streamed in chunks
of questions as tuples in each table's column order, ready for asyncpg's COPY; deterministic for a
seed (one `random.Random`, consumed in one order).
"""

from __future__ import annotations

import hashlib
import html
import math
import random
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from search.corpus import read_all  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets" / "stackexchange"
END = datetime(2026, 11, 1, tzinfo=timezone.utc)  # the newest generated question (fixed: deterministic)
SPAN_DAYS = 5 * 365
TAGS = 3000
WRITERS = 40  # members with API tokens who post the load's writes (the highest reputations)
READERS = 40  # members the load logs in as for member reads (the next highest)
PASSWORD = "bench-password-1"  # every generated member's password
EXCERPT_CHARS = 600  # search.documents.EXCERPT_CHARS
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_TAG_OK = re.compile(r"^[a-z0-9+#.-]{1,35}$")

COLUMNS: dict[str, tuple[str, ...]] = {
    "user": ("id", "username", "email", "password_hash", "role", "reputation", "about", "created_at",
             "suspension_reason", "display_name", "email_confirmed_at"),
    "tag": ("id", "name", "description", "question_count"),
    "post": ("id", "kind", "question_id", "author_id", "title", "body", "body_html", "score", "created_at",
             "last_activity_at", "official", "tag_names", "state", "answer_count", "accepted_answer_id",
             "first_answer_at", "view_count", "locked", "hidden", "escalation_exempt"),
    "post_tag": ("post_id", "tag_id"),
    "comment": ("id", "post_id", "author_id", "body", "body_html", "created_at"),
    "vote": ("id", "post_id", "voter_id", "value", "created_at"),
    "reputation_event": ("id", "user_id", "amount", "reason", "ref", "post_id", "created_at", "day"),
    "question_watch": ("id", "user_id", "question_id", "active", "created_at"),
    "notification": ("id", "user_id", "kind", "text", "url", "created_at", "question_id", "post_id"),
    "api_token": ("id", "user_id", "digest", "created_at", "expires_at", "label"),
    # Staging for the search documents (an UNLOGGED table the generator makes and drops).
    "scale_search_text": ("question_id", "title", "body", "answers", "excerpt", "tags", "people", "state", "score",
                          "answer_count", "quality", "created_at"),
}


def token_for(user_id: int) -> str:
    """The API token of a writer member (the load recomputes it; a throwaway benchmark database)."""
    return f"scale-bench-token-{user_id}"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()  # community.accounts._digest


@dataclass
class Text:
    titles: list[str]
    sentences: list[str]
    answer_sentences: list[str]
    comment_sentences: list[str]
    vocabulary: list[str]
    real_tags: list[str]  # by frequency in the datasets, most used first


def read_text(datasets: Path = DATASETS) -> Text:
    docs, _ = read_all(datasets)
    titles = [d.title for d in docs if d.title]
    sentences = [s for d in docs for s in _SENTENCE.split(d.body) if 20 <= len(s) <= 400]
    answers = [a for d in docs for a in d.answers.split("\n") if len(a) >= 40]
    answer_sentences = [s for a in answers for s in _SENTENCE.split(a) if 20 <= len(s) <= 400]
    counts: dict[str, int] = {}
    for d in docs:
        for t in d.tags:
            counts[t.lower()] = counts.get(t.lower(), 0) + 1
    real_tags = [t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if _TAG_OK.match(t)]
    vocabulary = sorted({w.lower() for t in titles for w in t.split() if w.isalpha() and len(w) > 3})
    return Text(titles, sentences, answer_sentences, [s for s in answer_sentences if len(s) <= 200],
                vocabulary, real_tags)


@dataclass
class Plan:
    questions: int
    members: int
    seed: int
    reputations: list[int] = field(default_factory=list)  # index i: member id i + 1
    author_weights: list[float] = field(default_factory=list)  # cumulative, for random.choices
    tag_names: list[str] = field(default_factory=list)  # index i: tag id i + 1, most used first
    tag_weights: list[float] = field(default_factory=list)  # cumulative Zipf weights
    tag_counts: list[int] = field(default_factory=list)
    writers: list[int] = field(default_factory=list)
    readers: list[int] = field(default_factory=list)


def members_for(questions: int) -> int:
    return max(2000, questions // 4)


def plan(questions: int, seed: int, text: Text) -> Plan:
    """Members' reputations, who writes how much, and the tags: the parts every chunk shares."""
    rnd = random.Random(seed)
    p = Plan(questions, members_for(questions), seed)
    # Heavy-tailed: half the members never earn anything, the rest follow a Pareto law (a few have tens of thousands).
    p.reputations = [1 if rnd.random() < 0.5 else min(250_000, int(1 + 5 * rnd.paretovariate(0.9)))
                     for _ in range(p.members)]
    acc = 0.0
    for rep in p.reputations:  # active members write more: weight grows with the log of reputation
        acc += 1.0 + math.log1p(rep) ** 2
        p.author_weights.append(acc)
    ranked = sorted(range(p.members), key=lambda i: (-p.reputations[i], i))
    p.writers = [i + 1 for i in ranked[:WRITERS]]
    p.readers = [i + 1 for i in ranked[WRITERS:WRITERS + READERS]]
    names = list(text.real_tags[:TAGS])
    seen = set(names)
    while len(names) < TAGS:  # more tags than the datasets have: real words joined, as people coin tags
        name = f"{rnd.choice(text.vocabulary)}-{rnd.choice(text.vocabulary)}"[:35].strip("-")
        if name not in seen and _TAG_OK.match(name):
            seen.add(name)
            names.append(name)
    p.tag_names = names
    acc = 0.0
    for r in range(1, TAGS + 1):
        acc += 1.0 / r ** 1.07
        p.tag_weights.append(acc)
    p.tag_counts = [0] * TAGS
    return p


def _paragraphs(rnd: random.Random, pool: list[str], lo: int, hi: int) -> tuple[str, str, str]:
    """(Markdown source, rendered HTML, plain text) of a few paragraphs of real sentences."""
    chosen = [rnd.choice(pool) for _ in range(rnd.randint(lo, hi))]
    paras, i = [], 0
    while i < len(chosen):
        n = rnd.randint(1, 3)
        paras.append(" ".join(chosen[i:i + n]))
        i += n
    return ("\n\n".join(paras), "".join(f"<p>{html.escape(s, quote=False)}</p>\n" for s in paras), " ".join(chosen))


def _quality(state: str, score: int) -> float:
    """search.documents.ThreadDoc.quality."""
    bonus = 0.25 if state == "solved" else 0.0
    bonus += 0.2 * min(math.log1p(max(score, 0)), 3.0)
    if score < 0:
        bonus -= 0.1
    return 1.0 + bonus


def members(p: Plan, password_hash: str) -> Iterator[tuple]:
    rnd = random.Random(p.seed + 1)
    start = END - timedelta(days=SPAN_DAYS + 400)
    for i, rep in enumerate(p.reputations):
        uid = i + 1
        joined = start + timedelta(seconds=rnd.randrange(SPAN_DAYS * 86400))
        yield (uid, f"member{uid}", f"member{uid}@example.com", password_hash, "member", rep,
               "", joined, "", "", joined)


def ledger(p: Plan) -> Iterator[tuple]:
    """One 'earlier_history' row per member above 1, so reputation = 1 + sum(ledger) holds."""
    n = 0
    for i, rep in enumerate(p.reputations):
        if rep > 1:
            n += 1
            when = END - timedelta(days=(i * 7919) % SPAN_DAYS)
            yield (n, i + 1, rep - 1, "earlier_history", f"bench:member{i + 1}", None, when, when.date())


def tags(p: Plan) -> Iterator[tuple]:
    for i, name in enumerate(p.tag_names):
        yield (i + 1, name, "", p.tag_counts[i])


def tokens(p: Plan) -> Iterator[tuple]:
    for n, uid in enumerate(p.writers, start=1):
        yield (n, uid, token_digest(token_for(uid)), END, END + timedelta(days=3650), "scale benchmark")


class Chunks:
    """Questions in chunks, each with its answers, comments, votes, tags, watches and search text."""

    ANSWERS = (0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 6, 8)  # mean ~2.1
    COMMENTS = (0, 0, 0, 0, 0, 0, 1, 1, 1, 2)
    VOTES = (0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 4, 6, 9)

    def __init__(self, p: Plan, text: Text) -> None:
        self.p, self.t = p, text
        self.rnd = random.Random(p.seed + 2)
        self.answer_id = p.questions  # answers take the ids after the questions
        self.comment_id = self.vote_id = self.watch_id = self.notification_id = 0
        self.readers = set(p.readers)
        self.ids = list(range(1, p.members + 1))
        self.step = SPAN_DAYS * 86400 / max(p.questions, 1)
        self.start = END - timedelta(days=SPAN_DAYS)

    def _author(self) -> int:
        return self.rnd.choices(self.ids, cum_weights=self.p.author_weights)[0]

    def _title(self) -> str:
        words = self.rnd.choice(self.t.titles).split()
        for _ in range(self.rnd.choice((0, 1, 1, 2))):  # not all exact copies
            words[self.rnd.randrange(len(words))] = self.rnd.choice(self.t.vocabulary)
        return " ".join(words)[:150]

    def _votes(self, post_id: int, author: int, created: datetime, out: list) -> int:
        k = self.rnd.choice(self.VOTES)
        score = 0
        if k:
            for voter in self.rnd.sample(range(1, self.p.members + 1), k + 1):
                if voter == author or k == 0:
                    continue
                k -= 1
                value = -1 if self.rnd.random() < 0.08 else 1
                score += value
                self.vote_id += 1
                out.append((self.vote_id, post_id, voter, value, created + timedelta(minutes=self.rnd.randint(5, 40000))))
        return score

    def _comments(self, post_id: int, created: datetime, out: list) -> datetime:
        last = created
        for _ in range(self.rnd.choice(self.COMMENTS)):
            self.comment_id += 1
            body = self.rnd.choice(self.t.comment_sentences)
            when = created + timedelta(minutes=self.rnd.randint(1, 3000))
            last = max(last, when)
            out.append((self.comment_id, post_id, self._author(), body, f"<p>{html.escape(body, quote=False)}</p>", when))
        return last

    def chunk(self, first: int, last: int) -> dict[str, list[tuple]]:
        """Rows of every table for questions first..last (inclusive), in id order."""
        rnd, p = self.rnd, self.p
        out: dict[str, list[tuple]] = {k: [] for k in ("post", "post_tag", "comment", "vote", "question_watch",
                                                       "notification", "scale_search_text")}
        answers_out: list[tuple] = []
        for qid in range(first, last + 1):
            asker = self._author()
            asked = self.start + timedelta(seconds=(qid - 1) * self.step + rnd.random() * self.step)
            title = self._title()
            body, body_html, plain = _paragraphs(rnd, self.t.sentences, 2, 6)
            tag_ids = sorted({t + 1 for t in rnd.choices(range(TAGS), cum_weights=p.tag_weights, k=rnd.randint(1, 4))})
            for t in tag_ids:
                p.tag_counts[t - 1] += 1
                out["post_tag"].append((qid, t))
            n_answers = rnd.choice(self.ANSWERS)
            answers, texts, people = [], [], []
            first_answer = None
            activity = self._comments(qid, asked, out["comment"])
            for _ in range(n_answers):
                self.answer_id += 1
                aid = self.answer_id
                author = self._author()
                when = asked + timedelta(minutes=rnd.randint(3, 4000) if rnd.random() < 0.8 else rnd.randint(4000, 200000))
                a_body, a_html, a_plain = _paragraphs(rnd, self.t.answer_sentences, 2, 8)
                score = self._votes(aid, author, when, out["vote"])
                activity = max(activity, when, self._comments(aid, when, out["comment"]))
                answers.append([aid, author, a_body, a_html, score, when])
                texts.append(a_plain)
                people += [f"a:member{author}", f"a:#{author}"]
                if author != asker and (first_answer is None or when < first_answer):
                    first_answer = when
                if asker in self.readers and len(out["notification"]) < 100_000:
                    self.notification_id += 1
                    out["notification"].append((self.notification_id, asker, "answer", f"New answer to {title}"[:300],
                                                f"/questions/{qid}#a{aid}", when, qid, aid))
            accepted = None
            state = "unanswered"
            if answers:
                state = "answered"
                if rnd.random() < 0.4:
                    accepted = rnd.choice(answers)[0]
                    state = "solved"
            score = self._votes(qid, asker, asked, out["vote"])
            names = [p.tag_names[t - 1] for t in tag_ids]
            out["post"].append((qid, "question", None, asker, title, body, body_html, score, asked, activity, False,
                                " ".join(names), state, len(answers), accepted, first_answer, rnd.randint(0, 5000),
                                False, False, True))
            for aid, author, a_body, a_html, a_score, when in answers:
                answers_out.append((aid, "answer", qid, author, "", a_body, a_html, a_score, when, when, False, "",
                                    "unanswered", 0, None, None, 0, False, False, False))
            self.watch_id += 1
            out["question_watch"].append((self.watch_id, asker, qid, True, asked))
            out["scale_search_text"].append((
                qid, title, plain, "\n".join(texts), plain[:EXCERPT_CHARS], f" {' '.join(names)} ",
                " " + " ".join([f"q:member{asker}", f"q:#{asker}"] + sorted(set(people))) + " ",
                state, score, len(answers), _quality(state, score), asked))
        out["post"] += answers_out
        return out
