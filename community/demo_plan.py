"""The demo's plan, made before anything is written: which threads a history of so many days holds, when
each question is asked, who asks it (a newcomer, a regular, now and then a helper outside their field), who
writes each answer (a helper who knows the tags for the good ones, a casual member for the poor ones, the
asker, or an agent), and how long the first answer takes. `community.demo` replays the plan."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from community.demo_threads import AGENT, ASKER, DESK, FAIR, NEW, STAFF, Q, by_topic, people

DAYS = 112  # sixteen weeks; a shorter load (tests) takes a proportional share of the threads
AGENTS = [m.username for m in people.STAFF]
OFFICIAL = (STAFF, *AGENTS)  # who writes an official reply
# Where the special threads sit before the demo's present moment.
NEW_MINUTES = (9, 24, 43)  # still inside the one-hour SLA
DESK_HOURS = (1.6, 3.4, 5.8, 9.5)  # escalated, open on the desk
AGENT_HOURS = (8.0, 13.0)  # the asker asked for an agent, who has claimed it


def _first_answer_minutes(rng: random.Random, hour: int) -> float:
    """How long a question waits for its first answer: mostly minutes, sometimes hours (night is slower)."""
    night = hour < 7
    r = rng.random()
    if r < (0.85 if night else 0.97):
        return min(58.0, max(1.5, rng.lognormvariate(math.log(14), 0.7)))
    if r < 0.98:
        return rng.uniform(62, 300)
    return rng.uniform(300, 20 * 60)


def _newcomer_names(rng: random.Random, taken: set[str], n: int) -> list[tuple[str, str]]:
    """Handles people pick when they sign up to ask one thing: (username, display name)."""
    firsts = ["amy", "steve", "jo", "kate", "paul", "lucy", "darren", "priya", "sean", "emma", "gary", "nicola", "matt",
              "alex", "sue", "jack", "ruby", "dean", "lisa", "carl", "ellen", "omar", "nat", "vicky", "rich", "anna",
              "lee", "jade", "ian", "fatima", "craig", "zara", "phil", "maya", "josh", "karen", "andy", "leon", "kim", "sam"]
    lasts = ["morris", "khan", "evans", "walsh", "hughes", "begum", "reid", "lewis", "carter", "murphy", "shaw", "green",
             "bell", "ward", "cole", "mills", "hunt", "price", "fox", "lloyd", "stone", "rees", "doyle", "nash"]
    out: list[tuple[str, str]] = []
    while len(out) < n:
        first, last = rng.choice(firsts), rng.choice(lasts)
        name = rng.choice([f"{first}{last[0]}", f"{first}_{last}", f"{first}.{last[0]}", f"{first}{rng.randint(70, 99)}",
                           f"{first[0]}{last}", f"{first}{last}{rng.randint(1, 9)}"])
        if name in taken:
            continue
        taken.add(name)
        out.append((name, f"{first.title()} {last[0].upper()}." if rng.random() < 0.3 else ""))
    return out


@dataclass
class Plan:
    """One thread's story: who asks and when, who writes each answer, and when the first one comes."""

    thread: Q
    asker: str
    at: datetime
    authors: list[str]  # per answer: a username, or "agent" for the official reply
    first_wait: float  # minutes to the first community answer (math.inf: none before the desk)
    agent: str
    staff_first: bool = False
    question_id: int = 0
    ticket: bool = False  # the support desk has (had) it
    answer_ids: dict[int, int] = field(default_factory=dict)  # answer index -> post id


def choose_threads(days: int, rng: random.Random) -> tuple[list[Q], list[Q]]:
    """(ordinary, special) threads for a history of `days`: all of them for the full demo; for a shorter
    one, each topic's most typical thread first, then an even share of the rest."""
    topics = by_topic()
    special = [t for ts in topics.values() for t in ts if t.fate]
    keyed: list[tuple[float, Q]] = []
    for ts in topics.values():
        ordinary = [t for t in ts if not t.fate]
        rest = ordinary[1:]
        rng.shuffle(rest)
        keyed.append((-1.0, ordinary[0]))
        keyed += [((i + rng.random()) / len(rest), t) for i, t in enumerate(rest)]
    ordered = [t for _, t in sorted(keyed, key=lambda k: k[0])]
    n = len(ordered) if days >= DAYS else max(len(topics), round(len(ordered) * days / DAYS))
    return ordered[:n], special


