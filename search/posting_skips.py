"""Skipping inside a posting block by bisection (a fix to Whoosh 2.7.4, applied on import).

Whoosh's `W3LeafMatcher.skip_to` finds its target inside a block of up to 128 document numbers by
stepping one posting at a time, two Python calls a step. Every AND of words, every phrase and every
candidate check of hybrid search (search/membership.py) skips that way, and on the 100,000-post
corpus the stepping was a sixth of a search's time (docs/benchmarks.md). A block's numbers are
sorted, so one bisection finds the same place. Blocks are still skipped one by one, as Whoosh does
(each knows only where the next one starts).

This replaces one method of a Whoosh class and reads its private block fields (`_ids`, `_i`,
`_maxid`, `_blocklength`): tests/test_search_postings.py checks that the replacement is installed
and lands where Whoosh's own method lands on real posting lists, so a Whoosh release that changes
them fails there.
"""

from __future__ import annotations

from bisect import bisect_left

from whoosh.codec import whoosh3
from whoosh.matching import ReadTooFar

whoosh_skip_to = whoosh3.W3LeafMatcher.skip_to


def skip_to(self, targetid) -> None:
    """Move to the first posting at or after `targetid` (Whoosh's contract)."""
    if not self.is_active():
        raise ReadTooFar
    if targetid <= self.id():  # also reads the block's numbers
        return
    if targetid > self._maxid:
        self._skip_to_block(lambda: targetid > self._maxid)
        if not self.is_active():
            return
        self.id()  # the new block's numbers
    self._i = bisect_left(self._ids, targetid, self._i, self._blocklength)
    if self._i == self._blocklength:  # only when the block's last number is below the target
        self._next_block()


whoosh3.W3LeafMatcher.skip_to = skip_to
