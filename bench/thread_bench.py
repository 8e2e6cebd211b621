"""Benchmark of issue 2: the thread page of a question with 30 answers, beside the bare route.

Creates a fresh SQLite database under /tmp, seeds one question with 30 answers (plus comments,
votes and an accepted answer) through the ordinary services, starts the real server with ONE
worker (uvicorn, uvloop, httptools) and drives it with wrk at 32 connections. Each round measures,
one after the other, the bare route (/bare, a 2 KB template), the thread page as an anonymous
reader and the thread page as a logged-in member (the asker, so every answer carries an accept
form, and with unread notifications). Reports the medians over the rounds: requests per second,
the ratio to the bare route, p50/p99 latency, and the server's CPU time per request (read from
/proc; it moves less than requests per second when other work shares the machine).

    .venv/bin/python bench/thread_bench.py                # 3 rounds of 10 s per route
    .venv/bin/python bench/thread_bench.py --rounds 5 --duration 10 --markdown

BENCH_PYTHONPATH adds a folder to the server's import path, for experiments (a sitecustomize.py
there can patch the app before it starts).

Results and the machine they were measured on: docs/benchmarks.md, "Thread page (issue 2)".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
ANSWERS = 30
PASSWORD = "bench-password-1"


@dataclass
class Measure:
    route: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_ms: float = 0.0  # the server's CPU time per request: steadier than req/s on a shared machine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(workdir: Path, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": f"sqlite://{workdir / 'bench.sqlite3'}",
        "VAR_DIR": str(workdir / "var"),
        "INDEX_DIR": str(workdir / "index"),
        "SECRET_KEY": "bench-secret-key-not-for-production",
        "DEMO_DATA": "0",
        # Background loops would compete for the one worker's time; the page is what we measure.
        "RUN_INDEXER": "0",
        "RUN_SWEEPER": "0",
        "PORT": str(port),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("BENCH_PYTHONPATH", "")])),
    })
    return env


async def _seed(database_url: str) -> tuple[int, str]:
    """One question by `asker`, 30 answers by 30 members, comments, votes, one accepted answer.

    Returns the question id and the username to log in as (the asker).
    """
    sys.path.insert(0, str(ROOT))
    from community import acceptance, accounts, db, questions, reputation, settings, voting
    from community.app import _rooms
    from community.models import User

    _rooms()  # the rooms subscribe to events on import, exactly as in the server
    await db.init(database_url)
    try:
        await settings.load()
        await questions.ensure_generation_row()

        async def member(name: str, rep: int) -> User:
            user = await accounts.sign_up(name, f"{name}@example.com", PASSWORD)
            async with db.transaction() as conn:
                await reputation.grant(user.id, rep - 1, "earlier_history", f"bench:{name}", None, conn)
                await reputation.refresh_total(user.id, conn)
            return await User.get(id=user.id)

        asker = await member("asker", 200)
        helpers = [await member(f"helper{i:02d}", 300 + i) for i in range(ANSWERS)]
        q = await questions.ask(
            asker, "My eSIM stopped working after the roaming top-up",
            "I bought the **roaming add-on** yesterday and since then my eSIM shows *No service* "
            "abroad. I restarted the phone twice and toggled data roaming. What else can I try?",
            "esim roaming top-up",
        )
        answers = []
        for i, helper in enumerate(helpers):
            body = (f"Answer {i + 1}: open *Settings > Mobile data*, check that the eSIM line is the "
                    f"data line and that **data roaming** is on. Then dial `*#100#` to check the "
                    f"add-on is active. If that fails, re-download the profile from your account page. "
                    + "Some more detail so the answer has a realistic length. " * 6)
            answers.append(await questions.answer(helper, q.id, body))
        for i, a in enumerate(answers):
            # Votes from a few other helpers, and a comment on every third answer.
            for voter in helpers[i + 1: i + 4]:
                await voting.vote(voter, a.id, 1)
            if i % 3 == 0:
                await questions.comment(asker, a.id, f"Thanks, step {i + 1} helped me get further.")
                await questions.comment(helpers[(i + 5) % ANSWERS], a.id, "Worked for me on Android 14 as well.")
            if i % 4 == 0:
                await voting.vote(asker, a.id, 1)  # the member we log in as has voted on some answers
        for voter in helpers[:5]:
            await voting.vote(voter, q.id, 1)
        await questions.comment(helpers[0], q.id, "Which phone model is it?")
        await acceptance.accept(asker, q.id, answers[7].id)
        return q.id, "asker"
    finally:
        await db.close()


def _login_cookie(base: str, username: str) -> str:
    import httpx

    with httpx.Client(base_url=base, follow_redirects=False) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/"})
        if r.status_code != 303:
            raise SystemExit(f"login failed: {r.status_code} {r.text[:300]}")
        return client.cookies["session"]


def _thread_path(base: str, qid: int) -> str:
    """The thread's canonical address (/questions/{id}/{slug}): the bare id answers with a redirect."""
    import httpx

    r = httpx.get(f"{base}/questions/{qid}")
    return r.headers["location"] if r.status_code == 301 else f"/questions/{qid}"


