"""Daily and weekly digests: per member, one mail with the period's new questions in the tags they
watch (still unanswered first) and what happened on what they watch, for members who chose that digest.

A run walks the candidate members (a tag watch, or a notification waiting for this digest) in id
order, a batch at a time (keyset pagination, so memory stays flat however many members there are).
Its progress is one `DigestRun` row per kind and period: each batch's mails, the notifications they
carry (marked digested) and the run's cursor commit together, so a run killed half way resumes at the
next member and nobody is mailed twice, and a second run of the same period finds it finished. The
row is created once (unique kind and period) and every batch claims it first (FOR UPDATE SKIP LOCKED
on PostgreSQL; SQLite's write lock serialises the claim), so several workers or hosts share a run.
"""

from __future__ import annotations

import asyncio
import logging
import textwrap
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from community import clock, db, mail, mail_links, preferences, settings
from community.mail_links import Site
from community.models import Comment, DigestRun, Notification, NotificationPreference, Post, User
from community.notification_mail import REASONS, excerpt, mailable, render, still_visible
from community.loop_guard import LoopGuard
from community.wakeup import sleep_until_woken

log = logging.getLogger("community.digest")

KINDS = ("daily", "weekly")
BATCH = 500  # members per transaction
MAX_QUESTIONS = 25  # new questions listed in one mail; the rest are counted, with links to their tags
MAX_UPDATES = 50  # notifications listed in one mail; the rest are counted
EXCERPT = 160
TICK_SECONDS = 60.0
_IN_CHUNK = 900  # ids per IN (...) list

settings.declare("digest.hour", 7, "Hour (UTC, 0-23) at which the daily and weekly digest periods end and the digests go out", "mail")
settings.declare("digest.weekday", 0, "Day the weekly digest goes out (0 Monday ... 6 Sunday)", "mail")
settings.rule("digest.hour", settings.between(0, 23))
settings.rule("digest.weekday", settings.between(0, 6))


@dataclass(frozen=True)
class Period:
    """What one digest covers: questions asked in [since, until), notifications made before until."""

    kind: str
    since: datetime
    until: datetime

    @property
    def name(self) -> str:
        return self.until.date().isoformat()


def period(kind: str, now: datetime) -> Period:
    """The latest complete period at `now`: the daily one ends today at `digest.hour` UTC (yesterday's
    when that hour has not come yet), the weekly one on the last `digest.weekday` at that hour."""
    if kind not in KINDS:
        raise ValueError(f"a digest is daily or weekly, not {kind!r}")
    hour = min(23, max(0, int(settings.get("digest.hour"))))
    now = now.astimezone(timezone.utc)
    until = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    if until > now:
        until -= timedelta(days=1)
    if kind == "daily":
        return Period(kind, until - timedelta(days=1), until)
    until -= timedelta(days=(until.weekday() - int(settings.get("digest.weekday")) % 7) % 7)
    return Period(kind, until - timedelta(days=7), until)


# ---- the run -------------------------------------------------------------------------------------


async def run(kind: str, site: Site, now: datetime | None = None) -> int:
    """Mail this period's digest to every member who has something new; returns the mails queued by
    this call (none when the period was already done, or another worker holds its next batch)."""
    now = now or clock.now()
    p = period(kind, now)
    conn = db.background()
    await db.execute('INSERT INTO digest_run (kind, period, since, "until", started_at, "cursor", sent) '
                     "VALUES (?, ?, ?, ?, ?, 0, 0) ON CONFLICT (kind, period) DO NOTHING",
                     [p.kind, p.name, p.since, p.until, now], conn)
    row = await DigestRun.filter(kind=p.kind, period=p.name).using_db(conn).first()
    if row is None or row.finished_at is not None:
        return 0
    # question id -> its excerpt (and wrapped for the text part), for this run: the period's questions, not its members
    cache: dict[int, tuple[str, str]] = {}
    sent = 0
    while True:
        done, mailed = await _next_batch(row.id, p, site, now, cache)
        sent += mailed
        if done:
            return sent


