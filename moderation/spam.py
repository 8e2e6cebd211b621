"""Automatic spam triage: every question and answer by a member under `spam.check_below_rep`
reputation (and every big edit of one) gets a spam score from local signals; above
`spam.hold_score` the post is held in the "Suspected spam" review queue.

Held is `Post.hidden` (the thread, lists, search and the API already show a hidden post only to
its author and moderators, and the escalation sweeper passes it by) plus an undecided
`SpamCheck` with `held`. The checks run inside the writer's transaction (community/events.py),
so the page and the API are judged alike and a held post is never visible, not even for a moment.
Moderators' decisions in the review queues (`learn`) train the naive Bayes model
(`moderation/spam_model.py`, counts in `SpamToken`) one post at a time.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise import Tortoise

from community import clock, db, events, honeypot, privileges, settings
from community.errors import Invalid
from community.models import Notification, Post, User
from community.notifications import notify
from community.settings import declare
from moderation import audit, posts, spam_model
from moderation.models import ReviewItem, SpamCheck
from moderation.spam_model import DOCS



def _within(low: int, high: int) -> Any:
    def check(value: Any) -> Any:
        if not low <= value <= high:
            raise Invalid(None, f"Give a whole number from {low} to {high:,}.")
        return value
    return check


declare("spam.check_below_rep", 10, "Posts by members below this reputation get a spam score (a filled honeypot "
        "is judged whoever sends it)", "spam", check=_within(0, 2**31 - 1))
declare("spam.hold_score", 70, "Spam score (1 to 100) at which a post is held for review, invisible to others",
        "spam", check=_within(1, 100))
declare("spam.big_edit_chars", 200, "An edit that adds this many characters (or a new link) is checked again",
        "spam", check=_within(1, 1_000_000))
declare("spam.model_min_decisions", 5, "Posts moderators must have decided each way (spam and not spam) before "
        "the learned model counts", "spam", check=_within(1, 1_000_000))

QUEUE = "spam"
RECENT_OWN = timedelta(days=7)
RECENT_OTHERS = timedelta(days=1)
OTHERS_LIMIT = 200  # recent posts by others compared against
SPEED_WINDOW = timedelta(minutes=10)
KNOWN_DOMAINS_SECONDS = 300  # how long a process keeps the community's linked domains before reading again
KNOWN_DOMAINS_POSTS = 3000  # the recent posts with links, by members past the threshold, they come from
# What moderators decided, per queue, as a label for the model; other decisions teach nothing.
LABELS = {("spam", "spam"): True, ("spam", "release"): False, ("first_post", "spam"): True,
          ("first_post", "looks_ok"): False, ("flagged", "spam"): True}


# The community's own linked domains ("ham" domains): read from the newest posts with links by
# members at or past the threshold, kept per process and per database for a few minutes, and added to
# at once as such members post.
@dataclass
class _Known:
    key: tuple
    domains: set[str]
    read_at: float


_known: _Known | None = None


def _database_key() -> tuple:
    conn = Tortoise.get_connection("default")
    return id(conn), str(getattr(conn, "filename", "") or getattr(conn, "database", ""))


async def known_domains(conn: Any = None) -> set[str]:
    global _known
    key = _database_key()
    if _known is not None and _known.key == key and time.monotonic() - _known.read_at < KNOWN_DOMAINS_SECONDS:
        return _known.domains
    rows = await db.fetch(
        'SELECT p.body_html FROM post p JOIN "user" u ON u.id = p.author_id WHERE u.reputation >= ? '
        "AND p.deleted_at IS NULL AND p.hidden = ? AND p.body_html LIKE ? ORDER BY p.id DESC LIMIT ?",
        [int(settings.get("spam.check_below_rep")), False, "%href=%", KNOWN_DOMAINS_POSTS], conn)
    found: set[str] = set()
    for r in rows:
        found.update(spam_model.read("", r["body_html"] or "").domains)
    rows = await db.fetch("SELECT token FROM moderation_spam_token WHERE token LIKE ? AND ham > 0 AND spam = 0",
                          ["dom:%"], conn)
    found.update(r["token"][4:] for r in rows)
    _known = _Known(key, found, time.monotonic())
    return found


def _remember_domains(domains: list[str]) -> None:
    if _known is not None and _known.key == _database_key():
        _known.domains.update(domains)


async def _counts(tokens: list[str], conn: Any) -> dict[str, tuple[int, int]]:
    wanted = sorted({*tokens, DOCS})
    found: dict[str, tuple[int, int]] = {}
    for start in range(0, len(wanted), 500):
        part = wanted[start:start + 500]
        marks = ", ".join("?" * len(part))
        for r in await db.fetch(f"SELECT token, spam, ham FROM moderation_spam_token WHERE token IN ({marks})", part, conn):
            found[r["token"]] = (int(r["spam"]), int(r["ham"]))
    return found


def _checked(author: User | None) -> bool:
    return author is not None and not author.is_moderator and not author.is_staff


async def _signals(post: Post, author: User, text: spam_model.Text, trap: bool, conn: Any) -> spam_model.Signals:
    now = clock.now()
    toks = spam_model.tokens(text)
    counts = await _counts(toks, conn)
    verdict = spam_model.judge(toks, counts, int(settings.get("spam.model_min_decisions")))
    spam_domains = frozenset(d for d in text.domains if counts.get(f"dom:{d[:70]}", (0, 0))[0] > 0
                             and counts.get(f"dom:{d[:70]}", (0, 0))[1] == 0)
    mine = spam_model.shingles(text.plain)
    own = await Post.filter(author_id=author.id, created_at__gte=now - RECENT_OWN).exclude(id=post.id) \
        .using_db(conn).order_by("-id").limit(20).values("title", "body_html", "created_at")
    others = await Post.filter(created_at__gte=now - RECENT_OTHERS).exclude(author_id=author.id).exclude(id=post.id) \
        .using_db(conn).order_by("-id").limit(OTHERS_LIMIT).values("title", "body_html")

    def most_alike(rows: list[dict]) -> float:
        return max((spam_model.resemblance(mine, spam_model.shingles(spam_model.read(r["title"] or "", r["body_html"] or "").plain))
                    for r in rows), default=0.0)

    recent = sum(1 for r in own if db.as_datetime(r["created_at"]) >= now - SPEED_WINDOW)
    created = db.as_datetime(author.created_at) if author.created_at else None
    return spam_model.Signals(
        text=text, verdict=verdict, honeypot=trap, known_domains=frozenset(await known_domains(conn)),
        spam_domains=spam_domains, repeats_own=most_alike(own), repeats_others=most_alike(others), recent_posts=recent,
        account_age_seconds=(now - created).total_seconds() if created else None)


async def check(post: Post, author_id: int | None, what: str, conn: Any) -> SpamCheck | None:
    """Score a post (or an edit of it) and hold it when the score reaches the threshold."""
    author = await User.filter(id=author_id).using_db(conn).first() if author_id else None
    if not _checked(author):
        return None
    trap = honeypot.filled()
    text = spam_model.read(post.title or "", post.body_html or "")
    if author.reputation >= int(settings.get("spam.check_below_rep")):
        _remember_domains(text.domains)  # an established member's links: the community's own domains
        if not trap:
            return None
    score, reasons = spam_model.combine(await _signals(post, author, text, trap, conn))
    held = score >= float(settings.get("spam.hold_score"))
    row = await SpamCheck.create(post_id=post.id, author_id=author.id, score=score, held=held, created_at=clock.now(),
                                 reasons=json.dumps({"what": what, "signals": reasons}), using_db=conn)
    if held:
        await _hold(post, row, reasons, conn)
    return row


def _summary(reasons: list[dict]) -> str:
    telling = sorted((r for r in reasons if r["points"] > 0), key=lambda r: -r["points"])[:3]
    return "; ".join(r["detail"] for r in telling)[:250]


async def _first_answer_again(question_id: int, conn: Any) -> None:
    """The question's first answer from someone other than the asker, among visible answers: a held
    answer must not count as the first answer (the escalation sweeper waits for one)."""
    await db.execute(
        "UPDATE post SET first_answer_at = (SELECT MIN(a.created_at) FROM post a WHERE a.question_id = ? "
        "AND a.kind = 'answer' AND a.deleted_at IS NULL AND a.hidden = ? "
        "AND COALESCE(a.author_id, 0) <> COALESCE(post.author_id, 0)) WHERE id = ?",
        [question_id, False, question_id], conn)


async def _hold(post: Post, row: SpamCheck, reasons: list[dict], conn: Any) -> None:
    await Post.filter(id=post.id).using_db(conn).update(hidden=True)
    post.hidden = True
    if not post.is_question:
        await _first_answer_again(post.question_id, conn)
    await posts.visibility_changed(post, conn)
    # What the post's writing told others (an answer on their question, a watched tag, a mention)
    # goes with it; the author's own inbox keeps its entries.
    about = Notification.filter(question_id=post.id) if post.is_question else Notification.filter(post_id=post.id)
    await about.exclude(user_id=post.author_id or 0).using_db(conn).delete()
    await posts.close_items(post, ("first_post",), None, "held_as_spam", conn)
    await posts.open_item(QUEUE, post, conn, note=f"Suspected spam, score {row.score:.0f}")
    await audit.record(None, "spam_hold", conn, post_id=post.id, user_id=post.author_id,
                       reason=f"Spam score {row.score:.0f}: {_summary(reasons)}")


async def release(actor: User, post: Post, note: str, conn: Any) -> None:
    """A moderator found a held post fine: it shows to everyone again, search finds it, and its
    author is told."""
    changed = await Post.filter(id=post.id, hidden=True).using_db(conn).update(hidden=False)
    post.hidden = False
    if changed:
        if not post.is_question:
            await _first_answer_again(post.question_id, conn)
        await posts.visibility_changed(post, conn)
    qid = posts.question_id_of(post)
    what = "question" if post.is_question else "answer"
    await notify(post.author_id, "spam_released", f"A moderator checked your {what} and it is now visible to everyone.",
                 f"/questions/{qid}#post-{post.id}", conn, skip=actor.id, question_id=qid, post_id=post.id)
    await audit.record(actor, "spam_release", conn, post_id=post.id, user_id=post.author_id,
                       reason=note or "Not spam: released from review")


async def learn(actor: User, queue: str, post: Post, decision: str, conn: Any) -> bool | None:
    """A review decision as a lesson for the model: the post's tokens counted as spam or not, once
    per post (its undecided checks take the decision). Returns the label learned, or None."""
    label = LABELS.get((queue, decision))
    if label is None:
        return None
    now = clock.now()
    undecided = await SpamCheck.filter(post_id=post.id, decision=None).using_db(conn).update(
        decision="spam" if label else "ham", decided_at=now, decided_by_id=actor.id)
    decided_before = await SpamCheck.filter(post_id=post.id).exclude(decision=None).using_db(conn).count()
    if not undecided and decided_before:
        return None  # already learned from an earlier decision on this post
    toks = sorted(set(spam_model.tokens(spam_model.read(post.title or "", post.body_html or ""))) | {DOCS})
    for start in range(0, len(toks), 400):  # sorted: two decisions at once lock the rows in one order
        part = toks[start:start + 400]
        values = ", ".join("(?, ?, ?)" for _ in part)
        params: list[Any] = []
        for t in part:
            params += [t[:80], 1 if label else 0, 0 if label else 1]
        await db.execute(f"INSERT INTO moderation_spam_token (token, spam, ham) VALUES {values} ON CONFLICT (token) "
                         "DO UPDATE SET spam = moderation_spam_token.spam + excluded.spam, "
                         "ham = moderation_spam_token.ham + excluded.ham", params, conn)
    return label


# -- What moderators read -------------------------------------------------------------------------

@dataclass
class Week:
    start: datetime  # Monday 00:00 UTC
    checked: int = 0
    held: int = 0
    confirmed: int = 0  # held, then confirmed as spam
    released: int = 0  # held, then released: the false positives
    waiting: int = 0  # held, not decided yet
    missed: int = 0  # not held, and later confirmed as spam: the spam that got through

    @property
    def false_positive_rate(self) -> float | None:
        """Of the held posts moderators decided, the share they released."""
        decided = self.confirmed + self.released
        return self.released / decided if decided else None

    def as_json(self) -> dict:
        rate = self.false_positive_rate
        return {"week": self.start.date().isoformat(), "checked": self.checked, "held": self.held,
                "confirmed": self.confirmed, "released": self.released, "waiting": self.waiting, "missed": self.missed,
                "false_positive_rate": round(rate, 4) if rate is not None else None}


def week_start(moment: datetime) -> datetime:
    day = moment.astimezone(clock.now().tzinfo).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


async def weekly(weeks: int = 12) -> list[Week]:
    """Per week (by when the post was checked), newest first, the last `weeks` weeks."""
    weeks = max(1, min(int(weeks), 104))
    first = week_start(clock.now()) - timedelta(weeks=weeks - 1)
    table = {first + timedelta(weeks=i): Week(first + timedelta(weeks=i)) for i in range(weeks)}
    rows = await db.fetch("SELECT created_at, held, decision FROM moderation_spam_check WHERE created_at >= ?", [first])
    for r in rows:
        w = table.get(week_start(db.as_datetime(r["created_at"])))
        if w is None:
            continue
        w.checked += 1
        if r["held"]:
            w.held += 1
            if r["decision"] == "spam":
                w.confirmed += 1
            elif r["decision"] == "ham":
                w.released += 1
            else:
                w.waiting += 1
        elif r["decision"] == "spam":
            w.missed += 1
    return sorted(table.values(), key=lambda w: w.start, reverse=True)


def signals_of(row: SpamCheck) -> tuple[str, list[dict]]:
    """(what was checked, the signals and their points) from a check's stored reasons."""
    try:
        data = json.loads(row.reasons or "{}")
    except ValueError:
        return "", []
    return data.get("what", ""), list(data.get("signals", []))


