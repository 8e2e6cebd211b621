"""The demo community of Kestrel Mobile, a fictional network, loaded by `make serve` into an empty database.

Sixteen weeks of history. What is said comes from `community.demo_threads` (some 340 threads written by
hand, across what a network's customers ask about); who says it and when, from `community.demo_plan`.
This module replays the plan in time order through the ordinary services with the clock set back:
questions arrive more by day than by night, most get a first answer within the hour, some wait longer
and go to the support desk, where the two agents claim them, reply and resolve; comments follow. So
question states, tickets, notifications, the reputation ledger and the insights dashboard are what real
use would have produced. The newest questions are still inside their SLA or waiting on the desk.

Votes, the most numerous writes, and accepts away from the desk are recorded in weekly batches with the
rows their services write (the vote, the post's score, the ledger entries of `voting._amounts` under the
daily cap; the accepted answer, the question's state, the ledger and the answerer's notification; the
cached totals); badges are then awarded by their rules over the whole history (`badges.recompute`).
"""

from __future__ import annotations

import heapq
import importlib
import itertools
import math
import random
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from community import acceptance, accounts, badges, clock, db, questions, reputation, settings, voting, watches
from community.demo_plan import AGENTS, DAYS, OFFICIAL, Plan, choose_threads, pick, plan_threads
from community.demo_threads import AGENT, DESK, FAIR, GOOD, GREAT, MEH, NETWORK, POOR, A, people
from community.errors import DomainError
from community.models import Post, ReputationEvent, Tag, User, Vote
from community.notifications import notify
from search import outbox

PASSWORD = "demo-password"
LOGIN_HELP = """
  Community forum running at {url}
  Log in with password '""" + PASSWORD + """' as:
    member     alice        (or bob, chen, dana, emeka, farah ...)
    moderator  mod_maria
    staff      agent_sam    (or agent_priya)
    admin      admin
"""

SCORES = {GREAT: (8, 17), GOOD: (2, 8), FAIR: (0, 4), MEH: (-1, 2), POOR: (-3, 0)}  # below POOR: WRONG
WRONG_SCORES = (-6, -1)


@dataclass(frozen=True)
class PlannedVote:
    at: datetime
    voter: str
    value: int
    plan: Plan
    answer: int  # -1: the question


class Timeline:
    """Actions at moments in the past, run in time order with the clock set to each moment."""

    def __init__(self, fake: clock.FakeClock, until: datetime) -> None:
        self.fake, self.until = fake, until
        self.queue: list[tuple[datetime, int, Callable[[], Awaitable[Any]]]] = []
        self.seq = itertools.count()
        self.refused: list[str] = []

    def at(self, when: datetime, action: Callable[[], Awaitable[Any]]) -> None:
        if when <= self.until:
            heapq.heappush(self.queue, (when, next(self.seq), action))

    async def run(self) -> None:
        while self.queue:
            when, _, action = heapq.heappop(self.queue)
            self.fake.set(when)
            try:
                await action()
            except DomainError as exc:  # e.g. a ticket the asker's accept already resolved: real people hit these too
                self.refused.append(f"{getattr(action, '__name__', 'action')}: {exc}")