def _check_pages(base: str, path: str, cookie: str) -> None:
    """The three routes answer 200 and the member's page really is a member's page."""
    import httpx

    with httpx.Client(base_url=base) as client:
        assert client.get("/bare").status_code == 200
        anon = client.get(path)
        assert anon.status_code == 200 and "Log in</a> or" in anon.text, anon.text[:500]
        assert len(re.findall(r'<article class="answer[ "]', anon.text)) == ANSWERS, "the thread should show 30 answers"
        again = client.get(path)
        if again.headers.get("x-cache") != "hit":
            print("warning: the anonymous thread page is not served from the page cache", file=sys.stderr)
        member = client.get(path, headers={"cookie": f"session={cookie}"})
        assert member.status_code == 200 and "Accept this answer" in member.text, member.text[:500]
        assert member.headers.get("x-cache") is None, "a member's page must never come from the cache"


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise ValueError(f"cannot read the latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, all its threads (the SQLite driver runs in one)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wrk(url: str, route: str, threads: int, connections: int, duration: int, cookie: str | None, pid: int) -> Measure:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    if cookie:
        cmd += ["-H", f"Cookie: session={cookie}"]
    cpu = _cpu_seconds(pid)
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    cpu = _cpu_seconds(pid) - cpu
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(int(g) for g in sock.groups()) if sock else 0)
    served = int(re.search(r"(\d+) requests in", out).group(1))
    return Measure(route, rps, p50, p99, errors, 1000 * cpu / max(served, 1))


def _machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()
    return (f"nproc {os.cpu_count()}, CPU {model}, Python {platform.python_version()}, "
            f"load average before the run {load[0]:.2f}")


def _wait_up(base: str, server: subprocess.Popen, timeout: float = 30.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server exited while starting")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not come up in time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per route per round")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--markdown", action="store_true", help="print the results as a Markdown table too")
    parser.add_argument("--keep", action="store_true", help="keep the /tmp work directory")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")

    machine = _machine()
    workdir = Path(tempfile.mkdtemp(prefix="thread-bench-", dir="/tmp"))
    port = _free_port()
    env = _env(workdir, port)
    base = f"http://127.0.0.1:{port}"
    server = None
    try:
        subprocess.run([PYTHON, str(ROOT / "run.py"), "migrate"], env=env, cwd=ROOT, check=True, capture_output=True, timeout=180)
        os.environ.update({k: env[k] for k in ("DATABASE_URL", "VAR_DIR", "INDEX_DIR", "SECRET_KEY")})
        qid, username = asyncio.run(_seed(env["DATABASE_URL"]))
        server = subprocess.Popen(
            [PYTHON, "-m", "uvicorn", "community.app:create_app", "--factory", "--loop", "uvloop", "--http",
             "httptools", "--workers", "1", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
             "--no-access-log"],
            env=env, cwd=ROOT,
        )
        _wait_up(base, server)
        cookie = _login_cookie(base, username)
        path = _thread_path(base, qid)
        _check_pages(base, path, cookie)
        routes = [
            ("bare", f"{base}/bare", None),
            ("thread, anonymous", f"{base}{path}", None),
            ("thread, member", f"{base}{path}", cookie),
        ]
        for _, url, ck in routes:  # warm up: imports, template compilation, SQLite page cache
            _wrk(url, "warm-up", args.threads, args.connections, 2, ck, server.pid)
        rounds: list[dict[str, Measure]] = []
        for n in range(args.rounds):
            this = {}
            for name, url, ck in routes:
                this[name] = m = _wrk(url, name, args.threads, args.connections, args.duration, ck, server.pid)
                print(f"round {n + 1} {name:18} {m.rps:9.1f} req/s  p50 {m.p50_ms:7.2f} ms  "
                      f"p99 {m.p99_ms:7.2f} ms  server CPU {m.cpu_ms:5.2f} ms/request  errors {m.errors}", flush=True)
            rounds.append(this)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    cmd = (f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency; {args.rounds} rounds, "
           "routes interleaved per round; server: uvicorn community.app:create_app --factory --loop uvloop "
           "--http httptools --workers 1 (SQLite)")
    print(f"\nmachine: {machine}\nload: {cmd}\n")
    header = "| route | req/s (median) | ratio to bare (median) | p50 ms | p99 ms | server CPU ms/request | errors |"
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|"]
    for name in [r[0] for r in routes]:
        rps = statistics.median(r[name].rps for r in rounds)
        ratio = statistics.median(r[name].rps / r["bare"].rps for r in rounds)
        p50 = statistics.median(r[name].p50_ms for r in rounds)
        p99 = statistics.median(r[name].p99_ms for r in rounds)
        cpu = statistics.median(r[name].cpu_ms for r in rounds)
        errors = sum(r[name].errors for r in rounds)
        lines.append(f"| {name} | {rps:,.0f} | {ratio:.0%} | {p50:.2f} | {p99:.2f} | {cpu:.2f} | {errors} |")
    table = "\n".join(lines)
    if args.markdown:
        print(table)
    else:
        print(table.replace("|", " ").replace("---:", "").replace("---", ""))


if __name__ == "__main__":
    main()
