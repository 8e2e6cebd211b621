"""Benchmark of issue 13: 10,000 notification mails through the real path into a local SMTP sink.

A fresh SQLite database in a temp dir (`db.migrate`), seeded with set-based SQL: 10,000 members with
confirmed addresses, 100 questions with one answer each, and per member one `watched_answer`
notification due now (an answer on a question they watch: 10,000 members and threads, so 10,000
mails, none folded). Each round, on a fresh copy of that database, runs what the in-server sender
runs (`community.mail.send_once` with `community.notification_mail.composer`: compose everything
due into the outbox, one transaction per 200 notifications, then deliver one batch of 20 over one
SMTP connection) until nothing is left, against an aiosmtpd server in a process of its own on
127.0.0.1 that counts what it accepts. It reports mails per second, the time spent composing and
delivering, and the process's memory: RSS once imported and connected, and the peak RSS during the
round (VmHWM, reset just before it). Every mail must arrive once.

    .venv/bin/python bench/mail_bench.py --mails 10000 --rounds 3

Results and the machine: docs/benchmarks.md, "Digests and notification mail (issue 13)".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTIONS = 100


def _series(n: int) -> str:
    return f"(WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i < {n - 1}) SELECT i FROM g)"


def seed(path: Path, mails: int) -> None:
    import sqlite3

    due = (datetime.now(timezone.utc) - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S+00:00")
    asker = mails + 1
    con = sqlite3.connect(path)
    con.executescript(f"""
        INSERT INTO "user" (id, username, email, role, reputation, about, created_at, suspension_reason, email_confirmed_at)
            SELECT i + 1, 'm' || i, 'm' || i || '@example.com', 'member', 1, '', '{due}', '', '{due}'
            FROM {_series(mails + 1)};
        INSERT INTO post (id, kind, title, body, body_html, score, created_at, last_activity_at, official, tag_names, state,
                          answer_count, view_count, locked, hidden, escalation_exempt, author_id)
            SELECT i + 1, 'question', 'Roaming stops at the border, question ' || i, 'body',
                   '<p>My phone loses data when I cross into the next country. What should I change?</p>', 0,
                   '{due}', '{due}', 0, 'roaming', 'answered', 1, 0, 0, 0, 0, {asker}
            FROM {_series(QUESTIONS)};
        INSERT INTO post (id, kind, question_id, title, body, body_html, score, created_at, last_activity_at, official,
                          tag_names, state, answer_count, view_count, locked, hidden, escalation_exempt, author_id)
            SELECT 1000 + i, 'answer', i + 1, '', 'answer',
                   '<p>Turn on the roaming pass in the app, then restart the phone once you have crossed.</p>', 0,
                   '{due}', '{due}', 0, '', 'unanswered', 0, 0, 0, 0, 0, {asker}
            FROM {_series(QUESTIONS)};
        INSERT INTO notification (user_id, kind, text, url, created_at, question_id, post_id, actor_id, reason, mail_due_at, digest)
            SELECT i + 1, 'watched_answer', 'm{asker - 1} answered: Roaming stops at the border, question ' || (i % {QUESTIONS}),
                   '/questions/' || (i % {QUESTIONS} + 1) || '#answer-' || (1000 + i % {QUESTIONS}), '{due}',
                   i % {QUESTIONS} + 1, 1000 + i % {QUESTIONS}, {asker}, 'you watch this question', '{due}', ''
            FROM {_series(mails)};
    """)
    con.commit()
    con.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sink(port: int) -> None:
    """The SMTP sink (its own process): counts accepted mails until stdin closes, then prints the count."""
    from aiosmtpd.controller import Controller

    class Count:
        received = 0

        async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's hook)
            self.received += 1
            return "250 OK"

    handler = Count()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    sys.stdin.read()
    controller.stop()
    print(handler.received, flush=True)


def _vm(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise LookupError(field)


async def one_round(url: str, port: int) -> dict:
    from community import db, mail, notification_mail, settings
    from community.mail_links import Site
    from community.models import OutgoingMail

    await db.init(url)
    await settings.load()
    site = Site("https://forum.example", "bench-secret", "community@forum.example")
    composing = [0.0]

    async def compose() -> int:  # notification_mail.composer, timed
        t = time.perf_counter()
        total = 0
        while (handled := await notification_mail.compose_due(site)) == notification_mail.BATCH:
            total += handled
        composing[0] += time.perf_counter() - t
        return total + handled

    transport = mail.Transport(f"smtp://127.0.0.1:{port}", site.mail_from)
    Path("/proc/self/clear_refs").write_text("5")
    rss_start = _vm("VmRSS")
    started = time.perf_counter()
    sent = 0
    while (batch := await mail.send_once(transport, [compose])).claimed:
        sent += batch.sent
        assert batch.sent == batch.claimed, batch
    seconds = time.perf_counter() - started
    rss_peak = _vm("VmHWM")
    left = await OutgoingMail.filter(sent_at=None).count()
    await db.close()
    return {"sent": sent, "left": left, "seconds": seconds, "compose_s": composing[0], "rss_start_mb": rss_start,
            "rss_peak_mb": rss_peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mails", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3, help="rounds (the median is reported)")
    parser.add_argument("--sink", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        sink(args.sink)
        return
    from community import db, mail

    print(f"machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}; {mail.BATCH} mails per SMTP connection")
    results = []
    with tempfile.TemporaryDirectory(prefix="mail-bench-") as tmp:
        seeded = Path(tmp) / "seed.sqlite3"
        asyncio.run(db.migrate(f"sqlite://{seeded}"))
        seed(seeded, args.mails)
        for n in range(args.rounds):
            path = Path(tmp) / f"round{n}.sqlite3"
            shutil.copy(seeded, path)
            port = free_port()
            server = subprocess.Popen([sys.executable, __file__, "--sink", str(port)], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True, cwd=ROOT)
            assert server.stdout.readline().strip() == "ready"
            try:
                r = asyncio.run(one_round(f"sqlite://{path}", port))
            finally:
                received, _ = server.communicate("", timeout=60)
            r["received"] = int(received.strip())
            assert r["sent"] == r["received"] == args.mails and r["left"] == 0, r
            results.append(r)
            print(f"round {n + 1}: {r['sent']:,} mails in {r['seconds']:.1f} s ({r['sent'] / r['seconds']:,.0f}/s; "
                  f"composing {r['compose_s']:.1f} s); RSS {r['rss_start_mb']:.0f} MB at start, peak {r['rss_peak_mb']:.0f} MB",
                  flush=True)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    seconds = statistics.median(r["seconds"] for r in results)
    print("| mails | median s | mails/s | composing s | delivering s | RSS at start MB | peak RSS MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    compose = statistics.median(r["compose_s"] for r in results)
    print(f"| {args.mails:,} | {seconds:.1f} | {args.mails / seconds:,.0f} | {compose:.1f} | "
          f"{statistics.median(r['seconds'] - r['compose_s'] for r in results):.1f} | "
          f"{statistics.median(r['rss_start_mb'] for r in results):.0f} | {statistics.median(r['rss_peak_mb'] for r in results):.0f} |")


if __name__ == "__main__":
    main()
