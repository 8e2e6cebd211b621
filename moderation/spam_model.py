"""What the spam triage reads in a post's text, and its naive Bayes model, as pure functions.

No database here: `moderation/spam.py` loads the counts and calls these, and the benchmark
(`bench/spam_bench.py`) trains and scores the very same functions on held-out data.

The model is Graham's and Robinson's naive Bayes for mail: each token (a word, a link domain
`dom:example.com`, or a mark such as `has:phone`) counts once per post; its spam probability comes
from how often it appeared in confirmed spam and in released posts, pulled towards 1/2 while it has
been seen only a few times; the post's score combines the most telling tokens as log-odds.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

DOCS = "!docs"  # the token row holding how many posts each side was trained on
MAX_TOKENS = 400  # a post's distinct tokens considered (a 30,000-character post stays cheap)
TELLING = 15  # tokens whose evidence is combined: the ones furthest from 1/2
STRENGTH = 1.0  # Robinson's s: how strongly a rarely seen token is pulled towards 1/2
CLIP = 6.0  # the model's log-odds are kept within ±CLIP so other signals still count

# Link shorteners hide where a link goes: spam's favourite.
SHORTENERS = frozenset("""
bit.ly tinyurl.com goo.gl t.co ow.ly is.gd buff.ly cutt.ly rebrand.ly shorturl.at tiny.cc rb.gy lnkd.in s.id
v.gd adf.ly bl.ink shorte.st ouo.io bc.vc t.ly tiny.one qr.ae clck.ru u.to x.co short.io soo.gd
""".split())

_HREF = re.compile(r"""href\s*=\s*["']([^"']+)["']""", re.I)
_TAG = re.compile(r"<[^>]+>")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"')\]]+", re.I)
# A bare domain written as text ("kidsmediausa . com", "example.net/offer"): a link with its scheme dropped.
_BARE = re.compile(r"\b((?:[a-z0-9][a-z0-9-]{0,62}\s?\.\s?)+(?:com|net|org|info|biz|io|co|ru|xyz|top|online|site|shop|"
                   r"club|live|store|us|uk|in|me|tk|ml|ga|cf|gq|pw|cc|ws|ly|to|gl|be|tv))\b(?!\.\w)", re.I)
_PHONE = re.compile(r"(?<![\w+])\+?\(?\d[\d\s().\-]{8,18}\d(?!\w)")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
_WORD = re.compile(r"[a-z][a-z0-9']{1,24}")
_MONEY = re.compile(r"[$€£]\s?\d|\d\s?(?:usd|dollars|euros)\b", re.I)


@dataclass
class Text:
    """What a post's text says that the triage reads."""

    plain: str  # the words, without markup, lower case
    urls: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)  # distinct, in order of appearance
    phones: int = 0
    emails: int = 0
    money: int = 0
    phone_in_title: bool = False


def domain_of(url: str) -> str:
    """The host of a link, lower case, without `www.` or a port: "https://www.Example.com:8080/x" -> "example.com"."""
    rest = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url.strip().lower())
    host = re.split(r"[/?#]", rest, maxsplit=1)[0].rsplit("@", 1)[-1].split(":")[0]
    host = re.sub(r"\s+", "", host).strip(".")
    return host[4:] if host.startswith("www.") else host


def read(title: str, body: str) -> Text:
    """Read a post (its title and body, Markdown or HTML alike): words, links and their domains."""
    raw = f"{title}\n{body}"
    hrefs = [h for h in _HREF.findall(raw) if not h.startswith(("#", "/", "mailto:"))]
    plain = html.unescape(_TAG.sub(" ", raw)).replace("\ufeff", " ")
    urls = hrefs + _URL.findall(plain)
    bare = [b for b in _BARE.findall(_EMAIL.sub(" ", plain).lower()) if not b.replace(" ", "").startswith("e.g")]
    domains: list[str] = []
    for candidate in [domain_of(u) for u in urls] + [domain_of(b) for b in bare]:
        if candidate and "." in candidate and candidate not in domains:
            domains.append(candidate)
    phones = sum(1 for p in _PHONE.findall(plain) if sum(c.isdigit() for c in p) >= 10)
    in_title = any(sum(c.isdigit() for c in p) >= 10 for p in _PHONE.findall(html.unescape(title)))
    return Text(plain.lower(), urls, domains, phones, len(_EMAIL.findall(plain)), len(_MONEY.findall(plain)), in_title)