def _room(name: str) -> Any:
    """A room's module if it is installed (rooms are optional), importing it registers its hooks."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            return None
        raise


async def is_empty() -> bool:
    return not await Post.exists()


async def load(seed: int = 7, days: int = DAYS) -> str:
    """Create the demo members and `days` (sixteen weeks) of history, and return a summary."""
    from community.app import ROOMS

    for name in ROOMS:  # the same hooks as the running app: tickets follow answers, first posts get reviewed
        _room(name)
    sweeper, tickets, deflection, policy = (_room("community.support.sweeper"), _room("community.support.tickets"),
                                            _room("search.deflection"), _room("community.support.policy"))
    rng = random.Random(seed)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    start = (now - timedelta(days=days)).replace(hour=7, minute=0, second=0)
    ordinary, special = choose_threads(days, rng)
    plans, joined = plan_threads(ordinary, special, start, now, rng)
    fake = clock.FakeClock(start - timedelta(days=1))
    real = clock.use(fake)
    try:
        users = await _create_members(joined, start, rng)
        line = Timeline(fake, now)
        story = _Story(line, fake, users, plans, now, rng, sweeper, tickets, policy)
        for plan in plans:
            line.at(plan.at, story.asker_for(plan))
        for week in range(days // 7 + 1):
            line.at(start + timedelta(days=7 * week + 6, hours=23, minutes=59), story.flush)
        line.at(now, story.flush)
        if deflection is not None:
            _self_service(line, deflection, start, days, rng)
        line.at(start + timedelta(days=7), lambda: _watch_tags(users))
        await line.run()
        awarded = await badges.recompute()
        await _brand()
        await questions.bump_generation()
        c = story.counts
        return (f"{len(users)} members, {c['questions']} questions, {c['answers']} answers, {c['comments']} comments, "
                f"{c['votes']} votes, {c['accepted']} accepted, {c['tickets']} escalated to support, "
                f"{sum(given for given, _ in awarded.values())} badges")
    finally:
        clock.use(real)


async def _create_members(joined: dict[str, tuple[datetime, str, str]], start: datetime,
                          rng: random.Random) -> dict[str, User]:
    # Everyone shares the demo password, so it is hashed once (argon2 is slow on purpose).
    password_hash = accounts.hash_password(PASSWORD)
    rows: list[User] = []

    def add(name: str, role: str, created: datetime, display: str = "", location: str = "", about: str = "",
            zone: str = "") -> None:
        rows.append(User(username=name, email=f"{name}@example.com", password_hash=password_hash, role=role,
                         created_at=created, email_confirmed_at=created, display_name=display, location=location,
                         about=about, time_zone=zone, reputation=1))

    for m in [*people.HELPERS, *people.REGULARS]:
        role = "moderator" if m.username == "mod_maria" else "member"
        add(m.username, role, start - timedelta(days=rng.randint(40, 1400)), m.display_name, m.location, m.about, m.time_zone)
    for name, (when, display, location) in sorted(joined.items(), key=lambda kv: kv[1][0]):
        add(name, "member", when, display, location)
    for m in people.STAFF:
        add(m.username, "staff", start - timedelta(days=rng.randint(200, 700)), m.display_name)
    add("admin", "admin", start - timedelta(days=1500))
    await db.insert_many(rows)
    users = {u.username: u for u in await User.all()}
    # Long-standing members start with the reputation earned before the demo's history.
    async with db.transaction() as conn:
        for m in [*people.HELPERS, *people.REGULARS]:
            if m.reputation > 1:
                await reputation.grant(users[m.username].id, m.reputation - 1, "earlier_history", "demo:history", None, conn)
        await reputation.recompute_all(conn)
    return {u.username: u for u in await User.all()}


class _Story:
    """The actions of the replay: each thread's question, answers, comments, accept, votes and ticket."""

    def __init__(self, line: Timeline, fake: clock.FakeClock, users: dict[str, User], plans: list[Plan],
                 now: datetime, rng: random.Random, sweeper: Any, tickets: Any, policy: Any) -> None:
        self.line, self.fake, self.users, self.now, self.rng = line, fake, users, now, rng
        self.sweeper, self.tickets, self.policy = sweeper, tickets, policy
        self.by_question: dict[int, Plan] = {}
        self.pending: list[PlannedVote] = []
        self.accepts: list[tuple[datetime, Plan, int]] = []
        self.gained: dict[tuple[int, Any], int] = defaultdict(int)  # (member, day) -> upvote reputation (daily cap)
        self.counts = dict.fromkeys(("questions", "answers", "comments", "votes", "accepted", "tickets"), 0)
        members = [*people.HELPERS, *people.REGULARS]
        self.upvoters = {m.username: float(m.answers or 1) for m in members if m.reputation >= settings.get("priv.upvote")}
        self.downvoters = {m.username: float(m.answers or 1) for m in members if m.reputation >= settings.get("priv.downvote")}

    def user(self, name: str) -> User:
        return self.users[name]

    def later(self, when: datetime, low: float, high: float) -> datetime:
        return when + timedelta(minutes=self.rng.uniform(low, high))

    def asker_for(self, plan: Plan) -> Callable[[], Awaitable[None]]:
        async def ask() -> None:
            q = await questions.ask(self.user(plan.asker), plan.thread.title, plan.thread.body, plan.thread.tags)
            plan.question_id = q.id
            self.by_question[q.id] = plan
            self.counts["questions"] += 1
            self.plan_votes(plan, -1, plan.thread.score if plan.thread.score is not None else self.question_score())
            self.schedule(plan)
        return ask

    def question_score(self) -> int:
        return self.rng.choices([-1, 0, 1, 2, 3, 4, 5, 7], weights=[3, 28, 25, 18, 11, 7, 5, 3])[0]

    def schedule(self, plan: Plan) -> None:
        """Everything after the question: answers, comments, the accept and the desk's part."""
        t, at, rng = plan.thread, plan.at, self.rng
        deadline = self.deadline(plan)
        sla = (deadline - at).total_seconds() / 60
        if self.sweeper is not None and plan.first_wait > sla / 2:
            self.line.at(at + timedelta(minutes=sla / 2, seconds=7), self.sweep)  # the nudge, half way to the SLA
        if self.sweeper is not None and plan.first_wait >= sla:
            self.line.at(deadline + timedelta(seconds=rng.randint(5, 30)), self.sweep)
        for i, note in enumerate(t.notes):
            first = at + timedelta(minutes=min(plan.first_wait, sla) * rng.uniform(0.3, 0.8))
            self.line.at(first + timedelta(minutes=40 * i), self.commenter(plan, -1, note, i))
        community = [i for i, who in enumerate(plan.authors) if who not in OFFICIAL]
        when = at + timedelta(minutes=plan.first_wait) if plan.first_wait < math.inf else None
        staff = [i for i, who in enumerate(plan.authors) if who in OFFICIAL]
        if plan.staff_first or (not plan.authors and not t.fate):
            when = None  # the desk answers first; the community's answers come after the official reply
        elif t.fate == DESK and community:
            when = deadline + timedelta(minutes=rng.uniform(20, 70))
        last = at
        for i in community:
            if when is None:
                break
            self.line.at(when, self.answerer(plan, i))
            last = when
            when = self.later(when, 15, 600)
        if t.fate == AGENT or (staff and not plan.staff_first):
            self.schedule_escalation(plan, max(last, deadline), staff)

    def deadline(self, plan: Plan) -> datetime:
        if self.policy is None:
            return plan.at + timedelta(hours=1)
        return self.policy.current().first_answer_deadline(plan.at, plan.thread.tags.split())

    def schedule_escalation(self, plan: Plan, after: datetime, staff: list[int]) -> None:
        """The asker asks for an agent once the community's answers did not do it; or, where a named
        agent answers (an outage), staff take the question up themselves."""
        if self.tickets is None:
            return
        rng = self.rng
        named = plan.agent if any(plan.authors[i] in AGENTS for i in staff) else None
        if named:
            at = self.later(plan.at + timedelta(minutes=min(plan.first_wait, 60)), 5, 30)
        elif plan.thread.fate == AGENT:
            at = min(self.later(after, 60, 150), self.now - timedelta(minutes=40))
        else:
            at = self.later(after, 60, 300)

        async def escalate() -> None:
            if named:
                reason = "Several customers report this here: reply with what the network team found."
                ticket = await self.tickets.escalate(self.user(named), plan.question_id, reason)
            else:
                ticket = await self.tickets.escalate(self.user(plan.asker), plan.question_id,
                                                     "The answers here didn't fix it. Can someone look at my account please?")
            self.counts["tickets"] += 1
            plan.ticket = True
            self.handle_ticket(plan, ticket.id, staff)
        self.line.at(at, escalate)

    def handle_ticket(self, plan: Plan, ticket_id: int, staff: list[int]) -> None:
        """An agent claims the ticket and replies; the asker accepts, or the agent resolves it."""
        rng, now, t = self.rng, self.fake.now(), plan.thread
        if t.fate == DESK or (t.fate != AGENT and now > self.now - timedelta(hours=3)):
            return  # the newest wait on the desk for the demo's agents
        agent = plan.agent
        claim_at = self.later(now, 4, 45)
        self.line.at(claim_at, lambda: self.tickets.claim(self.user(agent), ticket_id))
        if t.fate == AGENT and not staff:
            return  # claimed, being worked on
        reply_at = self.later(claim_at, 5, 90)
        if staff:
            i = staff[0]
            self.line.at(reply_at, self.answerer(plan, i, ticket_id))
            if not t.answers[i].ok:
                self.line.at(self.later(reply_at, 90, 1400),
                             self.resolver(agent, ticket_id, "answered_by_staff"))
            for j in [k for k, who in enumerate(plan.authors) if who not in OFFICIAL]:
                if plan.staff_first:  # the community's answers, after the official reply
                    reply_at = self.later(reply_at, 30, 900)
                    self.line.at(reply_at, self.answerer(plan, j))
        elif not plan.authors:  # too vague to answer: the agent asks, nobody replies
            async def ask_more() -> None:
                await self.tickets.reply(self.user(agent), ticket_id, people.AGENT_ASKS)
                self.counts["answers"] += 1
            self.line.at(reply_at, ask_more)
            self.line.at(self.later(reply_at, 1440, 2880),
                         self.resolver(agent, ticket_id, "no_response"))
        else:  # a member answered after the deadline: the agent sees it and closes the ticket
            first = plan.at + timedelta(minutes=plan.first_wait)
            self.line.at(self.later(max(first, claim_at), 20, 240),
                         self.resolver(agent, ticket_id, "answered_by_community"))

    def resolver(self, agent: str, ticket_id: int, resolution: str) -> Callable[[], Awaitable[None]]:
        async def resolve() -> None:
            ticket = await self.tickets.Ticket.get(id=ticket_id)
            if ticket.state in self.tickets.ACTIVE:  # the asker's accept may have resolved it already
                await self.tickets.resolve(self.user(agent), ticket_id, resolution)
        return resolve

    async def sweep(self) -> None:
        result = await self.sweeper.sweep()
        self.counts["tickets"] += len(result.created)
        for ticket_id in result.created:
            ticket = await self.tickets.Ticket.get(id=ticket_id)
            plan = self.by_question.get(ticket.question_id)
            if plan is not None:
                plan.ticket = True
                staff = [i for i, who in enumerate(plan.authors) if who in OFFICIAL]
                self.handle_ticket(plan, ticket_id, staff if plan.staff_first else [])

    def answerer(self, plan: Plan, i: int, ticket_id: int | None = None) -> Callable[[], Awaitable[None]]:
        answer: A = plan.thread.answers[i]

        async def post() -> None:
            if ticket_id is not None:
                posted = await self.tickets.reply(self.user(plan.agent), ticket_id, answer.text)
                author = plan.agent
            else:
                author = plan.authors[i]
                posted = await questions.answer(self.user(author), plan.question_id, answer.text)
            plan.answer_ids[i] = posted.id
            self.counts["answers"] += 1
            self.plan_votes(plan, i, self.answer_score(plan, answer))
            at = self.fake.now()
            for n, note in enumerate(answer.notes):
                self.line.at(self.later(at, 10, 300) + timedelta(hours=n), self.commenter(plan, i, note, n))
            if answer.ok and (ticket_id is not None or answer.notes or self.rng.random() < 0.72):
                accept_at = self.later(at, 10, 600) if ticket_id is not None else \
                    at + timedelta(minutes=min(4000.0, max(12.0, self.rng.lognormvariate(math.log(180), 1.1))))
                if answer.notes:
                    accept_at = max(accept_at, self.later(at, 320, 400))
                if plan.ticket or plan.thread.fate or set(plan.authors) & set(OFFICIAL):
                    self.line.at(accept_at, self.accepter(plan, i))  # the accept resolves the ticket
                elif accept_at <= self.now:
                    self.accepts.append((accept_at, plan, i))
        return post

    def answer_score(self, plan: Plan, answer: A) -> int:
        low, high = SCORES.get(answer.grade, WRONG_SCORES)
        if answer.grade == GREAT and answer.ok and (plan.thread.score or 0) >= 10:
            low, high = 25, 31  # the thread everyone finds: its answer is the forum's best known (a Great Answer)
        return self.rng.randint(low, high)

    def accepter(self, plan: Plan, i: int) -> Callable[[], Awaitable[None]]:
        async def accept() -> None:
            await acceptance.accept(self.user(plan.asker), plan.question_id, plan.answer_ids[i])
            self.counts["accepted"] += 1
        return accept

    def commenter(self, plan: Plan, i: int, note: str, n: int) -> Callable[[], Awaitable[None]]:
        """A comment under the question (i == -1) or an answer: the asker's first under an answer, else a member's."""
        async def comment() -> None:
            if i == -1:
                post_id, author = plan.question_id, None
            else:
                post_id = plan.answer_ids[i]
                author = plan.asker if n == 0 and plan.thread.answers[i].grade >= FAIR else None  # thanks; corrections are others'
            if author is None:
                exclude = {plan.asker, *plan.authors}
                helpers = {m.username: float(m.answers) for m in people.HELPERS if m.reputation >= 50}
                author = pick(self.rng, helpers, exclude)
            await questions.comment(self.user(author), post_id, note)
            self.counts["comments"] += 1
        return comment

    def plan_votes(self, plan: Plan, answer: int, score: int) -> None:
        """The votes that bring a post to `score` over the following days (those after the present are not cast)."""
        rng = self.rng
        author = plan.asker if answer == -1 else (plan.agent if plan.authors[answer] in OFFICIAL else plan.authors[answer])
        if score >= 0:
            downs = 1 if score >= 4 and rng.random() < 0.25 else 0
            ups = score + downs
        else:
            ups = 1 if rng.random() < 0.3 else 0
            downs = ups - score
        chosen: set[str] = {author}
        for value, count, pool in ((1, ups, self.upvoters), (-1, downs, self.downvoters)):
            for _ in range(count):
                if len(set(pool) - chosen) == 0:
                    break
                voter = pick(rng, pool, chosen)
                chosen.add(voter)
                at = self.fake.now() + timedelta(minutes=max(2.0, rng.lognormvariate(math.log(300), 1.4)))
                if score >= 25:  # the best known answer has all its votes by now, whatever day the demo starts on
                    at = min(at, max(self.fake.now() + timedelta(minutes=2), self.now - timedelta(minutes=1)))
                if at < self.now:
                    self.pending.append(PlannedVote(at, voter, value, plan, answer))

    async def flush(self) -> None:
        """Record the votes cast and the answers accepted (away from the desk) up to now, in one
        transaction: the rows the voting and acceptance services write for each, in time order."""
        now = self.fake.now()
        due = sorted((v for v in self.pending if v.at <= now), key=lambda v: v.at)
        self.pending = [v for v in self.pending if v.at > now]
        accepts = sorted((x for x in self.accepts if x[0] <= now), key=lambda x: x[0])
        self.accepts = [x for x in self.accepts if x[0] > now]
        votes: list[Vote] = []
        events: list[ReputationEvent] = []
        posts: set[int] = set()
        for v in due:
            post_id = v.plan.question_id if v.answer == -1 else v.plan.answer_ids.get(v.answer)
            if not post_id:
                continue
            kind_question = v.answer == -1
            official = not kind_question and v.plan.authors[v.answer] in OFFICIAL
            author = self.user(v.plan.asker if kind_question else (v.plan.agent if official else v.plan.authors[v.answer]))
            voter = self.user(v.voter)
            votes.append(Vote(post_id=post_id, voter_id=voter.id, value=v.value, created_at=v.at))
            posts.add(post_id)
            post = Post(kind="question" if kind_question else "answer", official=official)
            ref = f"vote:{post_id}:{voter.id}"
            for who, amount, reason in voting._amounts(post, v.value):
                uid = author.id if who == "author" else voter.id
                if who == "author" and official:
                    continue  # staff earn no reputation
                if reason == reputation.CAPPED_REASON:
                    amount = max(0, min(amount, settings.get("rep.daily_vote_cap") - self.gained[(uid, v.at.date())]))
                    self.gained[(uid, v.at.date())] += amount
                events.append(ReputationEvent(user_id=uid, amount=amount, reason=reason, ref=ref, post_id=post_id,
                                              created_at=v.at, day=v.at.date()))
        if not votes and not accepts:
            return
        async with db.transaction() as conn:
            for at, plan, i in accepts:  # acceptance.accept's writes (the badges come from the recompute)
                question, answer = plan.question_id, plan.answer_ids[i]
                asker, author = self.user(plan.asker), self.user(plan.authors[i])
                await db.execute("UPDATE post SET accepted_answer_id = ?, state = 'solved' WHERE id = ?", [answer, question], conn)
                if author.id != asker.id:
                    for uid, key, reason in ((author.id, "rep.answer_accepted", "accepted"), (asker.id, "rep.asker_accepts", "accepts")):
                        events.append(ReputationEvent(user_id=uid, amount=settings.get(key), reason=reason, ref=f"accept:{question}",
                                                      post_id=question, created_at=at, day=at.date()))
                self.fake.set(at)
                await notify(author.id, "accepted", f"Your answer was accepted: {plan.thread.title}",
                             f"/questions/{question}#answer-{answer}", conn, skip=asker.id, question_id=question, post_id=answer)
            self.fake.set(now)
            await db.insert_many(votes, conn)
            await db.insert_many(sorted(events, key=lambda e: e.created_at), conn)
            ids = sorted(posts)
            if ids:
                await db.execute(f"UPDATE post SET score = (SELECT COALESCE(SUM(v.value), 0) FROM vote v WHERE v.post_id = post.id) "
                                 f"WHERE id IN ({', '.join('?' * len(ids))})", ids, conn)
            await outbox.enqueue_many(sorted({plan.question_id for _, plan, _ in accepts}), conn)
            await reputation.recompute_all(conn)
        self.counts["votes"] += len(votes)
        self.counts["accepted"] += len(accepts)
        totals = {int(r["id"]): int(r["reputation"]) for r in await db.fetch('SELECT id, reputation FROM "user"')}
        for u in self.users.values():  # reputation changed: privileges follow
            u.reputation = totals[u.id]


