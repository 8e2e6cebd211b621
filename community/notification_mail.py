"""Notification mail: turns due notifications (`Notification.mail_due_at`) into outbox mail, one
per member and thread, folding what happened since the last one.

Runs before each delivery batch of the sender (`community.mail.sender_loop`), in one transaction
per batch: the rows it mails are marked in the same transaction as the outbox rows it writes, so a
crash composes nothing twice. What may be mailed is decided here, at sending time, not when the
event happened: no mail to a suspended member, to an address not confirmed or bouncing, about a
post hidden or deleted meanwhile, or of a kind the member has since turned off.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from community import clock, db, mail, mail_links, preferences
from community.config import ROOT
from community.mail_links import Site
from community.models import Comment, Notification, NotificationPreference, Post, User
from community.rendering import plain_text

log = logging.getLogger("community.notification_mail")

BATCH = 200
EXCERPT = 600

_env = Environment(loader=FileSystemLoader(str(ROOT / "templates" / "mail")), autoescape=select_autoescape(["html"]),
                   trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)

# Why the member got it, when the notification does not say itself.
REASONS = {
    "answer": "you asked this question",
    "agent_reply": "you asked this question",
    "escalated": "you asked this question",
    "comment": "someone commented on your post",
    "mention": "someone mentioned you",
    "accepted": "your answer was accepted",
    "watched_answer": "you watch this question",
    "tag_question": "you watch one of its tags",
    "nudge": "you answer questions in its tags",
    "ticket_assigned": "a support ticket was assigned to you",
}
NO_REPLY_KINDS = {"ticket_assigned"}


def render(template: str, **context: Any) -> str:
    return _env.get_template(template).render(**context)


def mailable(user: User | None, now: Any) -> bool:
    """May this member be mailed at all: a confirmed address, not bouncing, not suspended."""
    return (user is not None and bool(user.email) and user.email_confirmed_at is not None
            and user.email_bouncing_at is None and (user.suspended_until is None or user.suspended_until <= now))


_INLINE = re.compile(r"</?(?:a|abbr|b|code|del|em|i|kbd|s|strong|sub|sup)\b[^>]*>", re.I)


def excerpt(html: str, limit: int = EXCERPT) -> str:
    # Inline tags go without a trace ("@alice, any idea?"); block tags become spaces (plain_text).
    text = " ".join(plain_text(_INLINE.sub("", html)).split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def still_visible(n: Notification, posts: dict[int, Post], comments: dict[int, Comment]) -> bool:
    """Is what the notification is about (its post, thread and comment, when it names them) still there to see."""
    for pid in (n.post_id, n.question_id):
        if pid is not None and (pid not in posts or not posts[pid].visible):
            return False
    return n.comment_id is None or (n.comment_id in comments and comments[n.comment_id].deleted_at is None)


def reply_target(item: Notification, post: Post) -> tuple[str, int]:
    """A reply to this mail answers a question, or comments on an answer (or where the comment was);
    the asker's reply about their own question ("escalated") comments on it rather than answering it."""
    if item.comment_id is not None or post.kind == "answer" or post.author_id == item.user_id:
        return "c", post.id
    return "a", post.id


