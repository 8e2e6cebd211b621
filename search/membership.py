"""Which of a few documents a Whoosh query matches, looked up document by document.

Hybrid search adds semantic neighbours to a full first page only when the lexical search never
lists them (search/index.py, `among(unlisted=True)`): a dozen candidates against the query "every
word" or "some of the words". Handing Whoosh `candidates AND NOT query` made it walk the query's
matcher from one candidate to the next: an AND of common words searches forward for its next common
document at every step, thousands of posting reads per call (a third of hybrid search's time on the
100,000-post corpus, docs/benchmarks.md). Here each leaf (a term, a phrase, a range) is asked only
whether it sits on each candidate, and AND, OR, AND-MAYBE and AND-NOT combine the answers as sets:
the same documents, with no walk between them. tests/test_search_index.py checks it against
Whoosh's own evaluation.
"""

from __future__ import annotations

from typing import Any

import whoosh.query as wq


def members(query: Any, searcher: Any, docnums: list[int]) -> set[int]:
    """The documents among `docnums` (the searcher's own numbers) that `query` matches."""
    wanted = sorted(set(docnums))
    if not wanted:
        return set()
    if isinstance(query, wq.AndMaybe):
        return members(query.a, searcher, wanted)
    if isinstance(query, wq.AndNot):
        found = members(query.a, searcher, wanted)
        return found - members(query.b, searcher, sorted(found)) if found else found
    if isinstance(query, wq.And):
        found = set(wanted)
        for part in query.subqueries:
            found = members(part, searcher, sorted(found))
            if not found:
                break
        return found
    if isinstance(query, wq.Or):
        found: set[int] = set()
        for part in query.subqueries:
            found |= members(part, searcher, [d for d in wanted if d not in found])
        return found
    return _leaf(query, searcher, wanted)


def _leaf(query: Any, searcher: Any, wanted: list[int]) -> set[int]:
    found: set[int] = set()
    for leaf, offset in searcher.leaf_searchers():
        end = offset + leaf.doc_count_all()
        local = [d - offset for d in wanted if offset <= d < end]
        if not local:
            continue
        matcher = query.matcher(leaf, leaf.boolean_context())
        for d in local:
            if not matcher.is_active():
                break
            if matcher.id() < d:
                matcher.skip_to(d)
                if not matcher.is_active():
                    break
            if matcher.id() == d:
                found.add(d + offset)
    return found