def _self_service(line: Timeline, deflection: Any, start: datetime, days: int, rng: random.Random) -> None:
    """Readers who searched, opened a solved thread, and sometimes said it solved their problem."""
    words = ["esim", "roaming", "puk code", "hotspot", "top up", "voicemail", "wifi calling", "pac code", "bill higher",
             "no signal", "data not working", "lost phone", "international calls", "mms", "contract end"]

    async def visit(r: float) -> None:
        solved = await Post.filter(kind="question", state="solved").order_by("-id").offset(rng.randint(0, 20)).first()
        search_id = await deflection.search_ran(rng.choice(words), rng.randint(0, 12), None)
        if solved is not None and r < 0.45:
            await deflection.result_opened(solved.id, search_id, None)
        if r < 0.3:
            view = f"demo-{rng.random():.12f}"
            await deflection.suggestions_shown(view, rng.randint(1, 5), None)
            if solved is not None and r < 0.12:
                await deflection.solved_my_problem(solved.id, None, view)

    for d in range(days):
        base = start + timedelta(days=d, hours=9)
        for _ in range(rng.randint(1, 3)):
            line.at(base + timedelta(minutes=rng.randint(0, 600)), lambda r=rng.random(): visit(r))


async def _watch_tags(users: dict[str, User]) -> None:
    # The helpers watch the tags they answer in (so the nudge before escalation finds them),
    # and a few askers watch the ones they care about (their mail settings and profiles show it).
    for m in people.HELPERS:
        for tag in await Tag.filter(name__in=m.knows.split()[:3]).values_list("name", flat=True):
            await watches.set_tag(users[m.username], tag, True)
    for name, names in (("alice", ["roaming", "esim"]), ("bob", ["billing", "top-up"])):
        for tag in await Tag.filter(name__in=names).values_list("name", flat=True):
            await watches.set_tag(users[name], tag, True)


async def _brand() -> None:
    """The demo is a fictional network's community: its name, colour and time zone (community/brand.py)."""
    from community import brand

    if settings.get("brand.name") == brand.DEFAULT_NAME:
        await brand.use_demo(f"{NETWORK} Community")
