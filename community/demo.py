"""The demo community of a mobile network, loaded by `make serve` into an empty database.

Six weeks of history, replayed in time order through the ordinary services with the clock set
back: questions arrive more by day than by night, most get a first answer within the hour and
some wait much longer or never get one; votes and accepted answers follow, the escalation sweeper
runs at each deadline, and the two support agents claim and answer what it escalates. So
reputation, question states, tickets, the ledger and the insights dashboard are exactly what real
use would have produced. Members span the reputation range, from new (1) to a moderator (12,000+).
"""

from __future__ import annotations

import heapq
import importlib
import itertools
import math
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from community import acceptance, accounts, clock, db, questions, reputation, voting, watches
from community.errors import DomainError
from community.models import Post, Tag, User

PASSWORD = "demo-password"
LOGIN_HELP = """
  Community forum running at {url}
  Log in with password '""" + PASSWORD + """' as:
    member     alice        (or bob, chen, dana, emeka, farah ...)
    moderator  mod_maria
    staff      agent_sam    (or agent_priya)
    admin      admin
"""

DAYS = 42
# Members and the reputation they earned before the demo's history begins: from brand new to veteran.
MEMBERS = {
    "alice": 1, "bob": 1, "chen": 3200, "dana": 620, "emeka": 150, "farah": 60, "gwen": 1500, "hiro": 35,
    "ines": 1, "jamal": 2400, "kofi": 11, "lena": 300, "marta": 5200, "nadia": 90, "oscar": 1, "priti": 780,
    "quinn": 18, "rosa": 45, "sven": 8400, "tariq": 1, "uma": 210, "viktor": 1100, "wen": 14, "yusuf": 400,
    "nina": 1, "olu": 1,  # joined and have only read so far
}
STAFF = ["agent_sam", "agent_priya"]
HELPERS = ["chen", "marta", "sven", "jamal", "gwen", "viktor", "priti", "dana", "mod_maria", "yusuf", "lena", "uma", "emeka"]
ASKERS = ["alice", "bob", "ines", "oscar", "tariq", "kofi", "wen", "quinn", "hiro", "rosa", "farah", "nadia", "emeka", "lena"]

PHONES = ["iPhone 13", "iPhone 15", "Galaxy S22", "Galaxy A54", "Pixel 7", "Pixel 8", "Moto G84", "Xperia 10"]
CITIES = ["Leeds", "Bristol", "Glasgow", "Cardiff", "Manchester", "Norwich", "Belfast", "Brighton", "York"]
COUNTRIES = ["France", "Spain", "Italy", "Portugal", "Greece", "Germany", "Croatia", "Ireland"]

