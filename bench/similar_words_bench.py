"""Hybrid similar questions on the kept semantic_bench database: every title word in the lexical search list vs the 4 longest (alternating, uncached). Usage: edit the path of a `semantic_bench.py --keep` folder below."""
import asyncio, sys, time, statistics
sys.path.insert(0, '/work/main'); sys.path.insert(0, '/work/main/bench')
import search_bench as sb
from pathlib import Path
import importlib
async def main():
    from community import db
    from search.backend import WhooshBackend
    import search.hybrid as hy
    from search.embedding import shared
    from search.neighbours import NeighbourIndex
    await db.init("sqlite:///tmp/semantic-bench-beqaab1p/app.sqlite3")
    lex = WhooshBackend(Path("/tmp/semantic-bench-beqaab1p/index")); emb = shared(); nb = NeighbourIndex(); await nb.follow(force=True)
    h = hy.HybridBackend(lex, emb, nb, follow=False)
    sims = sb.similar_inputs(100)
    await h.similar("warm", "")
    res = {0: [], 4: []}
    for title, _ in sims:
        for n in (0, 4):
            lex.similar_search_words = n or None
            h._queries.clear(); lex.index._cache.clear()
            t = time.perf_counter(); await h.similar(title, "", 5); res[n].append(1000*(time.perf_counter()-t))
    for n, v in res.items():
        v.sort(); print("all words" if n == 0 else f"{n} longest", "p50 %.1f p95 %.1f ms" % (v[len(v)//2], v[int(len(v)*.95)]))
asyncio.run(main())
