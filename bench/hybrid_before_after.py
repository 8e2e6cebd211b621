"""Issue 16: hybrid look-ups before and after a change, and the lexical backend alone, on a kept
`bench/semantic_bench.py --keep` database, alternating call by call (the starting side rotates),
every call uncached; wall and CPU (process_time, every thread) p50 / p95 in ms.

"before" is search/hybrid.py and search/neighbours.py as committed at HEAD (read with `git show`),
"after" the working tree. Usage:

    .venv/bin/python bench/hybrid_before_after.py /tmp/semantic-bench-XXXX 120 title,body,search
"""
import asyncio, sys, time, os, json, importlib.util
from pathlib import Path
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT)); sys.path.insert(0, str(ROOT / 'bench'))
import search_bench as sb
DB = sys.argv[1]
import subprocess, tempfile
BEFORE = tempfile.mkdtemp()
for _name in ("hybrid", "neighbours"):
    Path(BEFORE, f"{_name}_before.py").write_text(subprocess.run(["git", "-C", str(ROOT), "show", f"HEAD:search/{_name}.py"], capture_output=True, text=True, check=True).stdout)
class HeadLexical:
    """The lexical backend as HEAD's hybrid.py saw it: its 4 longest title words (`similar_search_words`)."""

    similar_search_words = 4

    def __init__(self, lexical):
        self._lexical = lexical

    def __getattr__(self, name):
        return getattr(self._lexical, name)


def pct(v, p): v = sorted(v); return v[min(len(v)-1, int(len(v)*p/100))]
async def main():
    from community import db
    from search.backend import WhooshBackend
    import search.hybrid as hy
    spec = importlib.util.spec_from_file_location("hybrid_before", f"{BEFORE}/hybrid_before.py"); hb = importlib.util.module_from_spec(spec); spec.loader.exec_module(hb)
    from search.embedding import shared
    from search.neighbours import NeighbourIndex
    spec2 = importlib.util.spec_from_file_location("neighbours_before", f"{BEFORE}/neighbours_before.py"); nbm = importlib.util.module_from_spec(spec2); spec2.loader.exec_module(nbm)
    await db.init(f"sqlite://{DB}/app.sqlite3")
    lex = WhooshBackend(Path(f"{DB}/index")); emb = shared(); nb = NeighbourIndex(); await nb.follow(force=True)
    nb0 = nbm.NeighbourIndex(); await nb0.follow(force=True)
    after = hy.HybridBackend(lex, emb, nb, follow=False); before = hb.HybridBackend(HeadLexical(lex), emb, nb0, follow=False)
    n = int(sys.argv[2]); parts = sys.argv[3].split(",")
    sims = sb.similar_inputs(n)
    queries = sb.make_queries(n)
    await after.similar("warm", ""); await before.similar("warm", "")
    loads = [os.getloadavg()[0]]
    out = {}
    sides = {"lexical": lex, "before": before, "after": after}
    def clear():
        lex.index._cache.clear(); after._queries.clear(); before._queries.clear()
    for part in parts:
        res = {k: [] for k in sides}; cpu = {k: [] for k in sides}
        for i, (title, body) in enumerate(sims):
            if part == "search":
                arg = queries[i]
            order = list(sides.items()); order = order[i % 3:] + order[:i % 3]
            for name, b in order:
                clear(); t = time.perf_counter(); c = time.process_time()
                if part == "title": await b.similar(title, "", 5)
                elif part == "body": await b.similar(title, body, 5)
                else: await b.search(arg, 1)
                res[name].append(1000 * (time.perf_counter() - t)); cpu[name].append(1000 * (time.process_time() - c))
        loads.append(os.getloadavg()[0])
        out[part] = {k: (round(pct(v, 50), 1), round(pct(v, 95), 1), "cpu", round(pct(cpu[k], 50), 1), round(pct(cpu[k], 95), 1)) for k, v in res.items()}
        print(part, out[part], "load", loads[-1], flush=True)
    print(json.dumps({"loads": loads, **out}))
asyncio.run(main()); os._exit(0)