def tokens(text: Text) -> list[str]:
    """The post's distinct tokens: words, link domains, and marks for a link, a shortener, a phone
    number, an address, a sum of money. Length is left out on purpose (see the benchmark's note)."""
    found: dict[str, None] = {}
    for w in _WORD.findall(text.plain):
        found.setdefault(w.strip("'"), None)
    for d in text.domains:
        found.setdefault(f"dom:{d[:70]}", None)
    marks = {"has:link": bool(text.domains), "has:shortener": any(d in SHORTENERS for d in text.domains),
             "has:phone": text.phones > 0, "has:email": text.emails > 0, "has:money": text.money > 0}
    for mark, present in marks.items():
        if present:
            found.setdefault(mark, None)
    return [t for t in found if t][:MAX_TOKENS]


@dataclass
class Verdict:
    log_odds: float  # the model's evidence, within ±CLIP; 0 when it has too little to go on
    trained: tuple[int, int]  # posts learned as spam and as not spam
    clues: list[tuple[str, float]]  # the most telling tokens and their spam probability


def judge(post_tokens: Iterable[str], counts: Mapping[str, tuple[int, int]], minimum: int = 5) -> Verdict:
    """The model's verdict on a post's tokens. `counts`: token -> (spam, ham), with DOCS -> (posts
    learned as spam, as ham). Below `minimum` posts on either side the model says nothing."""
    spam_docs, ham_docs = counts.get(DOCS, (0, 0))
    if spam_docs < minimum or ham_docs < minimum:
        return Verdict(0.0, (spam_docs, ham_docs), [])
    probs: list[tuple[str, float]] = []
    for t in post_tokens:
        s, h = counts.get(t, (0, 0))
        n = s + h
        if n == 0:
            continue
        rs, rh = min(1.0, s / spam_docs), min(1.0, h / ham_docs)
        p = rs / (rs + rh)
        f = (STRENGTH * 0.5 + n * p) / (STRENGTH + n)
        probs.append((t, min(0.99, max(0.01, f))))
    probs.sort(key=lambda tp: -abs(tp[1] - 0.5))
    clues = probs[:TELLING]
    evidence = sum(math.log(p / (1 - p)) for _, p in clues)
    return Verdict(max(-CLIP, min(CLIP, evidence)), (spam_docs, ham_docs), clues)


class Counts(dict):
    """token -> (spam, ham) held in memory: what the benchmark trains; the forum keeps the same
    counts in `moderation_spam_token` (SpamToken)."""

    def learn(self, post_tokens: Iterable[str], spam: bool) -> None:
        for t in [*dict.fromkeys(post_tokens), DOCS]:
            s, h = self.get(t, (0, 0))
            self[t] = (s + 1, h) if spam else (s, h + 1)


# Repeated text: word shingles, so a copy with a changed word or two still matches.
def shingles(plain: str, size: int = 4, limit: int = 3000) -> frozenset[str]:
    words = _WORD.findall(plain[:limit])
    if len(words) < size:
        return frozenset([" ".join(words)]) if words else frozenset()
    return frozenset(" ".join(words[i:i + size]) for i in range(len(words) - size + 1))


