"""The demo community of a mobile network, loaded by `make serve` into an empty database.

Everything goes through the ordinary services with the clock set back in time, so reputation,
states and the ledger are exactly what real use would have produced.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from community import acceptance, accounts, clock, db, questions, reputation, voting
from community.models import Post, User

PASSWORD = "demo-password"
LOGIN_HELP = """
  Community forum running at {url}
  Log in with password '""" + PASSWORD + """' as:
    member     alice        (or bob, chen, dana, emeka, farah ...)
    moderator  mod_maria
    staff      agent_sam    (or agent_priya)
    admin      admin
"""

MEMBERS = ["alice", "bob", "chen", "dana", "emeka", "farah", "gwen", "hiro", "ines", "jamal", "kofi", "lena"]
STAFF = ["agent_sam", "agent_priya"]

# (title, body, tags, answers[(author_index, body)], accepted answer index or None, upvotes on answers)
THREADS = [
    ("eSIM not activating after switching to a new phone",
     "I moved my eSIM to a new phone yesterday. The profile downloaded but it says **No service**. I restarted twice. What else can I try?",
     "esim activation",
     ["Go to Settings > Mobile data and make sure the eSIM line is switched on and set as the primary line. Mine showed as 'off' after the transfer.",
      "If that fails, delete the profile and request a new eSIM QR code from your account page: each code works once."], 0),
    ("How do I turn on data roaming in France?",
     "Travelling to Paris next week. Is roaming included in my plan and how do I switch it on on Android?",
     "roaming europe android",
     ["Roaming in the EU is included on all monthly plans. On Android: Settings > Network & internet > SIMs > Roaming on. Check the 'roaming' add-on is active in your account first."], 0),
    ("Top-up taken from my card twice",
     "I topped up £10 this morning and my bank shows two payments of £10 but my balance only went up by £10.",
     "billing top-up",
     ["The second payment is usually a pending authorisation that drops off within 3 to 5 working days. If it's still there after a week, ask support with the transaction time."], 0),
    ("No signal indoors since last week",
     "Signal at home in Leeds dropped from 3 bars to none inside the house; outside it's fine. Anything I can do?",
     "signal coverage",
     ["Turn on Wi-Fi calling: it routes calls and texts over your home broadband. Settings > Phone > Wi-Fi Calling on iPhone.",
      "Check the coverage checker for planned maintenance near your postcode; masts get upgraded and signal can dip for a few days."], 0),
    ("PUK code needed after entering wrong PIN",
     "My phone is asking for a PUK code. Where do I find it?",
     "sim pin",
     ["Log in to your account on the website, go to SIM settings and the PUK is shown there. Don't guess: 10 wrong PUK entries block the SIM for good."], 0),
    ("Can I keep my number when I switch to this network?",
     "I'm with another provider and want to bring my number. How does porting work?",
     "porting number",
     ["Text PAC to 65075 from your old provider to get your porting code, then enter it when you activate your SIM here. The switch happens on the next working day."], 0),
    ("Mobile data very slow in the evenings",
     "Between 7 and 10pm my 4G drops to under 1 Mbps in Manchester city centre. Is it congestion?",
     "data speed 4g",
     ["Probably congestion. Try forcing 5G if your phone supports it, or reset network settings; the APN should be the default one."], None),
    ("How to set up voicemail on iPhone",
     "Visual voicemail says 'not available'. How do I set it up?",
     "voicemail iphone",
     ["Dial 443 to set up your greeting first; visual voicemail appears after the first message arrives."], 0),
    ("Bill higher than my plan price this month",
     "My plan is £12 but this month's bill is £19.40. I can't see why.",
     "billing",
     [], None),
    ("Texts to international numbers fail",
     "Sending an SMS to a +33 number fails with 'message not sent'. UK numbers work.",
     "sms international",
     ["International texts need the 'international' add-on or credit on your balance; check you have credit, then make sure the number starts with +33 and no leading zero."], None),
    ("Order a replacement SIM after losing my phone",
     "Lost my phone on the train. How do I block the SIM and get a new one with the same number?",
     "sim lost-phone",
     ["Block it straight away from your account page (SIM > Report lost). Order a replacement there too; it keeps your number and arrives in 1-2 days."], 0),
    ("Wi-Fi calling option missing on Samsung",
     "My Galaxy S22 has no Wi-Fi calling toggle. Is it supported?",
     "wifi-calling android samsung",
     [], None),
    ("Is 5G included on the basic plan?",
     "Do I need to pay extra for 5G or does it come with every plan?",
     "5g plans",
     ["5G is included on every plan at no extra cost; you just need a 5G phone and to be in a 5G area."], 0),
    ("Charged for calls to 0800 numbers",
     "I thought 0800 calls were free but I was charged 25p. Why?",
     "billing calls",
     [], None),
    ("Hotspot stops working after a few minutes",
     "Personal hotspot works for 5 minutes then my laptop loses connection, but mobile data on the phone still works.",
     "hotspot data",
     ["Disable 'Turn off hotspot automatically' in hotspot settings, and set the band to 2.4 GHz for older laptops."], None),
]


async def is_empty() -> bool:
    return not await Post.exists()


async def load(seed: int = 7) -> str:
    """Create the demo members and about three weeks of history, and return a summary."""
    rng = random.Random(seed)
    real = clock.use(clock.FakeClock(datetime.now(timezone.utc) - timedelta(days=21)))
    try:
        fake = clock._clock  # the FakeClock just installed
        users: dict[str, User] = {}
        for name in MEMBERS:
            users[name] = await accounts.sign_up(name, f"{name}@example.com", PASSWORD)
        users["mod_maria"] = await accounts.sign_up("mod_maria", "maria@example.com", PASSWORD, "moderator")
        for name in STAFF:
            users[name] = await accounts.sign_up(name, f"{name}@example.com", PASSWORD, "staff")
        users["admin"] = await accounts.sign_up("admin", "admin@example.com", PASSWORD, "admin")
        # Long-standing members start with the reputation earned before the demo's history.
        async with db.transaction() as conn:
            for name, rep in (("chen", 3200), ("dana", 620), ("emeka", 150), ("farah", 60), ("mod_maria", 12000)):
                await reputation.grant(users[name].id, rep - 1, "earlier_history", "demo:history", None, conn)
                users[name].reputation = await reputation.refresh_total(users[name].id, conn)
        helpers = ["chen", "dana", "emeka", "farah", "mod_maria", "gwen"]
        askers = [m for m in MEMBERS if m not in ("chen", "dana")]
        count_q = count_a = 0
        for i, (title, body, tags, answers, accepted) in enumerate(THREADS):
            fake.set(datetime.now(timezone.utc) - timedelta(days=20 - i * 1.3, hours=rng.randint(0, 8)))
            asker = users[askers[i % len(askers)]]
            q = await questions.ask(asker, title, body, tags)
            count_q += 1
            posted = []
            for j, text in enumerate(answers):
                fake.advance(minutes=rng.randint(4, 50))
                author = users[helpers[(i + j) % len(helpers)]]
                posted.append(await questions.answer(author, q.id, text))
                count_a += 1
            for a in posted:
                for voter in rng.sample(helpers + MEMBERS[:4], 4):
                    v = users[voter]
                    if v.id not in (a.author_id,) and v.reputation >= 15:
                        fake.advance(minutes=rng.randint(1, 30))
                        await voting.vote(v, a.id, 1)
            for voter in rng.sample(["chen", "dana", "mod_maria"], 2):
                if users[voter].id != asker.id:
                    await voting.vote(users[voter], q.id, 1)
            if accepted is not None and posted:
                fake.advance(minutes=rng.randint(10, 120))
                await acceptance.accept(asker, q.id, posted[accepted].id)
            for name in users:
                users[name] = await User.get(id=users[name].id)
        # Two recent questions nobody has answered yet, already past the first-answer SLA.
        for hours, (title, body, tags) in ((3, ("Roaming charges in Turkey on a travel add-on", "I bought the Europe add-on but I'm in Istanbul. Am I being charged per MB?", "roaming billing")),
                                           (2, ("Can't receive verification texts from my bank", "Since yesterday my bank's one-time codes never arrive; other texts do.", "sms"))):
            fake.set(datetime.now(timezone.utc) - timedelta(hours=hours))
            await questions.ask(users["ines"], title, body, tags)
            count_q += 1
        return f"{len(users)} members, {count_q} questions, {count_a} answers"
    finally:
        clock.use(real)