async def held_checks(post_ids: list[int]) -> dict[int, SpamCheck]:
    """The newest held check of each of these posts."""
    found: dict[int, SpamCheck] = {}
    for row in await SpamCheck.filter(post_id__in=post_ids, held=True).order_by("id"):
        found[row.post_id] = row
    return found


async def held_in_thread(question_id: int) -> set[int]:
    """Ids of the thread's posts held for review now."""
    rows = await db.fetch(
        "SELECT DISTINCT c.post_id FROM moderation_spam_check c JOIN post p ON p.id = c.post_id "
        "WHERE c.held = ? AND c.decision IS NULL AND p.hidden = ? AND p.deleted_at IS NULL "
        "AND (p.id = ? OR p.question_id = ?)", [True, True, question_id, question_id])
    return {int(r["post_id"]) for r in rows}


# -- Hooks ----------------------------------------------------------------------------------------

def _edit_is_big(before: dict, post: Post) -> bool:
    old = spam_model.read(before.get("title") or "", before.get("body") or "")
    new = spam_model.read(post.title or "", post.body or "")
    if set(new.domains) - set(old.domains):
        return True
    added = Counter(new.plain.split()) - Counter(old.plain.split())
    return sum(len(w) + 1 for w in added.elements()) >= int(settings.get("spam.big_edit_chars"))