def resemblance(a: frozenset[str], b: frozenset[str]) -> float:
    """How much of the smaller text the other repeats (0..1)."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


# How much each signal adds, in log-odds (the score is 100 / (1 + e^-total)). Fixed here rather than
# settings: they were chosen together on the benchmark, and the threshold (`spam.hold_score`) is the
# one number a community tunes.
PRIOR = -3.0  # a post with no signal at all scores 4.7
POINTS = {
    "link": 0.4,  # per linked domain, at most 3
    "unknown_domain": 1.0,  # per domain never seen in the community's own posts, at most 2
    "shortener": 2.5,
    "spam_domain": 3.0,  # a domain moderators confirmed as spam before
    "phone": 0.8,  # a phone number: fake support lines
    "phone_pushed": 1.5,  # more: the number is in the title, or given more than once
    "repeats_own": 2.0,  # the member's recent post said the same
    "repeats_others": 2.5,  # another member's recent post said the same: copy-paste across accounts
    "fast": 1.0,  # 3 or more posts in the last 10 minutes
    "very_fast": 2.0,  # 5 or more
    "new_account": 1.0,  # signed up less than 10 minutes ago
    "young_account": 0.5,  # less than a day ago
}
REPEAT_AT = 0.8  # resemblance at which text counts as repeated


@dataclass
class Signals:
    """Everything the triage knows about one post; `combine` turns it into a score."""

    text: Text
    verdict: Verdict
    honeypot: bool = False
    known_domains: frozenset[str] = frozenset()
    spam_domains: frozenset[str] = frozenset()
    repeats_own: float = 0.0
    repeats_others: float = 0.0
    recent_posts: int = 0  # the member's posts in the 10 minutes before this one
    account_age_seconds: float | None = None


def combine(s: Signals) -> tuple[float, list[dict]]:
    """The spam score (0..100) and each signal's part in it, as the moderator reads it."""
    reasons: list[dict] = []

    def add(signal: str, points: float, detail: str) -> None:
        reasons.append({"signal": signal, "points": round(points, 2), "detail": detail})

    if s.honeypot:
        add("honeypot", 99.0, "The hidden field that people never see was filled in: a bot sent this form.")
        return 100.0, reasons
    add("base", PRIOR, "Where every post starts")
    domains = s.text.domains
    if domains:
        add("links", POINTS["link"] * min(3, len(domains)), f"Links to {', '.join(domains[:5])}")
        unknown = [d for d in domains if d not in s.known_domains]
        if unknown:
            add("unknown_domains", POINTS["unknown_domain"] * min(2, len(unknown)),
                f"Not linked before in the community: {', '.join(unknown[:5])}")
        short = [d for d in domains if d in SHORTENERS]
        if short:
            add("shortener", POINTS["shortener"], f"A link shortener hides where it goes: {', '.join(short[:3])}")
        bad = [d for d in domains if d in s.spam_domains]
        if bad:
            add("spam_domain", POINTS["spam_domain"], f"Moderators confirmed spam linking to {', '.join(bad[:3])}")
    if s.text.phones > 1 or s.text.phone_in_title:
        add("phone", POINTS["phone"] + POINTS["phone_pushed"],
            "Pushes a phone number" + (" in the title" if s.text.phone_in_title else f" ({s.text.phones} times)"))
    elif s.text.phones:
        add("phone", POINTS["phone"], "Gives a phone number")
    if s.repeats_own >= REPEAT_AT:
        add("repeats_own", POINTS["repeats_own"], f"Repeats the member's recent post ({s.repeats_own:.0%} the same)")
    if s.repeats_others >= REPEAT_AT:
        add("repeats_others", POINTS["repeats_others"], f"Repeats another member's recent post ({s.repeats_others:.0%} the same)")
    if s.recent_posts >= 5:
        add("speed", POINTS["very_fast"], f"{s.recent_posts} posts in the 10 minutes before")
    elif s.recent_posts >= 3:
        add("speed", POINTS["fast"], f"{s.recent_posts} posts in the 10 minutes before")
    if s.account_age_seconds is not None and s.account_age_seconds < 600:
        add("account_age", POINTS["new_account"], "Account made less than 10 minutes before")
    elif s.account_age_seconds is not None and s.account_age_seconds < 86400:
        add("account_age", POINTS["young_account"], "Account made less than a day before")
    spam_docs, ham_docs = s.verdict.trained
    if s.verdict.clues:
        words = ", ".join(f"{t} {p:.0%}" for t, p in s.verdict.clues[:6])
        add("model", s.verdict.log_odds, f"Learned from {spam_docs} spam and {ham_docs} released posts; telling words: {words}")
    else:
        add("model", 0.0, f"Not used yet: learned from {spam_docs} spam and {ham_docs} released posts so far")
    total = sum(r["points"] for r in reasons)
    return round(100.0 / (1.0 + math.exp(-total)), 2), reasons
