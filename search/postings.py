"""Reading the index's postings directly, for the look-ups Whoosh's own machinery makes slow.

- Term counts are remembered per segment: a segment's terms never change once written (Whoosh does
  not count deletions in them either), so the count of a word in the big segment a rebuild wrote is
  looked up once per process, not once per request and segment.
- `best` scores an OR of a few terms exactly as Whoosh's BM25F scores the same `Or` query, but adds
  the scores up in a dict while reading each posting list once. Whoosh's matcher tree instead walks
  every matching thread through a union of unions with quality checks at each level, which costs
  tens of microseconds per thread in Python; a similar-question look-up touches a few thousand.
"""

from __future__ import annotations

import heapq
from math import log

from whoosh import scoring
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.matching import FilterMatcher
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length

MAX_REMEMBERED = 200_000  # (segment, field, word) counts kept; far more than a day of look-ups needs
_LENGTH_OF = [byte_to_length(b) for b in range(256)]  # Whoosh stores field lengths as one lossy byte


def _blocks(matcher):
    """(document numbers, weights) of a posting list, one stored block at a time.

    Whoosh's own reading goes through id()/weight()/next() per posting; its on-disk blocks already
    hold both as sequences, so they are handed over whole (a few Python calls per block, not per
    posting). Other matchers (an in-memory index) go one posting at a time.
    """
    if isinstance(matcher, W3LeafMatcher):
        while matcher.is_active():
            matcher._read_ids()
            matcher._read_weights()
            yield matcher._ids, matcher._weights
            if matcher._lastblock:
                return
            matcher._next_block()
        return
    while matcher.is_active():
        yield (matcher.id(),), (matcher.weight(),)
        matcher.next()


class SegmentStats:
    """Term counts and field lengths per segment, kept for as long as the process runs."""

    def __init__(self, weighting: scoring.BM25F) -> None:
        self.weighting = weighting
        self._counts: dict[tuple[str, str, str], int] = {}
        self._lengths: dict[tuple[str, str], bytes] = {}
        self._reader: object = None
        self._leaf_list: list[tuple[object, int, str]] = []

    def _leaves(self, reader) -> list[tuple[object, int, str]]:
        """(segment reader, first document number, segment id) of each segment in this generation."""
        if reader is not self._reader:
            self._reader = reader
            self._leaf_list = []
            for leaf, base in reader.leaf_readers():
                segment = leaf.segment() if hasattr(leaf, "segment") else None
                if segment is not None:  # an empty index has a reader without segments
                    self._leaf_list.append((leaf, base, segment.segment_id()))
        return self._leaf_list

    # ----- term counts -----

    def _segment_frequency(self, leaf, segid: str, field: str, token: str) -> int:
        key = (segid, field, token)
        n = self._counts.get(key)
        if n is None:
            if len(self._counts) >= MAX_REMEMBERED:
                self._counts.clear()  # cheaper than an LRU; the common words come back at once
            n = self._counts[key] = leaf.doc_frequency(field, token)
        return n

    def doc_frequency(self, reader, field: str, token: str) -> int:
        """Whoosh's `reader.doc_frequency`, remembered per segment."""
        return sum(self._segment_frequency(leaf, segid, field, token) for leaf, _, segid in self._leaves(reader))

    # ----- field lengths -----

    def _field_lengths(self, leaf, segid: str, field: str) -> bytes:
        """Every document's length byte for this field in this segment (one read per segment)."""
        key = (segid, field)
        found = self._lengths.get(key)
        if found is None:
            if len(self._lengths) >= 256:
                self._lengths.clear()
            column = leaf._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
            if column is None:
                found = b""
            else:
                # The column is one byte per document, stored contiguously (documents after the
                # last one written have length 0): read it in one piece instead of per document.
                found = column._dbfile.get(column._basepos, column._count)
            self._lengths[key] = found
        return found

    # ----- scoring -----

    def best(self, searcher, terms: list[tuple[str, str, float]], limit: int) -> list[tuple[float, int]]:
        """The `limit` best (score, docnum) for an OR of (field, token, boost) terms, best first,
        equal scores in document order: what `searcher.search(Or([Term(f, t, boost=b), ...]))` gives."""
        reader = searcher.reader()
        doc_count = searcher.doc_count_all()
        model = self.weighting
        k1 = model.K1
        scores: dict[int, float] = {}
        get = scores.get
        leaves = self._leaves(reader)
        for field, token, boost in terms:
            df = self.doc_frequency(reader, field, token)
            if not df:
                continue
            idf = log(doc_count / (df + 1)) + 1
            avgfl = searcher.avg_field_length(field) or 1
            b = model._field_B.get(field, model.B)
            for leaf, base, segid in leaves:
                if not self._segment_frequency(leaf, segid, field, token):
                    continue
                try:
                    matcher = leaf.postings(field, token)
                except TermNotFound:
                    continue
                deleted: frozenset = frozenset()
                if isinstance(matcher, FilterMatcher):  # the segment has deleted documents
                    deleted, matcher = matcher._ids, matcher.child
                lengths = self._field_lengths(leaf, segid, field)
                n_lengths = len(lengths)
                # Whoosh's scoring.bm25 (idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * fl / avgfl))),
                # then the term's boost, as its WrappingMatcher applies it.
                top = idf * (k1 + 1) * boost
                norm = b / avgfl
                for docnums, weights in _blocks(matcher):
                    for docnum, tf in zip(docnums, weights):
                        if deleted and docnum in deleted:
                            continue
                        fl = _LENGTH_OF[lengths[docnum]] if docnum < n_lengths else 0
                        key = base + docnum
                        scores[key] = get(key, 0.0) + top * tf / (tf + k1 * ((1 - b) + norm * fl))
        if not scores or limit <= 0:
            return []
        cutoff = heapq.nlargest(limit, scores.values())[-1]
        top = sorted((-score, docnum) for docnum, score in scores.items() if score >= cutoff)[:limit]
        return [(-negated, docnum) for negated, docnum in top]
