"""How common a word is among PostgreSQL's search documents, read from the planner's own statistics.

ANALYZE keeps, for each tsvector column, the lexemes found in the most rows and the share of rows
holding each (`pg_stats.most_common_elems`, `most_common_elem_freqs`); a lexeme not among them is
taken at half the least common one's share, as the planner takes it. No table is read: one small
statement a look-up, which also turns the words into lexemes as `plainto_tsquery` would.

search/postgres.py uses this to estimate how many threads a search matches (so a query of common
words is never ranked in full) and to leave the commonest words out of a similar-question look-up
(so a title's "phone" does not make it rank a hundred thousand titles).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from community import db

COLUMNS = ("tsv", "title_tsv")  # the columns this may be asked about (their names go into SQL)


@dataclass
class Shares:
    """Per word given, the share of rows holding each of its lexemes (empty: a stop word, which
    `plainto_tsquery` drops), and the table's estimated row count."""
    words: list[list[float]]
    rows: float

    def of(self, i: int) -> float | None:
        """The share of rows holding every lexeme of word i (taken as independent), None for a stop word."""
        return math.prod(self.words[i]) if self.words[i] else None

    def at_most(self, i: int) -> float | None:
        """The share of rows holding word i at most (its least common lexeme's), None for a stop word:
        a bound that holds however much its lexemes go together ("cardano-cli": cardano, cli)."""
        return min(self.words[i]) if self.words[i] else None


async def shares(words: list[str], column: str, config: str) -> Shares | None:
    """The shares of these words' lexemes in `column` of search_document, the words made lexemes by
    the text search `config` (an SQL literal, the one the column was made with); None before the
    first ANALYZE (no statistics: nothing can be estimated)."""
    if column not in COLUMNS:
        raise ValueError(f"no statistics kept for {column!r}")
    if not words:
        return None
    rows = await db.fetch(
        "WITH s AS (SELECT u.e, u.f FROM pg_stats AS p, unnest(p.most_common_elems::text::text[],"
        " p.most_common_elem_freqs) AS u(e, f) WHERE p.schemaname = current_schema()"
        f" AND p.tablename = 'search_document' AND p.attname = '{column}')"
        " SELECT t.i, l.lexeme, s.f, (SELECT min(f) FROM s WHERE e IS NOT NULL) AS floor,"
        " (SELECT reltuples FROM pg_class WHERE oid = 'search_document'::regclass) AS n"
        f" FROM unnest(ARRAY[{','.join('?' * len(words))}]::text[]) WITH ORDINALITY AS t(w, i)"
        f" LEFT JOIN LATERAL unnest(tsvector_to_array(to_tsvector({config}, t.w))) AS l(lexeme) ON true"
        " LEFT JOIN s ON s.e = l.lexeme", list(words))
    if not rows or rows[0]["floor"] is None:
        return None
    floor = float(rows[0]["floor"]) / 2
    out: list[list[float]] = [[] for _ in words]
    for r in rows:
        if r["lexeme"] is not None:
            out[r["i"] - 1].append(float(r["f"]) if r["f"] is not None else floor)
    return Shares(out, max(0.0, float(rows[0]["n"])))
