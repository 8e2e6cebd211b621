"""The Whoosh index: one document per thread, one writer, a reused searcher and a result cache.

Designed for the forum's queries rather than Whoosh's defaults:
- one document per thread (question + visible answers), so a search never groups posts afterwards;
- plain words are matched in one `text` field (title + question + answers, no positions): an AND
  of single posting lists instead of unions over three fields; the title adds its weight through
  an optional clause scored only on threads that already match, and for queries of very common
  words the (short) title postings are searched first;
- positions only in the title and question body, where "exact phrases" are matched; `answers`
  (for is:answer) has none;
- OR fallbacks and similar-question look-ups use only the rarest few words of the input, which
  carry the meaning and keep the number of threads scored small;
- the searcher is kept open and refreshed when the index generation changes, never reopened per
  request; results are cached per generation, so a new commit invalidates them all at once;
- hits are never counted beyond what a page needs (`len(results)` would re-run the whole query):
  the total is exact when the page is not full, otherwise Whoosh's estimate.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from markupsafe import Markup, escape
from whoosh import index, query as wq, scoring, writing
from whoosh.analysis import RegexTokenizer, LowercaseFilter, StemmingAnalyzer, StopFilter
from whoosh.fields import DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.matching import AndNotMatcher
from whoosh.searching import Results

from search import posting_skips, segment_files  # noqa: F401  (postings skipped by bisection; segment readers open without copying their files)
from search.documents import ThreadDoc
from search.membership import members
from search.postings import SegmentStats
from search.query import SearchQuery, Term, parse
from search.results import MAX_PAGE, PER_PAGE, Hit, SearchPage, rerank_window
from search.snippets import highlight, searched_words

log = logging.getLogger("search.index")

REFRESH_SECONDS = 0.25  # how often a searcher looks for a newer index generation
CACHE_SIZE = 2000
WINDOW = 20  # hits fetched per block (reranked by quality within the block)
SIMILAR_WINDOW = 15
TITLE_TIER_FROM = 500  # estimated full-text matches above which title matches are looked up first
SIMILAR_TITLE_TERMS, SIMILAR_BODY_TERMS = 6, 4
SIMILAR_BODY_BOOST = 0.4  # words taken from the body weigh less than the title's
SIMILAR_BODY_MATCH = 3  # the rarest title words also looked up in question bodies,
SIMILAR_BODY_MAX_SHARE = 0.02  # when they occur in at most 2% of them (short postings)
RELAXED_TERMS = 4  # an OR fallback uses only this many of the query's rarest words,
RELAXED_MAX_SHARE = 0.05  # and none found in more than 5% of threads (they would only add noise and time)
SNIPPET_CHARS = 220
MERGE_FANOUT = 8  # that many segments of one size tier are merged into one of the next tier
COMMIT_MERGE_DOCS = 64  # tiers wholly under this size are merged inside a commit (at most ~500 posts)
SMALL_SEGMENT_DOCS = 300_000  # bigger tiers, wholly under this size, are merged beside the commits
REBUILD_PROCS = 2  # worker processes a big rebuild indexes with (at most the machine's cores)
PARALLEL_REBUILD_FROM = 5000  # threads; smaller rebuilds index in this process

# Title words weigh most; the question body next; answers least (they often quote other problems).
TITLE_BOOST, BODY_BOOST, ANSWERS_BOOST = 3.0, 1.0, 0.6
TEXT_FIELDS = ("title", "body", "answers")
PHRASE_FIELDS = ("title", "body")

_stem = StemmingAnalyzer(cachesize=50000)
_plain = RegexTokenizer() | LowercaseFilter() | StopFilter()


def make_schema() -> Schema:
    return Schema(
        question_id=ID(stored=True, unique=True),
        title=TEXT(analyzer=_stem, phrase=True, field_boost=TITLE_BOOST, stored=True),
        body=TEXT(analyzer=_stem, phrase=True, field_boost=BODY_BOOST),
        answers=TEXT(analyzer=_stem, phrase=False, field_boost=ANSWERS_BOOST),
        # Everything in one field without positions: plain words match against one posting list
        # (fast intersections) instead of a union over three fields; the title adds its weight as
        # an optional clause scored only on threads that already match.
        text=TEXT(analyzer=_stem, phrase=False),
        words=TEXT(analyzer=_plain, phrase=False),  # unstemmed title words, for "did you mean"
        tags=KEYWORD(lowercase=True, stored=True),
        author=KEYWORD(lowercase=True),
        answerers=KEYWORD(lowercase=True),
        state=ID(stored=True),
        score=NUMERIC(int, bits=32, signed=True, stored=True),
        answer_count=NUMERIC(int, bits=32, signed=True, stored=True),
        created=DATETIME(),
        quality=STORED(),
        excerpt=STORED(),
    )


def _naive(when: datetime | None) -> datetime | None:
    """Whoosh stores naive datetimes; ours are UTC."""
    if when is None:
        return None
    return when.astimezone(timezone.utc).replace(tzinfo=None) if when.tzinfo else when


def to_fields(doc: ThreadDoc) -> dict:
    fields = {
        "question_id": str(doc.question_id), "title": doc.title, "body": doc.body, "answers": doc.answers,
        "text": "\n".join((doc.title, doc.body, doc.answers)),
        "words": doc.title, "tags": " ".join(doc.tags),
        "author": " ".join(x for x in (doc.author, f"#{doc.author_id}" if doc.author_id else "") if x),
        "answerers": " ".join(doc.answerers), "state": doc.state, "score": doc.score,
        "answer_count": doc.answer_count, "quality": doc.quality, "excerpt": doc.excerpt,
    }
    created = _naive(doc.created_at)
    if created is not None:
        fields["created"] = created
    return fields


class AnyOf(wq.Or):
    """Or that always walks postings (a tree of unions), never Whoosh's small-index array matcher,
    which clears and rescans a 2048-slot array in Python for every part and is far slower here."""

    matcher_type = wq.Or.DEFAULT_MATCHER


class _ExcludingMatcher(AndNotMatcher):
    """Whoosh's AndNotMatcher checks its first match against the excluded postings only when both
    start on the same document: when the excluded postings start earlier, an excluded document
    could come first and be kept. Skipping them forward first fixes it."""

    def _find_first(self):
        if self.a.is_active() and self.b.is_active():
            self._find_next()


class Without(wq.AndNot):
    """`a` without the documents `b` matches (Whoosh's AndNot, with the matcher above)."""

    def matcher(self, searcher, context=None):
        return _ExcludingMatcher(self.a.matcher(searcher, context), self.b.matcher(searcher, searcher.boolean_context()))


def _size_tier(docs: int) -> int:
    """0 for segments under MERGE_FANOUT documents, 1 under MERGE_FANOUT**2, and so on."""
    tier, bound = 0, MERGE_FANOUT
    while docs >= bound:
        tier, bound = tier + 1, bound * MERGE_FANOUT
    return tier


def _due_tier(segments, low: int, high: int) -> list:
    """The segments of the smallest size tier (of those whose whole range lies from `low` to
    `high` documents) that numbers MERGE_FANOUT or more; [] when none does."""
    tiers: dict[int, list] = {}
    for seg in segments:
        tier = _size_tier(seg.doc_count_all())
        if low <= MERGE_FANOUT ** tier and MERGE_FANOUT ** (tier + 1) <= high:
            tiers.setdefault(tier, []).append(seg)
    return next((tiers[t] for t in sorted(tiers) if len(tiers[t]) >= MERGE_FANOUT), [])


def _add_segments(writer, storage, segments) -> None:
    """Copy the live documents of these segments (of `storage`) into the writer's new segment."""
    from whoosh.reading import SegmentReader

    for seg in segments:
        reader = SegmentReader(storage, writer.schema, seg)
        try:
            writer.add_reader(reader)
        finally:
            reader.close()


def merge_small_segments(writer, segments):
    """Merge policy for the indexer's small commits: fold the smallest segments together by size
    tier (log-structured), so a commit merges only segments of about its own size, at most a few
    hundred posts, and a document is rewritten once per tier rather than on every merge. Bigger
    tiers are merged beside the commits (`WhooshIndex.merge_in_background`), never inside one: a
    merge of thousands of posts would hold the writer, and so new posts, for seconds. (Whoosh's
    default, MERGE_SMALL, eventually merges the big segment too, inside a commit.)"""
    group = _due_tier(segments, 0, COMMIT_MERGE_DOCS)
    _add_segments(writer, writer.storage, group)
    return [seg for seg in segments if seg not in group]


def background_merge_group(segments) -> list:
    """Segments of one tier too big to merge inside a commit, and not too big to merge at all."""
    return _due_tier(segments, COMMIT_MERGE_DOCS, SMALL_SEGMENT_DOCS)


class MergeDirectory:
    """A background merge's side directory, beside the index and its own: workers sharing one
    index (processes, or instances in one process) never write into, or delete, each other's.
    A file lock beside it is held while it lives; a directory whose lock nobody holds was left by
    a process that died mid-merge, and the next merge clears it."""

    PREFIX = ".merge"  # a dot name: Whoosh's clean-up of the index leaves it alone

    def __init__(self, path: Path, lock) -> None:
        self.path, self.lock = path, lock

    @classmethod
    def make(cls, directory: Path, storage) -> MergeDirectory:
        cls.clear_abandoned(directory, storage)
        name = f"{cls.PREFIX}-{secrets.token_hex(8)}"
        lock = storage.lock(f"{name}.lock")
        lock.acquire(blocking=False)  # a name nobody has used: it is free
        try:
            (directory / name).mkdir()  # only now, with the lock held, may a cleaner see it
        except BaseException:
            cls._drop_lock(directory, name, lock)
            raise
        return cls(directory / name, lock)

    @classmethod
    def clear_abandoned(cls, directory: Path, storage) -> None:
        for entry in directory.iterdir():
            if entry.name.startswith(cls.PREFIX) and entry.is_dir():
                lock = storage.lock(f"{entry.name}.lock")
                if lock.acquire(blocking=False):  # its owner is gone (a lock dies with its process)
                    shutil.rmtree(entry, ignore_errors=True)
                    cls._drop_lock(directory, entry.name, lock)

    @staticmethod
    def _drop_lock(directory: Path, name: str, lock) -> None:
        try:
            os.unlink(directory / f"{name}.lock")
        except FileNotFoundError:
            pass
        lock.release()

    def remove(self) -> None:
        """The directory first, then its lock: a cleaner never sees a directory without a held lock."""
        shutil.rmtree(self.path, ignore_errors=True)
        self._drop_lock(self.path.parent, self.path.name, self.lock)


def rebuild_procs(threads: int) -> int:
    """How many processes a rebuild of this many threads should index with."""
    if threads < PARALLEL_REBUILD_FROM:
        return 1  # starting workers costs more than it saves
    return max(1, min(REBUILD_PROCS, os.cpu_count() or 1))


def _cancel(writer) -> None:
    """Cancel a writer; an MpWriter's workers are stopped too (its own cancel leaves them waiting
    on their job queue, which would keep this process from exiting)."""
    for task in getattr(writer, "tasks", ()):
        task.terminate()
        task.join()
    writer.cancel()


def _quality(hit) -> float:
    return float(hit.get("quality") or 1.0)


class WhooshIndex:
    """The index directory, its single writer and its shared searcher."""

    def __init__(self, directory: Path | str, background_merges: bool = True) -> None:
        self.directory = Path(directory)
        self.background_merges = background_merges  # after a commit, merge big tiers in a thread
        self.directory.mkdir(parents=True, exist_ok=True)
        self.needs_rebuild = False  # a new or outdated index: the indexer rebuilds it from the database
        schema = make_schema()
        if index.exists_in(str(self.directory)):
            self.ix = index.open_dir(str(self.directory))
            if sorted(self.ix.schema.names()) != sorted(schema.names()):
                self.ix.close()
                self.ix = index.create_in(str(self.directory), schema)  # written by an older release
                self.needs_rebuild = True
        else:
            self.ix = index.create_in(str(self.directory), schema)
            self.needs_rebuild = True
        self._write_lock = threading.Lock()
        self._merging = threading.Lock()  # one background merge at a time
        self._read_lock = threading.Lock()
        self._weighting = scoring.BM25F()
        self._counts = SegmentStats(self._weighting)  # term counts per segment, kept across generations
        self._searcher = self.ix.searcher(weighting=self._weighting)
        self._checked = time.monotonic()
        self._stale = False  # set by a commit in this process: refresh on the next search
        self._cache: OrderedDict[tuple, object] = OrderedDict()

    # ----- reading -----

    def searcher(self):
        """The shared searcher, refreshed when another commit (from any process) made a new generation."""
        now = time.monotonic()
        if self._stale or now - self._checked >= REFRESH_SECONDS:
            self._checked = now
            self.refresh()
        return self._searcher

    def refresh(self) -> None:
        """Only the thread that searches calls this: refreshing closes the old searcher's readers."""
        self._stale = False
        with self._read_lock:
            fresh = self._searcher.refresh()
            if fresh is not self._searcher:
                self._searcher = fresh
                self._cache.clear()

    @property
    def generation(self) -> int:
        return self._searcher.reader().generation()

    def doc_count(self) -> int:
        return self.searcher().doc_count()

    def _cached(self, key: tuple, make: Callable[[], object]):
        searcher = self.searcher()
        key = (searcher.reader().generation(),) + key
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        value = make()
        self._cache[key] = value
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return value

    def search(self, raw: str, page: int = 1, per_page: int = PER_PAGE, snippets: bool = True) -> SearchPage:
        """`snippets=False`: the hits' snippets are the plain start of the question (no highlighting,
        which costs most of a short search): for callers that only rank, such as hybrid look-ups."""
        page = min(max(int(page), 1), MAX_PAGE)
        return self._cached(("search", raw, page, per_page, snippets), lambda: self._search(raw, page, per_page, snippets))

    def similar(self, title: str, body: str = "", limit: int = 5) -> list[Hit]:
        return self._cached(("similar", title, body[:1000], limit), lambda: self._similar(title, body, limit))

    def _search(self, raw: str, page: int, per_page: int, snippets: bool = True) -> SearchPage:
        parsed = parse(raw)
        searcher = self.searcher()
        out = SearchPage(items=[], total=0, page=page, per_page=per_page, hints=list(parsed.hints))
        if parsed.is_empty:
            if raw and raw.strip():
                out.hints.append("Nothing searchable was left in your query; try a few plain words.")
            return out
        filters, mask = self._filters(parsed, searcher)
        need = page * per_page
        fetch = math.ceil(need / WINDOW) * WINDOW
        main = self._text_query(parsed, searcher, relaxed=False)
        excluded = self._excluded(parsed)
        if main is None:
            if parsed.has_text:
                out.hints.append("Your words are too common to search on their own; add a more specific word.")
            # Only filters: the newest matching threads first.
            q = wq.Every() if excluded is None else Without(wq.Every(), excluded)
            results = searcher.search(q, filter=filters, mask=mask, limit=fetch, sortedby="created", reverse=True)
            hits = [(h, 1.0) for h in results]
            total, exact = self._total(results, fetch)
        else:
            q = main if excluded is None else Without(main, excluded)
            hits, total, exact = [], 0, True
            title_q = self._title_tier(parsed)
            if title_q is not None and q.estimate_size(searcher.reader()) < TITLE_TIER_FROM:
                title_q = None  # few threads to walk anyway: one pass over the full text is cheaper
            if title_q is not None:
                # Threads with every word in the title come first; their postings are short, so a
                # query of common words is answered without walking every thread that mentions them.
                first = searcher.search(title_q if excluded is None else Without(title_q, excluded),
                                        filter=filters, mask=mask, limit=fetch)
                hits = rerank_window([(h, h.score) for h in first], _quality, WINDOW)
            if len(hits) >= need:
                total, exact = max(len(hits), q.estimate_size(searcher.reader())), False
            else:
                rest_mask = mask
                if hits:
                    rest_mask = title_q if mask is None else AnyOf([mask, title_q])
                results = searcher.search(q, filter=filters, mask=rest_mask, limit=fetch)
                hits += rerank_window([(h, h.score) for h in results], _quality, WINDOW)
                total, exact = self._total(results, fetch)
                total += len(hits) - results.scored_length()
            if len(hits) < need and len(parsed.groups) > 1:
                # Too few threads have every word: follow them with threads that have some (best effort).
                loose = self._relaxed_query(parsed, searcher)
                if loose is not None:
                    lq = loose if excluded is None else Without(loose, excluded)
                    extra = searcher.search(lq, filter=filters, mask=mask, limit=fetch + len(hits))
                    seen = {h.docnum for h, _ in hits}
                    more = rerank_window([(h, h.score) for h in extra if h.docnum not in seen], _quality, WINDOW)
                    if more:
                        if not hits:
                            out.hints.append("No thread has all of your words; these have some of them.")
                        hits += more
                        total, exact = self._total(extra, fetch + len(hits))
                        total = max(total, len(hits))
        out.total, out.total_exact = total, exact
        start = (page - 1) * per_page
        marks: dict = {}
        out.items = [self._hit(h, rel, ("text", "body") if snippets else (), marks) for h, rel in hits[start:start + per_page]]
        if out.total < per_page:
            out.suggestion = self._did_you_mean(parsed, raw, searcher)
        return out

    @staticmethod
    def _total(results, fetched: int) -> tuple[int, bool]:
        scored = results.scored_length()
        if scored < fetched:
            return scored, True
        if results.has_exact_length():
            return results.estimated_length(), True  # the collector already counted: no re-run
        return max(scored, results.estimated_length()), False

    def _hit(self, h, relevance: float, snippet_fields: tuple[str, ...] = ("text", "body"),
             marks: dict | None = None) -> Hit:
        """`marks`: the searched words by (results, field), kept across one page's hits."""
        excerpt = h.get("excerpt") or ""
        snippet = ""
        if excerpt:
            marks = {} if marks is None else marks
            for field in snippet_fields:  # plain words are matched in "text", phrases in "body"
                try:
                    key = (id(h.results), field)
                    if key not in marks:
                        marks[key] = searched_words(h.results, field)
                    snippet = highlight(excerpt, marks[key], top=2, maxchars=SNIPPET_CHARS, surround=60)
                except Exception:  # a highlighter edge case must never cost the reader their results
                    log.exception("snippet of question %s", h.get("question_id"))
                    snippet = ""
                if snippet:
                    break
        if not snippet:
            text = excerpt[:SNIPPET_CHARS]
            snippet = escape(text + ("…" if len(excerpt) > SNIPPET_CHARS else ""))
        return Hit(question_id=int(h["question_id"]), title=h["title"], snippet=Markup(snippet),
                   state=h.get("state") or "unanswered", score=int(h.get("score") or 0),
                   answer_count=int(h.get("answer_count") or 0), tags=(h.get("tags") or "").split(),
                   relevance=relevance)

    # ----- compiling the query language -----

    @staticmethod
    def _tokens(text: str) -> list[str]:
        return [t.text for t in _stem(text)]

    def _term(self, term: Term, scope: str | None):
        tokens = self._tokens(term.text)
        if not tokens:
            return None
        if term.field == "title":
            fields: tuple[str, ...] = ("title",)
        elif term.field == "body":
            fields = ("body", "answers") if scope != "question" else ("body",)
            if scope == "answer":
                fields = ("answers",)
        elif scope == "question":
            fields = ("title", "body")
        elif scope == "answer":
            fields = ("answers",)
        else:
            fields = TEXT_FIELDS
            if not (term.phrase and len(tokens) > 1):
                parts = [wq.Term("text", tok) for tok in tokens]
                return parts[0] if len(parts) == 1 else wq.And(parts)
        if term.phrase and len(tokens) > 1:
            positional = [f for f in fields if f in PHRASE_FIELDS]
            if positional:
                return AnyOf([wq.Phrase(f, tokens) for f in positional])
            # Answers carry no positions: match the phrase's words there instead.
        parts = [AnyOf([wq.Term(f, tok) for f in fields]) if len(fields) > 1 else wq.Term(fields[0], tok) for tok in tokens]
        return parts[0] if len(parts) == 1 else wq.And(parts)

    def _text_query(self, parsed: SearchQuery, searcher, relaxed: bool):
        groups = []
        for group in parsed.groups:
            alts = [q for q in (self._term(t, parsed.scope) for t in group) if q is not None]
            if alts:
                groups.append(alts[0] if len(alts) == 1 else AnyOf(alts))
        if not groups:
            return None
        main = groups[0] if len(groups) == 1 else (AnyOf(groups) if relaxed else wq.And(groups))
        return self._with_title_weight(main, parsed)

    def _title_tier(self, parsed: SearchQuery):
        """Every plain word in the title (scored with the whole thread's text), or None when the
        query uses phrases, fields or is: scopes (those go straight to the full query)."""
        if parsed.scope or not parsed.groups:
            return None
        groups, tokens = [], []
        for group in parsed.groups:
            alts = []
            for t in group:
                if t.phrase or t.field:
                    return None
                toks = self._tokens(t.text)
                if toks:
                    tokens += toks
                    alts.append(wq.Term("title", toks[0]) if len(toks) == 1 else wq.And([wq.Term("title", x) for x in toks]))
            if alts:
                groups.append(alts[0] if len(alts) == 1 else AnyOf(alts))
        if not groups:
            return None
        # Scored on the title alone: scoring the full text too would walk its long postings again.
        return groups[0] if len(groups) == 1 else wq.And(groups)

    def _with_title_weight(self, main, parsed: SearchQuery, tokens: list[str] | None = None):
        """Add the title's weight: an optional clause, evaluated only on threads `main` matched."""
        if tokens is None:
            tokens = [tok for g in parsed.groups for t in g if t.field != "body" for tok in self._tokens(t.text)]
        tokens = list(dict.fromkeys(tokens))
        if not tokens or parsed.scope == "answer":
            return main
        title = wq.Term("title", tokens[0]) if len(tokens) == 1 else AnyOf([wq.Term("title", t) for t in tokens])
        return wq.AndMaybe(main, title)

    def _relaxed_query(self, parsed: SearchQuery, searcher):
        """Threads with some of the words: the rarest few, each in any text field."""
        tokens = [tok for g in parsed.groups for t in g if not t.field for tok in self._tokens(t.text)]
        keys = self._key_tokens(searcher.reader(), tokens, RELAXED_TERMS, ("text",), RELAXED_MAX_SHARE)
        if len(keys) < 1:
            return None
        if parsed.scope:
            fields = {"question": ("title", "body"), "answer": ("answers",)}[parsed.scope]
            return AnyOf([AnyOf([wq.Term(f, t) for f in fields]) for t in keys])
        return self._with_title_weight(AnyOf([wq.Term("text", t) for t in keys]), parsed, keys)

    def _excluded(self, parsed: SearchQuery):
        parts = [q for q in (self._term(t, parsed.scope) for t in parsed.excluded) if q is not None]
        parts += [wq.Term("tags", t) for t in parsed.excluded_tags]
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else AnyOf(parts)

    def _filters(self, parsed: SearchQuery, searcher):
        parts: list = [wq.Term("tags", t) for t in parsed.tags]
        if parsed.states:
            parts.append(AnyOf([wq.Term("state", s) for s in sorted(parsed.states)]))
        if parsed.users:
            fields = {"question": ("author",), "answer": ("answerers",)}.get(parsed.scope or "", ("author", "answerers"))
            parts.append(AnyOf([wq.Term(f, u) for u in parsed.users for f in fields]))
        if parsed.scope == "answer":
            parts.append(wq.NumericRange("answer_count", 1, None))
        if parsed.score_min is not None or parsed.score_max is not None:
            parts.append(wq.NumericRange("score", parsed.score_min, parsed.score_max))
        if parsed.answers_min is not None or parsed.answers_max is not None:
            parts.append(wq.NumericRange("answer_count", parsed.answers_min, parsed.answers_max))
        if parsed.created_from is not None or parsed.created_to is not None:
            end = _naive(parsed.created_to - timedelta(microseconds=1)) if parsed.created_to else None
            parts.append(wq.DateRange("created", _naive(parsed.created_from), end))
        if not parts:
            return None, None
        return (parts[0] if len(parts) == 1 else wq.And(parts)), None

    def _did_you_mean(self, parsed: SearchQuery, raw: str, searcher) -> str | None:
        reader = searcher.reader()
        corrector = None
        changed = False
        fixed = raw
        for word in parsed.words()[:8]:
            tokens = self._tokens(word)
            if not tokens or any(reader.doc_frequency(f, t) for t in tokens for f in TEXT_FIELDS):
                continue
            corrector = corrector or reader.corrector("words")
            options = corrector.suggest(word.lower(), limit=1, maxdist=2)
            if options and options[0] != word.lower():
                fixed = fixed.replace(word, options[0], 1)
                changed = True
        return fixed if changed else None

    # ----- similar questions -----

    def _key_tokens(self, reader, tokens: list[str], keep: int, fields: tuple[str, ...] = ("title", "body"),
                    max_share: float = 1.0) -> list[str]:
        """The `keep` rarest tokens that occur in the index at all.

        Rare words carry the meaning (and most of BM25's weight); common ones match a large share of
        the threads and are what makes an OR query slow, while barely changing its order.
        """
        df = {t: sum(self._counts.doc_frequency(reader, f, t) for f in fields) for t in dict.fromkeys(tokens)}
        present = sorted((t for t, n in df.items() if n), key=lambda t: df[t])
        if max_share < 1.0:
            limit = max_share * reader.doc_count_all() * len(fields)
            present = [t for t in present if df[t] <= limit] or present[:1]
        return present[:keep]

    def rarest_words(self, words: list[str], keep: int) -> list[str]:
        """The `keep` words whose tokens are rarest in the full text (a word the index does not know,
        or one that stems to nothing, is left out), in the order given."""
        reader = self.searcher().reader()
        df: dict[str, int] = {}
        for word in dict.fromkeys(words):
            tokens = self._tokens(word)
            counts = [self._counts.doc_frequency(reader, "text", t) for t in tokens]
            if counts and all(counts):
                df[word] = min(counts)
        chosen = set(sorted(df, key=lambda w: df[w])[:keep])
        return [w for w in df if w in chosen]

    def _similar_terms(self, reader, title: str, body: str) -> list[tuple[str, str, float]]:
        """(field, token, boost) of the look-up: every key title word in titles, the rarest few in
        question bodies too (their postings are short), and the body's rarest words at a lower weight."""
        title_tokens = self._key_tokens(reader, self._tokens((title or "")[:300]), SIMILAR_TITLE_TERMS)
        body_tokens = [t for t in self._key_tokens(reader, self._tokens((body or "")[:1000]), SIMILAR_BODY_TERMS * 2)
                       if t not in title_tokens][:SIMILAR_BODY_TERMS]
        cap = SIMILAR_BODY_MAX_SHARE * reader.doc_count_all()
        terms: list[tuple[str, str, float]] = []
        for t in title_tokens:
            terms.append(("title", t, 1.0))
            if t in title_tokens[:SIMILAR_BODY_MATCH] and self._counts.doc_frequency(reader, "body", t) <= cap:
                terms.append(("body", t, 1.0))
        for t in body_tokens:
            terms.append(("title", t, SIMILAR_BODY_BOOST))
            if self._counts.doc_frequency(reader, "body", t) <= cap:
                terms.append(("body", t, SIMILAR_BODY_BOOST))
        return terms

    def _similar(self, title: str, body: str, limit: int) -> list[Hit]:
        # Titles carry most of it (short postings: fast even for common words, and a similar
        # question usually says the same thing in its title); question bodies only for rare words.
        searcher = self.searcher()
        terms = self._similar_terms(searcher.reader(), title, body)
        if not terms:
            return []
        top = self._counts.best(searcher, terms, SIMILAR_WINDOW)
        query = AnyOf([wq.Term(f, t, boost=b) for f, t, b in terms])  # what the snippets highlight
        results = Results(searcher, query, top)
        hits = rerank_window([(h, h.score) for h in results], _quality, SIMILAR_WINDOW)[:limit]
        marks: dict = {}
        chosen = [self._hit(h, rel, ("body",), marks) for h, rel in hits]  # its words are looked up in title and body only
        chosen.sort(key=lambda h: h.state != "solved")  # stable: solved first, relevance order kept within
        return chosen

    def among(self, raw: str, ids: list[int], unlisted: bool = False) -> list[Hit]:
        """Hits for these questions, in this order, that satisfy everything in `raw` but its plain
        words: [tags], is:, user:, score:, answers:, created:, -words, "phrases", title: and body:
        terms. Plain words do not filter (semantic candidates were found by what they mean); they
        are marked in the snippets. With `unlisted`, only the questions that a search for `raw`
        never lists, on any page (they have neither all of its words nor, for several words, those
        of its relaxed look-up): a page may add them to the search's own hits without repeating one."""
        wanted = list(dict.fromkeys(int(i) for i in ids))
        if not wanted:
            return []
        parsed = parse(raw)
        searcher = self.searcher()
        parts: list = [AnyOf([wq.Term("question_id", str(i)) for i in wanted])]
        for group in parsed.groups:
            if any(not t.phrase and not t.field for t in group):
                continue  # a plain word among the alternatives: the group filters nothing
            alts = [q for q in (self._term(t, parsed.scope) for t in group) if q is not None]
            if alts:
                parts.append(alts[0] if len(alts) == 1 else AnyOf(alts))
        filters, _ = self._filters(parsed, searcher)
        if filters is not None:
            parts.append(filters)
        query = wq.And(parts)
        listed: list = []
        if unlisted:
            listed = [self._text_query(parsed, searcher, relaxed=False)]
            if listed[0] is None:
                return []  # no searchable words: the search lists every thread its filters let through
            if len(parsed.groups) > 1:
                listed.append(self._relaxed_query(parsed, searcher))
            listed = [q for q in listed if q is not None]
        excluded = self._excluded(parsed)
        if excluded is not None:
            query = Without(query, excluded)
        results = searcher.search(query, limit=len(wanted))
        # What the search lists is looked up on these few documents only (search/membership.py).
        gone = members(AnyOf(listed), searcher, [h.docnum for h in results]) if listed else set()
        # Plain words filter nothing here, so the query above does not hold them: they are marked in
        # the snippets as the search's own hits mark them (search/snippets.py finds them in the
        # excerpt, which costs less than asking the index which candidate has which word).
        words = frozenset(tok for g in parsed.groups for t in g if not t.phrase and not t.field for tok in self._tokens(t.text))
        by_id, marks = {}, {(id(results), "text"): words}
        for h in results:
            if h.docnum not in gone:
                by_id[int(h["question_id"])] = self._hit(h, h.score, ("text", "body"), marks)
        return [by_id[i] for i in wanted if i in by_id]

    # ----- writing (one writer at a time) -----

    def apply(self, docs: Iterable[ThreadDoc], removed: Iterable[int], timeout: float = 10.0) -> None:
        """Write these thread documents and remove these questions, in one commit."""
        latest = {doc.question_id: doc for doc in docs}  # one document per thread, the last given
        with self._write_lock:
            writer = self.ix.writer(timeout=timeout)
            try:
                # One searcher finds every old copy (update_document would open readers for every
                # segment once per document).
                gone = dict.fromkeys([str(qid) for qid in removed] + [str(qid) for qid in latest])
                if gone:
                    with writer.searcher() as old:
                        for qid in gone:
                            writer.delete_by_term("question_id", qid, searcher=old)
                for doc in latest.values():
                    writer.add_document(**to_fields(doc))
            except BaseException:
                writer.cancel()
                raise
            writer.commit(mergetype=merge_small_segments)
        self._stale = True
        if self.background_merges and not self._merging.locked() and background_merge_group(self.ix._segments()):
            threading.Thread(target=self._merge_logged, name="whoosh-merge", daemon=True).start()

    def _merge_logged(self) -> None:
        try:
            self.merge_in_background()
        except Exception:  # the index is intact: the segments stay as they were until the next try
            log.exception("background merge of search index segments failed")

    def merge_in_background(self) -> bool:
        """Merge one due tier of segments without holding the writer while merging, so the
        indexer's commits (and new posts) go on meanwhile: the segments are read as they were,
        written into a new segment in a side directory, and swapped in by one short commit that
        also carries over the deletions (edits) those segments received during the merge.
        Returns whether a merge was made."""
        if not self._merging.acquire(blocking=False):
            return False
        try:
            built = self._build_merge()
            return built is not None and self._swap_merge(*built)
        finally:
            self._merging.release()

    def _build_merge(self):
        group = background_merge_group(self.ix._read_toc().segments)  # fresh copies: deletions as of now
        if not group:
            return None
        work = MergeDirectory.make(self.directory, self.ix.storage)
        try:
            side = index.create_in(str(work.path), self.ix.schema, indexname=self.ix.indexname)
            writer = side.writer()
            try:
                _add_segments(writer, self.ix.storage, group)
            except BaseException:
                writer.cancel()
                raise
            # The merged segment numbers the live documents in the order they were copied.
            live = ((seg.segid, docnum) for seg in group for docnum in range(seg.doc_count_all()) if not seg.is_deleted(docnum))
            docmap = {key: n for n, key in enumerate(live)}
            writer.commit(mergetype=writing.NO_MERGE)
            merged = side._read_toc().segments  # none when every document was deleted
            side.close()
        except BaseException:
            work.remove()
            raise
        return group, merged, docmap, work

    def _swap_merge(self, group, merged, docmap, work: MergeDirectory) -> bool:
        try:
            with self._write_lock:
                writer = self.ix.writer(timeout=10.0)
                try:
                    current = {seg.segid: seg for seg in writer.segments}
                    if any(seg.segid not in current for seg in group):  # a rebuild (or another merger) came first
                        writer.cancel()
                        return False
                    for seg in group:  # deleted while the merge ran: delete the merged copy too
                        for docnum in current[seg.segid].deleted_docs():
                            if not seg.is_deleted(docnum):
                                merged[0].delete_document(docmap[(seg.segid, docnum)])
                    for seg in merged:
                        for name in os.listdir(work.path):
                            if name.startswith(seg.segment_id()):
                                os.replace(work.path / name, self.directory / name)
                    gone = {seg.segid for seg in group}
                    final = [seg for seg in writer.segments if seg.segid not in gone] + merged
                except BaseException:
                    writer.cancel()
                    raise
                writer.commit(mergetype=lambda _writer, _segments: final)
            self._stale = True
            return True
        finally:
            work.remove()

    def rebuild(self, batches: Iterable[list[ThreadDoc]], on_batch: Callable[[int], None] | None = None,
                procs: int = 1, limitmb: int = 256) -> int:
        """Replace the whole index with these documents in one commit (readers see old or new, never half).

        With procs > 1, that many worker processes index the documents (Whoosh's MpWriter), each
        into a segment of its own (merging them into one would be a second, serial pass over every
        posting). This process then only reads the database and hands documents over, so reading
        overlaps indexing for real instead of taking turns with it for one interpreter lock.
        """
        count = 0
        options: dict = {"timeout": 30.0, "limitmb": limitmb}
        if procs > 1:
            options.update(procs=procs, multisegment=True)
        with self._write_lock:
            writer = self.ix.writer(**options)
            try:
                for batch in batches:
                    for doc in batch:
                        writer.add_document(**to_fields(doc))
                    count += len(batch)
                    if on_batch:
                        on_batch(len(batch))
            except BaseException:
                _cancel(writer)
                raise
            writer.commit(mergetype=writing.CLEAR)
        self._stale = True
        self.needs_rebuild = False
        return count

    def clear(self) -> None:
        with self._write_lock:
            writer = self.ix.writer(timeout=30.0)
            writer.commit(mergetype=writing.CLEAR)
        self._stale = True

    def close(self) -> None:
        with self._merging:  # a background merge finishes first
            pass
        with self._read_lock:
            self._searcher.close()
        self.ix.close()


_open: dict[str, WhooshIndex] = {}
_open_lock = threading.Lock()


def open_index(directory: Path | str) -> WhooshIndex:
    """One WhooshIndex (and so one searcher) per directory per process."""
    key = os.path.abspath(str(directory))
    with _open_lock:
        found = _open.get(key)
        if found is None:
            found = _open[key] = WhooshIndex(key)
        return found


def forget(directory: Path | str) -> None:
    """Close and drop the shared instance (tests, after deleting a directory)."""
    key = os.path.abspath(str(directory))
    with _open_lock:
        found = _open.pop(key, None)
    if found is not None:
        found.close()