async def due(kind: str, now: datetime | None = None) -> bool:
    """Is this kind's latest period not yet (fully) mailed?"""
    p = period(kind, now or clock.now())
    row = await DigestRun.filter(kind=p.kind, period=p.name).using_db(db.background()).first()
    return row is None or row.finished_at is None


async def _next_batch(run_id: int, p: Period, site: Site, now: datetime,
                      cache: dict[int, tuple[str, str]]) -> tuple[bool, int]:
    """One batch of members in one transaction; (True, _) when the run is finished or another worker
    holds it."""
    async with db.background_transaction() as conn:
        row = await (DigestRun.filter(id=run_id, finished_at=None).using_db(conn)
                     .select_for_update(skip_locked=True).first())
        if row is None:
            return True, 0
        ids = await candidates(p, row.cursor, BATCH, conn)
        if not ids:
            await DigestRun.filter(id=run_id).using_db(conn).update(finished_at=now)
            return True, 0
        mailed = await _mail_batch(ids, p, site, now, cache, conn)
        await DigestRun.filter(id=run_id).using_db(conn).update(cursor=ids[-1], sent=row.sent + mailed)
    return False, mailed


async def candidates(p: Period, after: int, limit: int, conn: Any = None) -> list[int]:
    """The next `limit` member ids above `after` who may get this digest: they watch a tag and chose
    this digest for new questions in it, or a notification waits for this digest. Each arm reads its
    index in id order and stops at `limit`, so nothing here grows with the number of members."""
    rows = await db.fetch(
        "SELECT id FROM ("
        " SELECT DISTINCT tw.user_id AS id FROM tag_watch tw"
        " LEFT JOIN notification_preference np ON np.user_id = tw.user_id AND np.kind = 'tag_question'"
        " WHERE tw.user_id > ? AND COALESCE(np.delivery, ?) = ? ORDER BY tw.user_id LIMIT ?) AS watching "
        "UNION SELECT id FROM ("
        " SELECT DISTINCT n.user_id AS id FROM notification n"
        " WHERE n.digest = ? AND n.user_id > ? AND n.digested_at IS NULL AND n.created_at < ?"
        " ORDER BY n.user_id LIMIT ?) AS waiting "
        "ORDER BY id LIMIT ?",
        [after, preferences.default("tag_question"), p.kind, limit, p.kind, after, p.until, limit, limit], conn)
    return [int(r["id"]) for r in rows]


# ---- one batch -----------------------------------------------------------------------------------


@dataclass
class _Member:
    tags: set[int] = field(default_factory=set)
    notifications: list[Notification] = field(default_factory=list)


def _marks(values: list[Any]) -> str:
    return ", ".join("?" for _ in values)


def _chunks(values: list[int]) -> list[list[int]]:
    return [values[i:i + _IN_CHUNK] for i in range(0, len(values), _IN_CHUNK)]