async def _question_asked(question: Post, conn: Any, **_: Any) -> None:
    await check(question, question.author_id, "question", conn)


async def _answer_posted(question: Post, answer: Post, conn: Any, **_: Any) -> None:
    await check(answer, answer.author_id, "answer", conn)


async def _post_edited(post: Post, editor: User, before: dict, conn: Any, **_: Any) -> None:
    if post.hidden or post.deleted_at is not None or editor is None or editor.id != post.author_id:
        return  # held or hidden already, or edited by someone else (who has the edit privilege)
    if honeypot.filled() or _edit_is_big(before, post):
        await check(post, editor.id, "edit", conn)


async def _comment_posted(post: Post, comment: Any, conn: Any, **_: Any) -> None:
    # A comment cannot be held (comments have no hidden state): a bot's comment is refused outright.
    if honeypot.filled():
        raise Invalid("body", "This comment could not be posted because a field that must stay empty was filled in "
                              "(some browser add-ons do that). Please turn off autofill for this page and try again.")


events.subscribe("question_asked", _question_asked)
events.subscribe("answer_posted", _answer_posted)
events.subscribe("post_edited", _post_edited)
events.subscribe("comment_posted", _comment_posted)


async def waiting_count() -> int:
    return await ReviewItem.filter(queue=QUEUE, decided_at=None).count()


@dataclass
class Held:
    """One item of the Suspected spam queue, with the check that held it."""

    view: Any  # moderation.review.ItemView
    score: float | None
    what: str
    signals: list[dict]


async def queue(user: User | None, limit: int = 50) -> list[Held]:
    """The held posts waiting for a moderator, oldest first, each with its score and signals."""
    from moderation import review  # review imports this module (decisions teach the model)

    privileges.require_moderator(user)
    views = await review.waiting(user, QUEUE, limit)
    checks = await held_checks([v.post.id for v in views])
    out: list[Held] = []
    for v in views:
        row = checks.get(v.post.id)
        what, signals = signals_of(row) if row else ("", [])
        out.append(Held(v, row.score if row else None, what, signals))
    return out


async def figures(user: User | None, weeks: Any = 12) -> list[Week]:
    """The weekly figures, for moderators."""
    privileges.require_moderator(user)
    try:
        n = int(weeks)
    except (TypeError, ValueError):
        raise Invalid("weeks", "Weeks must be a whole number from 1 to 104.") from None
    if not 1 <= n <= 104:
        raise Invalid("weeks", "Weeks must be a whole number from 1 to 104.")
    return await weekly(n)
