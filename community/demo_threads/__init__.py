"""What the demo community talks about: the threads of Kestrel Mobile's customer forum, written by hand.

Each topic module holds `THREADS`, a list of `Q` (a question, its answers and comments). The loader
(`community.demo`) decides who asks and answers, when, and how the votes fall; the content decides
what is said, how good each answer is (`grade`), which one the asker accepts (`ok`) and how a
thread ends (`fate`). Askers write as customers do: terse or long, sometimes with typos.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

NETWORK = "Kestrel Mobile"

# How a thread ends, besides the ordinary (community answers, mostly within the hour):
NEW = "new"  # asked minutes ago: unanswered, still inside its SLA, not escalated
DESK = "desk"  # asked hours ago, nobody answered: escalated, waiting on the support desk
AGENT = "agent"  # the community's answers did not help: the asker asks for an agent, who replies
FATES = ("", NEW, DESK, AGENT)

# Who writes an answer: "" a member who knows the tags (the loader picks), "asker" (solved it
# themselves), "agent" (an official reply once the question escalated), or a username.
ASKER, STAFF = "asker", "agent"

# Grades: what the community made of an answer (the loader turns each into votes).
GREAT, GOOD, FAIR, MEH, POOR, WRONG = 3, 2, 1, 0, -1, -2


@dataclass(frozen=True)
class A:
    text: str
    grade: int = FAIR
    ok: bool = False  # the asker accepts it
    notes: tuple[str, ...] = ()  # comments under it: the first by the asker, the others by members
    by: str = ""


@dataclass(frozen=True)
class Q:
    title: str
    body: str
    tags: str
    answers: tuple[A, ...] = ()
    notes: tuple[str, ...] = ()  # comments under the question, from members asking for details
    fate: str = ""
    by: str = ""  # the asker's username ("" : the loader picks)
    score: int | None = None  # the question's score (None: the loader draws one)


def q(title: str, body: str, tags: str, *answers: A, notes: tuple[str, ...] = (), fate: str = "",
      by: str = "", score: int | None = None) -> Q:
    assert fate in FATES, fate
    return Q(title, body.strip(), tags, answers, notes, fate, by, score)


def a(text: str, grade: int = FAIR, ok: bool = False, notes: tuple[str, ...] = (), by: str = "") -> A:
    return A(text.strip(), grade, ok, notes, by)


MODULES = ("sim", "esim", "porting", "roaming", "international", "topups", "billing", "data", "hotspot",
           "signal", "calls", "messages", "lost", "plans", "contracts", "account")


def by_topic() -> dict[str, list[Q]]:
    """Every thread, topic by topic, in the order written (each topic's first thread is its most typical)."""
    return {name: list(importlib.import_module(f"{__name__}.{name}").THREADS) for name in MODULES}


def all_threads() -> list[Q]:
    return [t for threads in by_topic().values() for t in threads]