async def _mail_batch(ids: list[int], p: Period, site: Site, now: datetime, cache: dict[int, tuple[str, str]],
                      conn: Any) -> int:
    """Compose and queue the digests of these members, and mark the notifications they carry."""
    users = {u.id: u for u in await User.filter(id__in=ids).using_db(conn).only(
        "id", "username", "display_name", "email", "email_confirmed_at", "email_bouncing_at", "suspended_until")}
    chosen = {(r["user_id"], r["kind"]): r["delivery"] for r in await NotificationPreference.filter(
        user_id__in=ids).using_db(conn).values("user_id", "kind", "delivery")}
    members: dict[int, _Member] = {uid: _Member() for uid in ids}

    want_questions = [uid for uid in ids
                      if chosen.get((uid, "tag_question"), preferences.default("tag_question")) == p.kind]
    tag_names: dict[int, str] = {}
    if want_questions:
        for r in await db.fetch("SELECT tw.user_id, tw.tag_id, t.name FROM tag_watch tw JOIN tag t ON t.id = tw.tag_id "
                                f"WHERE tw.user_id IN ({_marks(want_questions)})", want_questions, conn):
            members[r["user_id"]].tags.add(r["tag_id"])
            tag_names[r["tag_id"]] = r["name"]
    by_tag, questions = await _new_questions(sorted(tag_names), p, cache, conn)

    pending = await (Notification.filter(user_id__in=ids, digest=p.kind, digested_at=None, created_at__lt=p.until)
                     .using_db(conn).order_by("id"))
    post_ids = sorted({i for n in pending for i in (n.post_id, n.question_id) if i is not None})
    posts = {q.id: q for q in await Post.filter(id__in=post_ids).using_db(conn)
             .only("id", "kind", "title", "hidden", "deleted_at")} if post_ids else {}
    comment_ids = sorted({n.comment_id for n in pending if n.comment_id is not None})
    comments = {c.id: c for c in await Comment.filter(id__in=comment_ids).using_db(conn)
                .only("id", "deleted_at")} if comment_ids else {}
    moved: dict[str, list[int]] = defaultdict(list)  # the member now wants these in the other digest
    for n in pending:
        wanted = chosen.get((n.user_id, n.kind), preferences.default(n.kind))
        if wanted == p.kind:
            if still_visible(n, posts, comments):
                members[n.user_id].notifications.append(n)
        elif wanted in KINDS:
            moved[wanted].append(n.id)

    mails = []
    for uid in ids:
        user, member = users.get(uid), members[uid]
        if not mailable(user, now):
            continue
        matched: dict[int, list[str]] = defaultdict(list)  # question -> the member's tags it is in
        for t in sorted(member.tags, key=tag_names.__getitem__):
            for qid in by_tag.get(t, ()):
                if questions[qid]["author_id"] != uid:
                    matched[qid].append(tag_names[t])
        listed = sorted(matched, key=lambda q: _question_order(questions[q]))
        if not listed and not member.notifications:
            continue
        mails.append(_compose(site, p, user, [(questions[q], matched[q]) for q in listed], member, cache, posts))
    await mail.queue_many(mails, conn)
    for kind, nids in moved.items():
        for chunk in _chunks(nids):
            await Notification.filter(id__in=chunk).using_db(conn).update(digest=kind)
    gone = {i for ids_ in moved.values() for i in ids_}
    done = [n.id for n in pending if n.id not in gone]  # mailed, or no longer to be mailed: they stay in the inbox
    for chunk in _chunks(done):
        await Notification.filter(id__in=chunk).using_db(conn).update(digest="", digested_at=now)
    return len(mails)


def _question_order(q: dict[str, Any]) -> tuple[bool, str, int]:
    return q["state"] != "unanswered", str(q["created_at"]), q["id"]


async def _new_questions(tag_ids: list[int], p: Period, cache: dict[int, tuple[str, str]],
                         conn: Any) -> tuple[dict[int, list[int]], dict[int, dict[str, Any]]]:
    """The period's visible questions in these tags (not closed as duplicates): tag -> question ids,
    and each question's row, its excerpt read once per run."""
    by_tag: dict[int, list[int]] = defaultdict(list)
    questions: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(tag_ids):
        rows = await db.fetch(
            "SELECT pt.tag_id, p.id, p.title, p.author_id, p.state, p.answer_count, p.created_at FROM post p "
            "JOIN post_tag pt ON pt.post_id = p.id WHERE p.kind = 'question' AND p.created_at >= ? AND p.created_at < ? "
            "AND p.deleted_at IS NULL AND p.hidden = ? AND (p.closed_reason IS NULL OR p.closed_reason <> 'duplicate') "
            f"AND pt.tag_id IN ({_marks(chunk)})", [p.since, p.until, False, *chunk], conn)
        for r in rows:
            by_tag[r["tag_id"]].append(r["id"])
            questions[r["id"]] = r
    missing = sorted(set(questions) - set(cache))
    for chunk in _chunks(missing):
        for r in await db.fetch(f"SELECT id, body_html FROM post WHERE id IN ({_marks(chunk)})", chunk, conn):
            short = excerpt(r["body_html"], EXCERPT)
            cache[r["id"]] = short, textwrap.indent(textwrap.fill(short, 70), "  ")  # wrapped once, not per member
    return by_tag, questions


def _state(q: dict[str, Any]) -> str:
    if q["state"] == "unanswered":
        return "no answer yet"
    answers = f"{q['answer_count']} answer{'' if q['answer_count'] == 1 else 's'}"
    return f"{answers}, solved" if q["state"] == "solved" else answers


