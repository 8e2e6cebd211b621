"""Write forum-style spam for the spam triage's benchmark and quality test: tests/data/forum_spam.jsonl.

The YouTube Spam Collection is comment spam ("check out my channel"); a support forum also gets
posts like these: phone-unlock scams, fake support numbers, crypto and "recovery" schemes, link
drops, pills, loans, essay mills, followers for sale. Each family has its own templates, and each
post picks its phrasing, names, domains and numbers at random, so no two are alike. Deterministic
for a given --seed; one JSON object per line: {"family", "title", "body"}.

    .venv/bin/python bench/make_forum_spam.py --per-family 25
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "forum_spam.jsonl"

BRANDS = ["iPhone 14", "iPhone 13", "Galaxy S23", "Galaxy A54", "Pixel 7", "Moto G", "Redmi Note 12", "iPhone 15 Pro",
          "OnePlus 11", "Nokia G21"]
CARRIERS = ["AT&T", "Verizon", "T-Mobile", "Vodafone", "O2", "EE", "Three", "Orange", "Telstra", "Sprint"]
WORDS = ["fast", "pro", "best", "cheap", "top", "easy", "king", "hub", "zone", "world", "365", "247", "direct", "guru",
         "master", "now", "go", "max", "one", "secure"]
TLDS = ["com", "net", "org", "info", "xyz", "top", "online", "site", "shop", "biz", "club", "live", "store", "co"]
SHORT = ["bit.ly", "tinyurl.com", "cutt.ly", "is.gd", "rb.gy", "t.ly", "shorturl.at", "ow.ly"]
NAMES = ["Mark", "Jenny", "Dr. Robinson", "Kevin", "Sophia", "Agent Daniel", "Mr. Collins", "Linda", "Hacker Ray", "Tom"]


def domain(rnd: random.Random, *stems: str) -> str:
    parts = [rnd.choice(stems), rnd.choice(WORDS)]
    rnd.shuffle(parts)
    return f"{rnd.choice(['', 'www.'])}{'-'.join(parts) if rnd.random() < 0.5 else ''.join(parts)}.{rnd.choice(TLDS)}"


def link(rnd: random.Random, *stems: str) -> str:
    if rnd.random() < 0.25:
        return f"https://{rnd.choice(SHORT)}/{''.join(rnd.choice('abcdefghjkmnpqrstuvwxyz23456789') for _ in range(6))}"
    path = rnd.choice(["", "/offer", "/unlock", "/order", "/free", "/promo?id=" + str(rnd.randint(100, 9999))])
    style = rnd.random()
    d = domain(rnd, *stems)
    if style < 0.6:
        return f"https://{d}{path}"
    if style < 0.8:
        return f"[{rnd.choice(['click here', 'official site', 'visit now', 'this link', 'our website'])}](https://{d}{path})"
    return d.replace(".", " . ") if rnd.random() < 0.5 else d  # written out, to dodge link filters


def phone(rnd: random.Random) -> str:
    a, b, c = rnd.randint(200, 999), rnd.randint(200, 999), rnd.randint(1000, 9999)
    return rnd.choice([f"+1 ({a}) {b}-{c}", f"1-{a}-{b}-{c}", f"+1 {a} {b} {c}", f"+44 {rnd.randint(7000, 7999)} {b}{c}",
                       f"({a}) {b}-{c}", f"+1-8{rnd.randint(0, 8)}{rnd.randint(0, 9)}-{b}-{c}"])


def pick(rnd: random.Random, *options: str) -> str:
    return rnd.choice(options)


def unlock(rnd: random.Random) -> tuple[str, str]:
    brand, carrier = rnd.choice(BRANDS), rnd.choice(CARRIERS)
    title = pick(rnd, f"How to unlock {brand} from {carrier} for free", f"{carrier} {brand} unlock code 100% working",
                 f"Permanent factory unlock for {brand} - any carrier", f"Unlock {brand} iCloud / carrier in 5 minutes",
                 f"[SOLVED] {brand} network locked {carrier}")
    body = " ".join([
        pick(rnd, f"I had the same problem with my {brand} locked to {carrier}.", f"Stop wasting time with {carrier} support.",
             "Guys I finally found a working solution!!", f"My {brand} was blacklisted and I fixed it."),
        pick(rnd, "This service unlocked my phone in 10 minutes,", "They send you the unlock code by email,",
             "Official IMEI unlock, works for all models,", "Bypass iCloud activation lock and carrier lock,"),
        pick(rnd, "no jailbreak needed.", "100% guaranteed or money back.", "cheapest price online.", "only $19.99 today."),
        pick(rnd, "Go to", "Visit", "Check", "Order here:"), link(rnd, "unlock", "imei", "phoneunlock", "simfree"),
        pick(rnd, "", "Thank me later!", f"Contact {rnd.choice(NAMES)} on WhatsApp {phone(rnd)}", "Limited offer."),
    ])
    return title, body


def support(rnd: random.Random) -> tuple[str, str]:
    company = rnd.choice(["Amazon", "PayPal", "Coinbase", "Cash App", "Norton", "McAfee", "QuickBooks", "Outlook", "Facebook",
                          rnd.choice(CARRIERS)])
    number = phone(rnd)
    title = pick(rnd, f"{company} customer service number {number}", f"{company} support phone number 24/7 USA",
                 f"Call {company} helpdesk {number} (toll free)", f"{company} refund department contact number",
                 f"How do I talk to a real person at {company}? {number}")
    body = " ".join([
        pick(rnd, f"To reach {company} customer care dial {number}.", f"{company} technical support: {number}, open 24/7.",
             f"For any {company} issue call the toll free number {number} now.", f"Dial {number} to speak to a {company} expert."),
        pick(rnd, "Our certified agents fix billing, login and account problems instantly.",
             "Get your refund processed today by a live agent.", "Recover your hacked account in minutes.",
             "No waiting time, instant help."),
        pick(rnd, f"Call {number}", f"Helpline: {number}", f"Phone: {number}", f"More info: {link(rnd, 'helpdesk', 'support', 'care')}"),
    ])
    return title, body


def crypto(rnd: random.Random) -> tuple[str, str]:
    coin = rnd.choice(["Bitcoin", "BTC", "USDT", "Ethereum", "crypto", "forex", "binary options"])
    title = pick(rnd, f"How I made ${rnd.randint(3, 60)},000 with {coin} in {rnd.randint(2, 6)} weeks",
                 f"Lost your {coin}? Recovery expert can help", f"Best {coin} investment platform {rnd.randint(2023, 2026)}",
                 f"Double your {coin} in 24 hours", f"Recover stolen {coin} - legit hacker")
    body = " ".join([
        pick(rnd, f"I was scammed of my {coin} until I met {rnd.choice(NAMES)}.", f"Everyone is talking about this {coin} platform.",
             f"I invested ${rnd.randint(2, 9)}00 and withdrew ${rnd.randint(10, 90)},000.",
             f"{rnd.choice(NAMES)} helped me recover all my lost {coin}."),
        pick(rnd, "Guaranteed daily profit, no experience needed.", "Contact the recovery team, they are legit and fast.",
             "Withdrawals are instant and the returns are guaranteed.", "Join thousands who are already earning."),
        pick(rnd, "Email", "Reach them at", "Sign up here:", "WhatsApp"),
        pick(rnd, link(rnd, "coin", "crypto", "trade", "profit", "recovery"), f"recoveryteam{rnd.randint(1, 99)}@gmail.com", phone(rnd)),
    ])
    return title, body


def link_drop(rnd: random.Random) -> tuple[str, str]:
    topic = rnd.choice(["phone cases", "chargers", "wireless earbuds", "screen protectors", "smart watches", "VPN", "IPTV",
                        "cheap data plans", "free gift cards", "mobile games"])
    title = pick(rnd, f"Best {topic} deals this week", f"Great site for {topic}", f"Where to buy {topic} cheap?",
                 f"{topic.capitalize()} 70% off", f"Check out these {topic}")
    body = " ".join([
        pick(rnd, "Hi all,", "Hello friends!", "Useful for everyone here:", "Found this today:", "Nice post, thanks for sharing."),
        pick(rnd, f"I always buy my {topic} from", f"You can get {topic} super cheap at", f"Best {topic} I found are on",
             f"Huge discount on {topic} at"),
        link(rnd, "deals", "shop", "store", "buy", "mart"),
        pick(rnd, "", f"and also {link(rnd, 'promo', 'sale', 'offer')}", "Use code SAVE70.", "Free shipping worldwide!"),
    ])
    return title, body


def pills(rnd: random.Random) -> tuple[str, str]:
    drug = rnd.choice(["Viagra", "Cialis", "tramadol", "oxycodone", "Xanax", "keto pills", "CBD gummies", "weight loss drops"])
    title = pick(rnd, f"Buy {drug} online without prescription", f"Cheap {drug} overnight delivery", f"{drug} best price",
                 f"Order {drug} discreet shipping", f"Where to get {drug} online safely")
    body = " ".join([
        pick(rnd, f"Order {drug} from our licensed online pharmacy.", f"Get {drug} at the lowest price.",
             f"100% genuine {drug}, no prescription required."),
        pick(rnd, "Discreet packaging, overnight delivery.", "Pay with bitcoin or card.", "Bonus pills with every order."),
        link(rnd, "pharma", "meds", "rx", "pills", "health"),
    ])
    return title, body


def money(rnd: random.Random) -> tuple[str, str]:
    title = pick(rnd, "Work from home and earn $500 a day", "Instant loan approval, bad credit ok", "Essay writing service - 50% off",
                 f"Get {rnd.randint(1, 50)}k Instagram followers fast", "Online casino bonus 200% no deposit",
                 "Make money online with your phone", "Buy Google reviews and 5 star ratings")
    body = " ".join([
        pick(rnd, "I am earning $" + str(rnd.randint(200, 900)) + " a day from home with my phone.",
             "Get approved in 5 minutes, no credit check.", "Professional writers will do your homework and essays.",
             "Real followers and likes delivered instantly.", "Claim your free spins and welcome bonus today.",
             "Boost your business with real reviews."),
        pick(rnd, "It changed my life.", "Limited spots available.", "Cheap prices and fast delivery.", "Don't miss out!"),
        pick(rnd, "Start here:", "Details at", "Sign up now:", "Visit"), link(rnd, "earn", "cash", "loan", "writer", "casino", "follow"),
    ])
    return title, body


FAMILIES = {"unlock": unlock, "support_number": support, "crypto": crypto, "link_drop": link_drop, "pills": pills, "money": money}


def generate(per_family: int = 25, seed: int = 15) -> list[dict[str, str]]:
    rnd = random.Random(seed)
    out: list[dict[str, str]] = []
    for family, make in FAMILIES.items():
        seen: set[str] = set()
        while sum(1 for p in out if p["family"] == family) < per_family:
            title, body = make(rnd)
            if body in seen:
                continue
            seen.add(body)
            out.append({"family": family, "title": title, "body": body})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-family", type=int, default=25)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    posts = generate(args.per_family, args.seed)
    args.out.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in posts))
    print(f"{len(posts)} posts in {len(FAMILIES)} families -> {args.out}")


if __name__ == "__main__":
    main()