# (title, body, tags, answers); {phone}, {city}, {country} and {amount} are filled in per question.
TOPICS = [
    ("eSIM not activating on my new {phone}",
     "I moved my eSIM to a {phone} yesterday. The profile downloaded but it says **No service**. I restarted twice.",
     "esim activation",
     ["Go to Settings > Mobile data and make sure the eSIM line is switched on and set as the primary line. Mine showed as 'off' after the transfer.",
      "If that fails, delete the profile and request a new eSIM QR code from your account page: each code works only once."]),
    ("How do I turn on data roaming in {country}?",
     "Travelling to {country} next week. Is roaming included in my plan and how do I switch it on?",
     "roaming europe",
     ["Roaming in the EU is included on all monthly plans. Switch on data roaming in your phone's mobile network settings and check the roaming add-on is active in your account.",
      "Also turn off 'automatic network selection' if it keeps picking a partner with no data: choose the network by hand."]),
    ("Top-up of £{amount} taken from my card twice",
     "I topped up £{amount} this morning and my bank shows two payments, but my balance only went up once.",
     "billing top-up",
     ["The second payment is usually a pending authorisation that drops off within 3 to 5 working days. If it's still there after a week, ask support with the transaction time."]),
    ("No signal indoors in {city} since last week",
     "Signal at home in {city} dropped from 3 bars to none inside the house; outside it's fine. Anything I can do?",
     "signal coverage",
     ["Turn on Wi-Fi calling: it routes calls and texts over your home broadband. It's under the phone settings on most handsets.",
      "Check the coverage checker for planned maintenance near your postcode; masts get upgraded and signal can dip for a few days."]),
    ("PUK code needed on my {phone} after a wrong PIN",
     "My {phone} is asking for a PUK code after I typed the PIN wrong three times. Where do I find it?",
     "sim pin",
     ["Log in to your account on the website, go to SIM settings and the PUK is shown there. Don't guess: 10 wrong PUK entries block the SIM for good."]),
    ("Keeping my number when I switch networks",
     "I'm with another provider and want to bring my number across. How does porting work and how long does it take?",
     "porting number",
     ["Text PAC to 65075 from your old provider to get your porting code, then enter it when you activate your SIM here. The switch happens on the next working day."]),
    ("Mobile data very slow in the evenings in {city}",
     "Between 7 and 10pm my 4G drops to under 1 Mbps in {city} city centre. Is it congestion?",
     "data speed 4g",
     ["Probably congestion. Try forcing 5G if your phone supports it, or reset network settings; the APN should be the default one.",
      "Mine improved after switching the preferred network type to 4G/5G auto instead of 4G only."]),
    ("Visual voicemail not available on {phone}",
     "Visual voicemail says 'not available' on my {phone}. How do I set it up?",
     "voicemail",
     ["Dial 443 to set up your greeting first; visual voicemail appears after the first message arrives."]),
    ("Bill £{amount} higher than my plan this month",
     "My plan is £12 but this month's bill is £{amount} more than that. I can't see why.",
     "billing",
     ["Look at the itemised bill in your account: it's usually calls to premium numbers or data used abroad outside the EU.",
      "Check whether a 'bolt-on' renewed automatically; they show as a separate line near the bottom of the bill."]),
    ("Texts to numbers in {country} fail",
     "Sending an SMS to a number in {country} fails with 'message not sent'. UK numbers work.",
     "sms international",
     ["International texts need credit on your balance or the international add-on. Make sure the number starts with the country code and no leading zero."]),
    ("Lost my phone in {city}: block the SIM and keep my number",
     "Lost my phone on the train to {city}. How do I block the SIM and get a new one with the same number?",
     "sim lost-phone",
     ["Block it straight away from your account page (SIM > Report lost). Order a replacement there too; it keeps your number and arrives in 1-2 days."]),
    ("Wi-Fi calling option missing on {phone}",
     "My {phone} has no Wi-Fi calling toggle. Is it supported on this network?",
     "wifi-calling",
     ["It's supported on most recent handsets, but the phone needs the latest carrier settings: update the software and restart, then the toggle appears."]),
    ("Is 5G included on the basic plan?",
     "Do I need to pay extra for 5G on a {phone}, or does it come with every plan?",
     "5g plans",
     ["5G is included on every plan at no extra cost; you just need a 5G phone and to be in a 5G area."]),
    ("Charged {amount}p for calls to 0800 numbers",
     "I thought 0800 calls were free but I was charged {amount}p. Why?",
     "billing calls",
     ["0800 numbers have been free from mobiles since 2015, so that charge is a mistake: ask support to refund it and quote the call time."]),
    ("Hotspot on my {phone} stops after a few minutes",
     "Personal hotspot works for 5 minutes then my laptop loses connection, but mobile data on the phone still works.",
     "hotspot data",
     ["Disable 'Turn off hotspot automatically' in the hotspot settings, and set the band to 2.4 GHz for older laptops."]),
    ("Can't receive verification texts from my bank",
     "Since yesterday my bank's one-time codes never arrive on my {phone}; other texts do.",
     "sms",
     ["Check you haven't blocked short codes: some phones filter texts from unknown senders into a separate folder.",
      "Banks send codes from short numbers that need 'premium SMS' allowed on the account; check your bar settings."]),
]


def _fill(text: str, rng: random.Random, slots: dict[str, str]) -> str:
    return text.format(**slots)


def _first_answer_minutes(rng: random.Random, hour: int) -> float | None:
    """How long a question waits for its first answer: mostly minutes, sometimes hours, rarely never."""
    night = hour < 7
    r = rng.random()
    if r < (0.06 if night else 0.02):
        return None
    if r < (0.70 if night else 0.90):
        return min(58.0, max(1.5, rng.lognormvariate(math.log(14), 0.7)))
    if r < 0.96:
        return rng.uniform(62, 300)
    return rng.uniform(300, 20 * 60)