def _tag_list(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _compose(site: Site, p: Period, user: User, listed: list[tuple[dict[str, Any], list[str]]], member: _Member,
             excerpts: dict[int, tuple[str, str]], posts: dict[int, Post]) -> dict[str, Any]:
    """One member's digest, as `mail.queue_many` takes it."""
    in_tags = sorted({t for _, tags in listed for t in tags})
    entries = [{"title": q["title"], "link": site.url(f"/questions/{q['id']}"), "state": _state(q),
                "excerpt": excerpts[q["id"]][0], "excerpt_text": excerpts[q["id"]][1],
                "reason": f"you watch the tag{'s' if len(tags) > 1 else ''} {_tag_list(tags)}"}
               for q, tags in listed[:MAX_QUESTIONS]]
    groups: dict[Any, dict[str, Any]] = {}
    for n in member.notifications[:MAX_UPDATES]:
        key = n.question_id if n.question_id is not None else f"n{n.id}"
        question = posts.get(n.question_id) if n.question_id is not None else None
        group = groups.setdefault(key, {"title": question.title if question else "",
                                        "link": site.url(f"/questions/{question.id}") if question else "", "entries": []})
        group["entries"].append({"text": n.text, "link": site.url(n.url),
                                 "reason": n.reason or REASONS.get(n.kind, "of your notification settings")})
    kinds = sorted(({"tag_question"} if listed else set()) | {n.kind for n in member.notifications})
    unsubscribe = mail_links.unsubscribe_url(site, user.id, kinds)
    headers = {"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
               "Auto-Submitted": "auto-generated"}
    parts = []
    if listed:
        parts.append(f"{len(listed)} new question{'' if len(listed) == 1 else 's'} in {_tag_list(in_tags[:3])}"
                     + (" and more" if len(in_tags) > 3 else ""))
    if member.notifications:
        n = len(member.notifications)
        parts.append(f"{n} update{'' if n == 1 else 's'} on what you watch")
    context = {
        "name": user.display_name or user.username, "kind": p.kind, "since": p.since, "until": p.until,
        "questions": entries, "more_questions": max(0, len(listed) - MAX_QUESTIONS),
        "more_links": [{"name": t, "link": site.url(f"/tags/{t}")} for t in in_tags],
        "groups": list(groups.values()), "more_updates": max(0, len(member.notifications) - MAX_UPDATES),
        "reason": f"you chose the {p.kind} digest for: " + "; ".join(
            preferences.KINDS[k][0].lower() for k in kinds if k in preferences.KINDS),
        "unsubscribe": unsubscribe, "kinds": [preferences.KINDS[k][0] for k in kinds if k in preferences.KINDS],
        "settings": site.url("/account/notifications"), "inbox": site.url("/inbox"),
    }
    subject = f"Your {p.kind} digest: " + "; ".join(parts)
    return {"to": user.email, "subject": subject[:200], "text": render("digest.txt", **context), "kind": f"digest:{p.kind}",
            "html": render("digest.html", **context), "headers": headers, "user_id": user.id}


# ---- the server's schedule -----------------------------------------------------------------------


async def schedule_loop(site: Site, every_seconds: float = TICK_SECONDS) -> None:
    """Wakes once a minute and runs a digest whose period is not mailed yet; runs until cancelled."""
    idle = asyncio.Event()  # never set: the wait honours a cancellation a library swallowed
    guard = LoopGuard("the digest schedule")  # an outage: one line, one line when it is back
    while True:
        for kind in KINDS:
            try:
                if await due(kind):
                    sent = await run(kind, site)
                    if sent:
                        log.info("queued %d %s digest mail(s)", sent, kind)
                guard.ok()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a database hiccup must not end the loop
                guard.failed(exc, f"{kind} digest failed; trying again in {every_seconds}s")
                if guard.in_outage:
                    break  # the next kind would meet the same outage; a run resumes where it stopped
        await sleep_until_woken(idle, every_seconds)


async def startup(app: Any) -> list:
    """The app's plug point: the digest schedule runs in the server when SMTP_URL is set."""
    config = app.state.config
    if not config.smtp_url:
        return []
    return [schedule_loop(Site.from_config(config))]
