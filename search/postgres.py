"""PostgreSQL full-text search (SEARCH_BACKEND=postgres): the same query language on search_document.

For deployments whose workers run on several hosts and cannot share one Whoosh directory. The
indexer writes the same thread documents as weighted tsvectors (title A, question B, answers C);
one GIN index serves every text query, and field operators (title:, body:, is:answer) recheck the
narrower vectors only on the rows the GIN index already found.

Ranking reads each candidate's whole weighted vector (stored out of line, compressed), so what costs
is how many rows are ranked, never how many match (docs/benchmarks.md, issue 17):
- how many threads a query matches is estimated first from PostgreSQL's own statistics of `tsv`
  (pg_stats: the share of threads holding each common lexeme, as its planner does; no table is
  read): a query estimated under EXACT_UPTO matches is ranked in full, exactly as `ts_rank` orders
  it, and counted in the same statement;
- a query of common words ranks the threads with every word in the title first (the title's short
  vector and GIN index pick the RANK_POOL best by title rank and quality, then those are ranked in
  full), and the rest of the full text only when titles give too few; its total is "1000+". Titles
  are read from search_title, a narrow copy of each document's title vector and quality (search
  migration 0005): about 60 rows a page, where a search_document row takes a page of its own;
- the estimate of how many threads hold every word sits halfway (in ratio) between the product of
  the words' shares and the rarer word's share: a thread's words go together far more than
  independent ones would, and a query taken for a rare one is ranked in full;
- OR look-ups (similar questions, and a search's "some of your words" fallback) first take the
  threads whose title has at least two of the words: one GIN look-up instead of ranking every title
  that shares a single common word; every word's matches only when those give too few;
- similar questions take their candidates by the title's rarer words only (SIMILAR_BUDGET: the
  titles holding them add up to a few thousand) and rank them by every word.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

from markupsafe import Markup, escape

from community import db
from search import lexeme_shares
from search.documents import ThreadDoc
from search.query import SearchQuery, Term, parse
from search.results import MAX_PAGE, PER_PAGE, Hit, SearchPage, rerank_window

CONFIG = "'english'"
COUNT_CAP = 1000  # beyond this a total is "1000+": counting every match costs more than it tells
EXACT_UPTO = 3000  # estimated matches from which a query counts as one of common words
RANK_POOL = 500  # title matches ranked in full for a query of common words (about 3.5 ms of reading vectors)
# A similar-question look-up takes its candidates by the title's rarest words until the titles
# holding them add up to this many (estimated), at least the 2 rarest, and ranks them by every word:
# a common word ("phone") would have it rank a large share of every title. On the shared sites' few
# thousand threads it leaves every word in.
SIMILAR_BUDGET = 5_000
SIMILAR_MIN_WORDS = 2
PAIRS_UPTO = 24  # words or groups an OR look-up pairs up (276 pairs); beyond, the first 24
WEIGHTS = "'{0.2, 0.3, 0.5, 1.0}'"  # D, C (answers), B (question body), A (title)
START, STOP = "\u27e6", "\u27e7"  # headline markers, replaced by <mark> after escaping


def _like(text: str) -> str:
    """Text matched literally inside a LIKE pattern (ESCAPE '\\'): a name such as ben_c keeps its "_"."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class PostgresBackend:
    name = "postgres"
    # Hybrid similar questions search the title's 5 longest words (search/hybrid.py). On the shared
    # sites: every word 12 of 21 duplicate pairs, 3 or 4 longest 12, 5 longest 13 (docs/benchmarks.md).
    similar_search_words = 5

    # ----- writing -----

    async def apply(self, docs: list[ThreadDoc], removed: list[int], conn: Any = None) -> None:
        if conn is None:
            async with db.transaction() as own:
                await self.apply(docs, removed, own)
            return
        if removed:
            await db.execute(f"DELETE FROM search_document WHERE question_id IN ({','.join('?' * len(removed))})",
                             list(removed), conn)
        for start in range(0, len(docs), 100):
            await self._upsert(docs[start:start + 100], conn)

    async def _upsert(self, docs: list[ThreadDoc], conn: Any) -> None:
        if not docs:
            return
        rows, values = [], []
        for d in docs:
            rows.append(f"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?::timestamptz,"
                        f" setweight(to_tsvector({CONFIG}, ?), 'A') || setweight(to_tsvector({CONFIG}, ?), 'B')"
                        f" || setweight(to_tsvector({CONFIG}, ?), 'C'),"
                        f" to_tsvector({CONFIG}, ?), to_tsvector({CONFIG}, ?), to_tsvector({CONFIG}, ?))")
            people = [f"q:{d.author}", f"q:#{d.author_id}"] if d.author_id else []
            people += [f"a:{p}" for p in d.answerers if p]
            values += [d.question_id, d.title, d.excerpt, f" {' '.join(d.tags)} ", f" {' '.join(people)} ",
                       d.state, d.score, d.answer_count, d.quality, d.created_at,
                       d.title, d.body, d.answers, d.title, d.body, d.answers]
        await db.execute(
            "INSERT INTO search_document (question_id, title, excerpt, tags, people, state, score, answer_count,"
            " quality, created_at, tsv, title_tsv, body_tsv, answers_tsv) VALUES " + ", ".join(rows) +
            " ON CONFLICT (question_id) DO UPDATE SET title = EXCLUDED.title, excerpt = EXCLUDED.excerpt,"
            " tags = EXCLUDED.tags, people = EXCLUDED.people, state = EXCLUDED.state, score = EXCLUDED.score,"
            " answer_count = EXCLUDED.answer_count, quality = EXCLUDED.quality, created_at = EXCLUDED.created_at,"
            " tsv = EXCLUDED.tsv, title_tsv = EXCLUDED.title_tsv, body_tsv = EXCLUDED.body_tsv,"
            " answers_tsv = EXCLUDED.answers_tsv", values, conn)

    async def rebuild(self, batches: AsyncIterator[list[ThreadDoc]], on_batch: Callable[[int], None] | None = None,
                      expected: int = 0) -> int:
        """Rebuild in one transaction: searches see the old table until the new one commits."""
        count = 0
        async with db.transaction() as conn:
            await db.execute("DELETE FROM search_document", [], conn)
            async for batch in batches:
                for start in range(0, len(batch), 100):
                    await self._upsert(batch[start:start + 100], conn)
                count += len(batch)
                if on_batch:
                    on_batch(len(batch))
        return count

    # ----- compiling the query language -----

    @staticmethod
    def _tsquery(term: Term, values: list) -> str:
        values.append(term.text)
        fn = "phraseto_tsquery" if term.phrase else "plainto_tsquery"
        return f"{fn}({CONFIG}, ?)"

    @staticmethod
    def _vector(term: Term, scope: str | None) -> str | None:
        """The narrower vector a term must match, or None when the combined tsv is enough."""
        if term.field == "title":
            return "title_tsv"
        if term.field == "body":
            return "answers_tsv" if scope == "answer" else ("body_tsv" if scope == "question" else "(body_tsv || answers_tsv)")
        if scope == "question":
            return "(title_tsv || body_tsv)"
        if scope == "answer":
            return "answers_tsv"
        return None

    def _where(self, parsed: SearchQuery, relaxed: bool) -> tuple[str | None, list[str], list]:
        """(tsquery expression over every text term, extra conditions, values for both)."""
        tq_values: list = []
        groups = []
        for group in parsed.groups:
            groups.append("(" + " || ".join(self._tsquery(t, tq_values) for t in group) + ")")
        tsq = (" || " if relaxed else " && ").join(groups) if groups else None
        conds: list[str] = []
        cond_values: list = []
        if not relaxed:
            for group in parsed.groups:
                if all(self._vector(t, parsed.scope) is None for t in group):
                    continue
                alts = []
                for t in group:
                    vec = self._vector(t, parsed.scope) or "tsv"
                    alts.append(f"{vec} @@ {self._tsquery(t, cond_values)}")
                conds.append("(" + " OR ".join(alts) + ")")
        for t in parsed.excluded:
            vec = self._vector(t, parsed.scope) or "tsv"
            conds.append(f"NOT ({vec} @@ {self._tsquery(t, cond_values)})")
        for tag in parsed.tags:
            conds.append("tags LIKE ? ESCAPE '\\'")
            cond_values.append(f"% {_like(tag)} %")
        for tag in parsed.excluded_tags:
            conds.append("tags NOT LIKE ? ESCAPE '\\'")
            cond_values.append(f"% {_like(tag)} %")
        if parsed.states:
            conds.append(f"state IN ({','.join('?' * len(parsed.states))})")
            cond_values += sorted(parsed.states)
        if parsed.users:
            prefixes = {"question": ("q",), "answer": ("a",)}.get(parsed.scope or "", ("q", "a"))
            alts = []
            for u in parsed.users:
                for p in prefixes:
                    alts.append("people LIKE ? ESCAPE '\\'")
                    cond_values.append(f"% {p}:{_like(u)} %")
            conds.append("(" + " OR ".join(alts) + ")")
        if parsed.scope == "answer":
            conds.append("answer_count >= 1")
        for col, lo, hi in (("score", parsed.score_min, parsed.score_max),
                            ("answer_count", parsed.answers_min, parsed.answers_max)):
            if lo is not None:
                conds.append(f"{col} >= ?")
                cond_values.append(lo)
            if hi is not None:
                conds.append(f"{col} <= ?")
                cond_values.append(hi)
        if parsed.created_from is not None:
            conds.append("created_at >= ?")
            cond_values.append(parsed.created_from)
        if parsed.created_to is not None:
            conds.append("created_at < ?")
            cond_values.append(parsed.created_to)
        return tsq, conds, tq_values + cond_values

    @staticmethod
    def _split(tsq: str, values: list) -> tuple[list, list]:
        """The values of the tsquery expression (they come first) and of the conditions."""
        n = tsq.count("?")
        return values[:n], values[n:]

    @staticmethod
    def _pairs(exprs: list[str], values: list) -> tuple[str, list]:
        """SQL for a tsquery that matches what has at least two of these tsquery expressions (an OR of
        every pair; NULL, matching nothing, when fewer than two say anything), and its values."""
        arr = ", ".join(f"({e})::text" for e in exprs[:PAIRS_UPTO])
        kept = values[:sum(e.count("?") for e in exprs[:PAIRS_UPTO])]
        return ("(SELECT string_agg('(' || a.t || ') & (' || b.t || ')', ' | ')::tsquery"
                f" FROM unnest(ARRAY[{arr}]) WITH ORDINALITY AS a(t, i)"
                f" JOIN unnest(ARRAY[{arr}]) WITH ORDINALITY AS b(t, i) ON a.i < b.i"
                " WHERE a.t <> '' AND b.t <> '')", kept + kept)

    async def _run(self, parsed: SearchQuery, relaxed: bool, limit: int, exclude_ids: list[int] | None = None) -> list[dict]:
        """Every match ranked in full, each row with how many there are (n); with no words, the newest
        first (no n)."""
        tsq, conds, values = self._where(parsed, relaxed)
        if exclude_ids:
            conds.append(f"question_id NOT IN ({','.join('?' * len(exclude_ids))})")
            values += exclude_ids
        where = " AND ".join(conds)
        if tsq is not None:
            sql = (f"SELECT question_id, quality, ts_rank({WEIGHTS}, tsv, query) AS rank, count(*) OVER () AS n"
                   f" FROM search_document, ({'SELECT ' + tsq} AS query) AS q WHERE tsv @@ query"
                   + (f" AND {where}" if where else "") + " ORDER BY rank DESC, question_id DESC LIMIT ?")
            # the tsquery values come first (they sit in the FROM clause), then the conditions' values;
            # every match is ranked anyway, so counting them all (n) costs nothing more
        else:
            sql = ("SELECT question_id, quality, 1.0 AS rank FROM search_document" + (f" WHERE {where}" if where else "")
                   + " ORDER BY created_at DESC, question_id DESC LIMIT ?")
        return await db.fetch(sql, values + [limit])

    async def _titles_first(self, parsed: SearchQuery, relaxed: bool, limit: int,
                            exclude_ids: list[int] | None = None, pairs: bool = False) -> list[dict]:
        """The title tier of a query of common words: threads whose title matches (for `pairs`, has at
        least two of the groups), the RANK_POOL best by title rank and quality, ranked in full."""
        tsq, conds, values = self._where(parsed, relaxed)
        if tsq is None:
            return []
        tq_values, cond_values = self._split(tsq, values)
        titles = "search_document" if conds else "search_title"  # the narrow copy has no filter columns
        if exclude_ids:
            conds.append(f"question_id NOT IN ({','.join('?' * len(exclude_ids))})")
            cond_values += exclude_ids
        if pairs:
            group_values: list = []
            groups = ["(" + " || ".join(self._tsquery(t, group_values) for t in g) + ")" for g in parsed.groups]
            pick, pick_values = self._pairs(groups, group_values)
        else:
            pick, pick_values = tsq, list(tq_values)
        where = "".join(f" AND {c}" for c in conds)
        sql = (f"SELECT d.question_id, d.quality, ts_rank({WEIGHTS}, d.tsv, q.query) AS rank FROM"
               f" (SELECT question_id FROM {titles}, (SELECT {pick} AS pick, {tsq} AS query) AS q"
               f" WHERE title_tsv @@ pick{where}"
               " ORDER BY ts_rank(title_tsv, query) DESC, quality DESC, question_id DESC LIMIT ?) AS c"
               f" JOIN search_document AS d USING (question_id), (SELECT {tsq} AS query) AS q"
               " ORDER BY rank DESC, d.question_id DESC LIMIT ?")
        return await db.fetch(sql, pick_values + tq_values + cond_values + [RANK_POOL] + tq_values + [limit])

    async def _estimates(self, parsed: SearchQuery) -> tuple[float, float]:
        """(threads estimated to match every group, threads estimated to match any group), from the
        share of threads holding each of the words' lexemes (search/lexeme_shares.py). No statistics
        yet (before the first ANALYZE): 0, so every query is ranked in full."""
        terms = [t for g in parsed.groups for t in g]
        found = await lexeme_shares.shares([t.text for t in terms], "tsv", CONFIG)
        if found is None:
            return 0.0, 0.0
        every, bound, nothing, position, counted = 1.0, 1.0, 1.0, 0, False
        for group in parsed.groups:
            known = [i for i in range(position, position + len(group)) if found.of(i) is not None]
            position += len(group)
            if not known:
                continue  # stop words only: plainto_tsquery drops them
            counted = True
            missing = 1.0
            for i in known:
                missing *= 1 - min(1.0, found.of(i))
            every *= 1 - missing
            bound = min(bound, sum(found.at_most(i) for i in known))
            nothing *= missing
        if not counted:
            return 0.0, 0.0
        # A thread's words go together far more than the product of their shares says (at a million
        # threads, up to 354 times more matches, about 2 times at the median, docs/benchmarks.md), and the
        # rarest group's share bounds them from above: the estimate is halfway between, in ratio.
        every = math.sqrt(every * min(1.0, bound))
        return every * found.rows, (1 - nothing) * found.rows

    async def _count(self, parsed: SearchQuery, relaxed: bool) -> int:
        """Matches of a query with no words (only filters), counted up to COUNT_CAP."""
        tsq, conds, values = self._where(parsed, relaxed)
        where = " AND ".join(conds)
        if tsq is not None:
            sql = (f"SELECT count(*) AS n FROM (SELECT 1 FROM search_document, (SELECT {tsq} AS query) AS q"
                   " WHERE tsv @@ query" + (f" AND {where}" if where else "") + " LIMIT ?) AS capped")
        else:
            sql = ("SELECT count(*) AS n FROM (SELECT 1 FROM search_document" + (f" WHERE {where}" if where else "")
                   + " LIMIT ?) AS capped")
        rows = await db.fetch(sql, values + [COUNT_CAP])
        return int(rows[0]["n"])

    async def _ranked(self, parsed: SearchQuery, relaxed: bool, fetch: int, need: int, common: bool,
                      exclude_ids: list[int] | None = None) -> list[tuple[dict, float]]:
        """Matches in rank order (windows of 50 reordered by quality), at least `need` of them when
        there are: every match ranked in full, or for `common` queries the title tier first."""
        def window(rows: list[dict]) -> list[tuple[dict, float]]:
            return rerank_window([(r, float(r["rank"])) for r in rows], lambda r: float(r["quality"]), 50)

        if not common:
            return window(await self._run(parsed, relaxed, fetch, exclude_ids))
        rows: list[dict] = []
        if relaxed and len(parsed.groups) > 2:
            rows = await self._titles_first(parsed, True, fetch, exclude_ids, pairs=True)
        if len(rows) < need:
            seen = [r["question_id"] for r in rows]
            rows += await self._titles_first(parsed, relaxed, fetch, (exclude_ids or []) + seen or None)
        ranked = window(rows)
        if len(rows) < need:
            # Too few titles: the rest of the full text, ranked in full.
            seen = (exclude_ids or []) + [r["question_id"] for r in rows]
            ranked += window(await self._run(parsed, relaxed, fetch, seen or None))
        return ranked

    async def search(self, raw: str, page: int = 1, per_page: int = PER_PAGE, snippets: bool = True) -> SearchPage:
        page = min(max(int(page), 1), MAX_PAGE)
        parsed = parse(raw)
        out = SearchPage(items=[], total=0, page=page, per_page=per_page, hints=list(parsed.hints))
        if parsed.is_empty:
            if raw and raw.strip():
                out.hints.append("Nothing searchable was left in your query; try a few plain words.")
            return out
        need = page * per_page
        fetch = -(-need // 50) * 50
        every, anything = await self._estimates(parsed)
        common = every >= EXACT_UPTO
        ranked = await self._ranked(parsed, False, fetch, need, common)
        if common:
            # Titles gave fewer than a page, so every match was ranked: the rest's rows carry their count.
            rest = [r for r, _ in ranked if "n" in r]
            total = (len(ranked) - len(rest) + int(rest[0]["n"]) if rest
                     else len(ranked) if len(ranked) < need else COUNT_CAP)
        elif not parsed.groups and len(ranked) >= fetch:
            total = await self._count(parsed, False)
        else:
            total = int(ranked[0][0]["n"]) if ranked and "n" in ranked[0][0] else len(ranked)
        out.total, out.total_exact = max(min(total, COUNT_CAP), len(ranked)), total < COUNT_CAP
        if len(ranked) < need and len(parsed.groups) > 1:
            strict = [r["question_id"] for r, _ in ranked]
            more = await self._ranked(parsed, True, fetch, need - len(ranked), anything >= EXACT_UPTO, strict or None)
            if more:
                if not ranked:
                    out.hints.append("No thread has all of your words; these have some of them.")
                ranked += more
                out.total = max(out.total + len(more), len(ranked))
        start = (page - 1) * per_page
        chosen = [r for r, _ in ranked[start:start + per_page]]
        out.items = await self._hits(chosen, parsed if snippets else None)
        return out

    async def _hits(self, rows: list[dict], parsed: SearchQuery | None, words: list[str] | None = None) -> list[Hit]:
        if not rows:
            return []
        ids = [r["question_id"] for r in rows]
        rank = {r["question_id"]: float(r["rank"]) for r in rows}
        values: list = []
        terms = [t for g in parsed.groups for t in g] if parsed else [Term(w) for w in words or []]
        if terms:
            tsq = " || ".join(self._tsquery(t, values) for t in terms)
            head = (f"ts_headline({CONFIG}, excerpt, {tsq}, 'StartSel={START}, StopSel={STOP}, MaxWords=35,"
                    f" MinWords=15, MaxFragments=2, FragmentDelimiter=\" … \"')")
        else:
            head = "excerpt"
        docs = await db.fetch(f"SELECT question_id, title, excerpt, {head} AS head, tags, state, score, answer_count"
                              f" FROM search_document WHERE question_id IN ({','.join('?' * len(ids))})", values + ids)
        by_id = {d["question_id"]: d for d in docs}
        out = []
        for qid in ids:
            d = by_id.get(qid)
            if d is None:
                continue
            text = d["head"] or d["excerpt"][:220]
            snippet = Markup(str(escape(text)).replace(START, "<mark>").replace(STOP, "</mark>"))
            out.append(Hit(question_id=qid, title=d["title"], snippet=snippet, state=d["state"], score=d["score"],
                           answer_count=d["answer_count"], tags=d["tags"].split(), relevance=rank[qid]))
        return out

    async def among(self, raw: str, ids: list[int], unlisted: bool = False) -> list[Hit]:
        """Hits for these questions, in this order, that satisfy everything in `raw` but its plain
        words (see WhooshIndex.among); with `unlisted`, only those a search for `raw` never lists
        (no match for any of its words: its relaxed look-up takes them all)."""
        wanted = list(dict.fromkeys(int(i) for i in ids))
        if not wanted:
            return []
        parsed = parse(raw)
        strict = replace(parsed, groups=[g for g in parsed.groups if all(t.phrase or t.field for t in g)])
        tsq, conds, values = self._where(strict, False)
        sql = f"SELECT question_id FROM search_document WHERE question_id IN ({','.join('?' * len(wanted))})"
        if tsq is not None:
            sql += f" AND tsv @@ ({tsq})"
        sql += "".join(f" AND {c}" for c in conds)
        values = wanted + values
        if unlisted:
            if not parsed.has_text:
                return []  # the search lists every thread its filters let through
            words: list = []
            sql += f" AND NOT (tsv @@ ({' || '.join(self._tsquery(t, words) for g in parsed.groups for t in g)}))"
            values += words
        found = {r["question_id"] for r in await db.fetch(sql, values)}
        return await self._hits([{"question_id": i, "rank": 0.0} for i in wanted if i in found], parsed)

    async def _key_words(self, words: list[str], body_words: list[str]) -> tuple[list[str], list[str]]:
        """The words a similar-question look-up takes its candidates by, in the order given: the
        title's rarest (by the share of titles holding them, search/lexeme_shares.py) until their
        titles add up to SIMILAR_BUDGET, at least the SIMILAR_MIN_WORDS rarest, then the body's
        rarest within what is left; stop words dropped. Before the first ANALYZE, every word."""
        found = await lexeme_shares.shares(words + body_words, "title_tsv", CONFIG)
        if found is None:
            return words, body_words

        def rarest(indices: range, budget: float, least: int) -> tuple[list[int], float]:
            known = sorted((i for i in indices if found.at_most(i) is not None), key=lambda i: found.at_most(i))
            chosen: list[int] = []
            for i in known:
                cost = found.at_most(i) * found.rows
                if len(chosen) >= least and cost > budget:
                    break  # (sorted: every word after it is commoner)
                chosen.append(i)
                budget -= cost
            return sorted(chosen), budget

        in_title, left = rarest(range(len(words)), SIMILAR_BUDGET, SIMILAR_MIN_WORDS)
        least = 0 if in_title else SIMILAR_MIN_WORDS  # a title of stop words: the body's rarest instead
        in_body, _ = rarest(range(len(words), len(words) + len(body_words)), left, least)
        return [words[i] for i in in_title], [body_words[i - len(words)] for i in in_body]

    async def similar(self, title: str, body: str = "", limit: int = 5) -> list[Hit]:
        words = list(dict.fromkeys((title or "").split()))[:16]
        body_words = [w for w in dict.fromkeys((body or "")[:1000].split()) if w not in words][:12]
        if not words and not body_words:
            return []
        # Candidates are the threads holding the key (rarer) words; every word ranks them.
        key = sum(await self._key_words(words, body_words), [])
        if not key:
            return []
        query = " || ".join(f"plainto_tsquery({CONFIG}, ?)" for _ in words + body_words)
        parts = [f"plainto_tsquery({CONFIG}, ?)" for _ in key]
        pairs, pair_values = self._pairs(parts, key)
        # Titles first: short vectors, so even common words cost little, and titles with at least two
        # of the words before those with one (one index look-up instead of ranking every title that
        # shares a common word); the whole text only when titles give too few candidates.
        rows: list[dict] = []
        for vector, pick in (("title_tsv", "pairs"), ("title_tsv", "pick"), ("tsv", "pick")):
            if pick == "pairs" and len(parts) < 2:
                continue
            weights, table = (f"{WEIGHTS}, ", "search_document") if vector == "tsv" else ("", "search_title")
            chooser, chooser_values = (pairs, pair_values) if pick == "pairs" else (" || ".join(parts), key)
            sql = (f"SELECT question_id, quality, ts_rank({weights}{vector}, query) AS rank FROM {table},"
                   f" (SELECT {query} AS query, {chooser} AS {pick}) AS q"
                   f" WHERE {vector} @@ {pick} ORDER BY rank DESC, question_id DESC LIMIT 20")
            rows = await db.fetch(sql, words + body_words + chooser_values)
            if len(rows) >= (20 if pick == "pairs" else limit):
                break  # (the pairs only when they fill the 20 the windows rank: else every title is a candidate)
        ranked = rerank_window([(r, float(r["rank"])) for r in rows], lambda r: float(r["quality"]), 20)[:limit]
        hits = await self._hits([r for r, _ in ranked], None, words)
        hits.sort(key=lambda h: h.state != "solved")
        return hits