async def compose_due(site: Site, limit: int = BATCH) -> int:
    """Mail one batch of due notifications; returns how many notifications it handled (mailed, or
    dropped as no longer to be mailed), so a caller repeats while it handles a whole batch."""
    now = clock.now()
    if not await Notification.filter(mail_due_at__lte=now).using_db(db.background()).exists():
        return 0  # the usual idle poll: no write lock taken
    async with db.background_transaction() as conn:
        # By member and thread, so a thread's events sit together; a thread cut off by the batch's end
        # is left whole for the next batch (unless it is the only one), so it still makes one mail.
        rows = await (Notification.filter(mail_due_at__lte=now).using_db(conn).order_by("user_id", "question_id", "id")
                      .limit(limit).select_for_update(skip_locked=True))
        if not rows:
            return 0
        claimed = len(rows)
        if claimed == limit:
            tail = (rows[-1].user_id, rows[-1].question_id)
            whole = [r for r in rows if (r.user_id, r.question_id) != tail or r.question_id is None]
            rows = whole or rows
        users = {u.id: u for u in await User.filter(id__in={r.user_id for r in rows}).using_db(conn)}
        post_ids = {i for r in rows for i in (r.post_id, r.question_id) if i is not None}
        posts = {p.id: p for p in await Post.filter(id__in=post_ids).using_db(conn)} if post_ids else {}
        comment_ids = {r.comment_id for r in rows if r.comment_id is not None}
        comments = {c.id: c for c in await Comment.filter(id__in=comment_ids).using_db(conn)} if comment_ids else {}
        chosen = {(p.user_id, p.kind): p.delivery for p in await NotificationPreference.filter(
            user_id__in=list(users), kind__in=list({r.kind for r in rows})).using_db(conn)}
        groups: dict[tuple[int, int | None], list[Notification]] = defaultdict(list)
        for r in rows:
            groups[(r.user_id, r.question_id if r.question_id is not None else -r.id)].append(r)
        mailed: list[int] = []
        for (uid, _), items in groups.items():
            user = users.get(uid)
            if not mailable(user, now):
                continue
            keep = [n for n in items if chosen.get((uid, n.kind), preferences.default(n.kind)) == "now"
                    and still_visible(n, posts, comments)]
            if keep:
                await _queue(site, user, keep, posts, comments, conn)
                mailed += [n.id for n in keep]
        if mailed:
            await Notification.filter(id__in=mailed).using_db(conn).update(mailed_at=now, mail_due_at=None)
        done = set(mailed)
        rest = [r.id for r in rows if r.id not in done]
        if rest:  # not to be mailed after all: they stay in the inbox
            await Notification.filter(id__in=rest).using_db(conn).update(mail_due_at=None)
    return claimed


async def _queue(site: Site, user: User, items: list[Notification], posts: dict[int, Post],
                 comments: dict[int, Comment], conn: Any) -> None:
    question = posts.get(items[0].question_id) if items[0].question_id is not None else None
    entries = []
    for n in items:
        if n.comment_id is not None:
            body = comments[n.comment_id].body_html
        elif n.post_id is not None:
            body = posts[n.post_id].body_html
        else:
            body = ""
        entries.append({"heading": n.text, "excerpt": excerpt(body) if body else "", "link": site.url(n.url)})
    kinds = sorted({n.kind for n in items})
    unsubscribe = mail_links.unsubscribe_url(site, user.id, kinds)
    last = items[-1]
    reason = last.reason or REASONS.get(last.kind, "of your notification settings")
    headers = {
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
    }
    reply = None
    target_post = posts.get(last.post_id) if last.post_id is not None else None
    if target_post is not None and last.kind not in NO_REPLY_KINDS:
        action, post_id = reply_target(last, target_post)
        headers["Reply-To"] = mail_links.reply_address(site, user.id, action, post_id)
        reply = "answer the question" if action == "a" else "add a comment"
    if question is not None:
        headers["References"] = f"<question.{question.id}@{site.domain}>"
    subject = items[0].text if len(items) == 1 else f"{len(items)} updates on: {question.title if question else items[0].text}"
    context = {
        "name": user.display_name or user.username, "entries": entries, "reason": reason, "reply": reply,
        "unsubscribe": unsubscribe, "kinds": [preferences.KINDS[k][0] for k in kinds if k in preferences.KINDS],
        "settings": site.url("/account/notifications"), "question": question,
    }
    await mail.queue(user.email, " ".join(subject.split())[:200], render("notification.txt", **context),
                     f"n:{last.kind}", conn, html=render("notification.html", **context), headers=headers, user_id=user.id)


def composer(config: Any) -> mail.Composer:
    """The sender's step for this deployment: compose everything due, batch by batch."""
    site = Site.from_config(config)

    async def run() -> int:
        total = 0
        while True:
            handled = await compose_due(site)
            total += handled
            if handled < BATCH:
                return total

    return run