class Timeline:
    """Actions at moments in the past, run in time order with the clock set to each moment."""

    def __init__(self, fake: clock.FakeClock, until: datetime) -> None:
        self.fake, self.until = fake, until
        self.queue: list[tuple[datetime, int, Callable[[], Awaitable[Any]]]] = []
        self.seq = itertools.count()

    def at(self, when: datetime, action: Callable[[], Awaitable[Any]]) -> None:
        if when <= self.until:
            heapq.heappush(self.queue, (when, next(self.seq), action))

    async def run(self) -> None:
        while self.queue:
            when, _, action = heapq.heappop(self.queue)
            self.fake.set(when)
            try:
                await action()
            except DomainError:
                pass  # e.g. a vote the member may no longer cast: real people hit these too


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
    """Create the demo members and `days` (six weeks) of history, and return a summary."""
    from community.app import ROOMS

    for name in ROOMS:  # the same hooks as the running app: tickets follow answers, first posts get reviewed
        _room(name)
    sweeper, tickets, deflection = (_room("community.support.sweeper"), _room("community.support.tickets"),
                                    _room("search.deflection"))
    rng = random.Random(seed)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    start = (now - timedelta(days=days)).replace(hour=7, minute=0, second=0)
    fake = clock.FakeClock(start - timedelta(days=1))
    real = clock.use(fake)
    try:
        users: dict[str, User] = {}
        # Everyone shares the demo password, so it is hashed once (argon2 is slow on purpose).
        password_hash = accounts.hash_password(PASSWORD)
        people = [(name, "member") for name in MEMBERS] + [("mod_maria", "moderator")] + \
                 [(name, "staff") for name in STAFF] + [("admin", "admin")]
        for name, role in people:
            users[name] = await User.create(username=name, email=f"{name}@example.com", password_hash=password_hash,
                                            role=role, created_at=clock.now(), email_confirmed_at=clock.now())
        # Long-standing members start with the reputation earned before the demo's history.
        async with db.transaction() as conn:
            for name, rep in [*MEMBERS.items(), ("mod_maria", 12000)]:
                if rep > 1:
                    await reputation.grant(users[name].id, rep - 1, "earlier_history", "demo:history", None, conn)
                    await reputation.refresh_total(users[name].id, conn)

        async def fresh(name: str) -> User:
            return await User.get(id=users[name].id)

        line = Timeline(fake, now)
        counts = {"questions": 0, "answers": 0, "accepted": 0, "tickets": 0}
        topics = itertools.cycle(rng.sample(TOPICS, len(TOPICS)))

        def schedule_question(when: datetime, open_for_desk: bool = False) -> None:
            title, body, tags, answers = next(topics)
            slots = {"phone": rng.choice(PHONES), "city": rng.choice(CITIES), "country": rng.choice(COUNTRIES),
                     "amount": str(rng.choice([5, 10, 15, 20, 25, 30]))}
            asker = rng.choice(ASKERS)
            wait = None if open_for_desk else _first_answer_minutes(rng, when.hour)
            helpers = rng.sample([h for h in HELPERS if h != asker], 3)
            texts = [_fill(a, rng, slots) for a in answers]

            async def ask() -> None:
                q = await questions.ask(await fresh(asker), _fill(title, rng, slots), _fill(body, rng, slots), tags)
                counts["questions"] += 1
                if sweeper is not None:
                    # Half way to the one-hour SLA the sweep nudges the members who know the tags.
                    line.at(when + timedelta(minutes=30, seconds=7), lambda: sweep(q.id, asker))
                    line.at(when + timedelta(minutes=60, seconds=rng.randint(5, 30)), lambda: sweep(q.id, asker))
                if wait is None:
                    return
                posted: list[Post] = []
                extra = rng.random() < 0.45 and len(texts) > 1

                async def answer(author: str, text: str) -> None:
                    posted.append(await questions.answer(await fresh(author), q.id, text))
                    counts["answers"] += 1
                    a = posted[-1]
                    for voter in rng.sample([h for h in HELPERS if h not in (author, asker)], rng.randint(0, 4)):
                        line.at(fake.now() + timedelta(minutes=rng.randint(3, 3000)), lambda v=voter, a=a: vote(v, a.id))

                first_at = when + timedelta(minutes=wait)
                line.at(first_at, lambda: answer(helpers[0], texts[0]))
                if extra:
                    line.at(first_at + timedelta(minutes=rng.randint(20, 600)), lambda: answer(helpers[1], texts[1]))
                if rng.random() < 0.62:
                    line.at(first_at + timedelta(minutes=rng.randint(15, 900)), lambda: accept(asker, q.id, posted))
                for voter in rng.sample(["chen", "marta", "sven", "mod_maria", "gwen"], rng.randint(0, 2)):
                    line.at(when + timedelta(minutes=rng.randint(10, 2000)), lambda v=voter: vote(v, q.id))

            line.at(when, ask)

        async def vote(name: str, post_id: int) -> None:
            await voting.vote(await fresh(name), post_id, 1)

        async def accept(asker: str, question_id: int, posted: list[Post]) -> None:
            if posted:
                best = max(posted, key=lambda a: (a.official, rng.random()))
                await acceptance.accept(await fresh(asker), question_id, best.id)
                counts["accepted"] += 1

        async def sweep(question_id: int, asker: str) -> None:
            result = await sweeper.sweep()
            counts["tickets"] += len(result.created)
            for ticket_id in result.created:
                if fake.now() > now - timedelta(hours=3):
                    continue  # the newest stay open on the desk for the demo's agents
                agent = rng.choice(STAFF)
                claim_at = fake.now() + timedelta(minutes=rng.randint(4, 45))
                line.at(claim_at, lambda t=ticket_id, a=agent: claim(a, t))
                line.at(claim_at + timedelta(minutes=rng.randint(5, 90)), lambda t=ticket_id, a=agent: official(a, t))

        async def claim(agent: str, ticket_id: int) -> None:
            await tickets.claim(await fresh(agent), ticket_id)

        async def official(agent: str, ticket_id: int) -> None:
            text = rng.choice(["Thanks for waiting. I've checked your account and fixed the setting on our side; "
                               "please restart your phone and it should work within the hour.",
                               "I've looked into this for you: the charge was an error and I've refunded it. "
                               "You'll see it back on your balance within 24 hours.",
                               "Our network team confirmed maintenance near you; it finishes tonight. In the meantime "
                               "turn on Wi-Fi calling and calls will go over your broadband."])
            answer = await tickets.reply(await fresh(agent), ticket_id, text)
            if rng.random() < 0.6:
                line.at(fake.now() + timedelta(minutes=rng.randint(10, 300)), lambda: accept_official(answer))

        async def accept_official(answer: Post) -> None:
            question = await Post.get(id=answer.question_id)
            if question.accepted_answer_id is None and question.author_id is not None:
                await acceptance.accept(await User.get(id=question.author_id), question.id, answer.id)
                counts["accepted"] += 1

        # More questions on weekdays and in the daytime; the last few are recent and still unanswered.
        day = start
        while day < now - timedelta(hours=6):
            per_day = rng.randint(3, 5) if day.weekday() < 5 else rng.randint(1, 2)
            for _ in range(per_day):
                hour = rng.choices(range(24), weights=[1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 8, 7, 7, 7, 7, 7, 7, 8, 8, 7, 5, 3, 2])[0]
                when = day.replace(hour=hour, minute=rng.randint(0, 59), second=rng.randint(0, 59))
                if when < now - timedelta(hours=6):
                    schedule_question(when)
            day += timedelta(days=1)
        for hours in (5.5, 3, 2.2, 1.6):  # already past the one-hour SLA when the demo starts
            schedule_question(now - timedelta(hours=hours), open_for_desk=True)

        if deflection is not None:
            for d in range(days):
                base = start + timedelta(days=d, hours=9)
                for _ in range(rng.randint(2, 6)):
                    line.at(base + timedelta(minutes=rng.randint(0, 600)), lambda: self_service(rng.random()))

        async def self_service(r: float) -> None:
            solved = await Post.filter(kind="question", state="solved").order_by("-id").first()
            search_id = await deflection.search_ran(rng.choice(["esim", "roaming", "billing", "puk code", "hotspot"]),
                                                    rng.randint(0, 12), None)
            if solved is not None and r < 0.45:
                await deflection.result_opened(solved.id, search_id, None)
            if r < 0.3:
                view = f"demo-{rng.random():.12f}"
                await deflection.suggestions_shown(view, rng.randint(1, 5), None)
                if solved is not None and r < 0.12:
                    await deflection.solved_my_problem(solved.id, None, view)

        async def watch_tags() -> None:
            # The helpers watch the tags they answer in (so the nudge before escalation finds them),
            # and a few askers watch the ones they care about (their mail settings and profiles show it).
            answered = await Post.filter(kind="answer", author_id__in=[users[h].id for h in HELPERS]).values_list(
                "author_id", "question__tag_names")
            by_member: dict[int, set[str]] = {}
            for author_id, tag_names in answered:
                by_member.setdefault(author_id, set()).update(tag_names.split())
            for member_id, names in sorted(by_member.items()):
                for tag in sorted(names)[:3]:
                    await watches.set_tag(await User.get(id=member_id), tag, True)
            for name, names in (("alice", ["roaming", "esim"]), ("bob", ["billing", "top-up"])):
                for tag in await Tag.filter(name__in=names).values_list("name", flat=True):
                    await watches.set_tag(users[name], tag, True)

        line.at(start + timedelta(days=7), watch_tags)
        await line.run()
        return (f"{len(users)} members, {counts['questions']} questions, {counts['answers']} answers, "
                f"{counts['accepted']} accepted, {counts['tickets']} escalated to support")
    finally:
        clock.use(real)