def question_times(n: int, start: datetime, end: datetime, rng: random.Random) -> list[datetime]:
    """`n` moments between start and end: weekdays busier than weekends, daytime than night."""
    days = max(1, (end - start).days)
    day_weights = [1.0 if (start + timedelta(days=d)).weekday() < 5 else 0.45 for d in range(days + 1)]
    hour_weights = [1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 8, 7, 7, 7, 7, 7, 7, 8, 8, 7, 5, 3, 2]
    out: list[datetime] = []
    while len(out) < n:
        d = rng.choices(range(days + 1), weights=day_weights)[0]
        h = rng.choices(range(24), weights=hour_weights)[0]
        when = (start + timedelta(days=d)).replace(hour=h, minute=rng.randint(0, 59), second=rng.randint(0, 59))
        if start <= when <= end:
            out.append(when)
    return sorted(out)


def pick(rng: random.Random, weights: dict[str, float], exclude: set[str]) -> str:
    names = [n for n in weights if n not in exclude and weights[n] > 0]
    return rng.choices(names, weights=[weights[n] for n in names])[0]


def _helper_weights(tags: list[str]) -> dict[str, float]:
    return {m.username: m.answers * (1 + 4 * len(set(tags) & set(m.knows.split()))) for m in people.HELPERS}


CASUAL = {m.username: 3.0 for m in people.REGULARS if m.username not in ("nina", "olu")} | \
         {m.username: 1.0 for m in people.HELPERS if m.answers <= 2}


def plan_threads(ordinary: list[Q], special: list[Q], start: datetime, now: datetime,
                 rng: random.Random) -> tuple[list[Plan], dict[str, tuple[datetime, str, str]]]:
    """Who asks and answers each thread, and when; returns the plans and the newcomers (when each joined,
    display name, location)."""
    times = question_times(len(ordinary), start, now - timedelta(minutes=80), rng)
    rng.shuffle(ordinary)
    slots = list(zip(ordinary, times))
    for t in special:
        n = sum(1 for s in special[:special.index(t)] if s.fate == t.fate)
        ago = {NEW: timedelta(minutes=NEW_MINUTES[n % 3]), DESK: timedelta(hours=DESK_HOURS[n % len(DESK_HOURS)]),
               AGENT: timedelta(hours=AGENT_HOURS[n % 2])}[t.fate]
        slots.append((t, (now - ago).replace(microsecond=0)))
    slots.sort(key=lambda s: s[1])

    taken = {m.username for m in [*people.HELPERS, *people.REGULARS, *people.STAFF]} | {n for n, _, _ in people.NEWCOMERS}
    listed = {n: (d, loc) for n, d, loc in people.NEWCOMERS}
    newcomers = list(listed)
    rng.shuffle(newcomers)
    joined: dict[str, tuple[datetime, str, str]] = {}
    regulars = {m.username: (4.0 if m.username in ("alice", "bob") else 2.0) for m in people.REGULARS
                if m.username not in ("nina", "olu")}
    again: list[tuple[datetime, str]] = []  # newcomers who will come back with another question
    plans: list[Plan] = []
    for thread, at in slots:
        tags = thread.tags.split()
        r = rng.random()
        if thread.by:
            asker = thread.by
        elif r < 0.55:
            back = [n for when, n in again if when <= at]
            if back and rng.random() < 0.5:
                asker = back[0]
                again = [(w, n) for w, n in again if n != asker]
            else:
                if newcomers:
                    asker = newcomers.pop()
                else:
                    asker, display = _newcomer_names(rng, taken, 1)[0]
                    listed[asker] = (display, "")
                joined[asker] = (at - timedelta(minutes=rng.randint(3, 3 * 24 * 60)), *listed[asker])
                if rng.random() < 0.2:
                    again.append((at + timedelta(days=rng.randint(7, 40)), asker))
        elif r < 0.9:
            asker = pick(rng, regulars, set())
        else:
            asker = pick(rng, {m.username: 1.0 for m in people.HELPERS if not set(tags) & set(m.knows.split())}, set())
        used = {asker}
        authors: list[str] = []
        agent = rng.choice(AGENTS)
        for answer in thread.answers:
            if answer.by == ASKER:
                who = asker
            elif answer.by == STAFF:
                who = STAFF
            elif answer.by:
                who = answer.by
                if who in AGENTS:
                    agent = who
            elif answer.grade >= FAIR:
                who = pick(rng, _helper_weights(tags), used)
            else:
                who = pick(rng, CASUAL, used)
            used.add(who)
            authors.append(who)
        staff_first = bool(authors) and authors[0] in OFFICIAL
        community_first = bool(authors) and not staff_first and thread.fate not in (NEW, DESK)
        wait = _first_answer_minutes(rng, at.hour) if community_first else math.inf
        if community_first and (thread.fate == AGENT or set(authors) & set(OFFICIAL)):
            wait = min(wait, rng.uniform(5, 40))  # answered in time; the agent comes in later
        plans.append(Plan(thread, asker, at, authors, wait, agent, staff_first))
    for name in newcomers:  # signed up and have only read so far
        joined[name] = (start + timedelta(minutes=rng.randint(0, int((now - start).total_seconds() // 60))), *listed[name])
    return plans, joined
