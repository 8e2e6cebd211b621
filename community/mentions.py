"""@mentions: `@username` in a post or comment links to the member's profile and notifies them.

`link` runs on the sanitised HTML (after `rendering.markdown`): it finds `@name` in text, outside
`<a>`, `<code>` and `<pre>`, looks every candidate up in one query (usernames match whatever their
letter case) and wraps the names that exist in `<a href="/users/ID" class="mention">@name</a>`,
leaving every other byte as it was. `notify_mentioned` tells at most `MAX_NOTIFIED` of them, and
only those who may see the post: never its author, a suspended member, or one the same event
already notified in another way (the asker told of an answer).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from tortoise.functions import Lower

from community import clock
from community.models import Comment, Notification, Post, User

MAX_NOTIFIED = 10  # members notified per post or comment (every known name is still linked)
MIN_NAME, MAX_NAME = 3, 30  # sign-up's bounds (community.accounts.USERNAME_RE)
MAX_CANDIDATES = 500  # names looked up per text (a body of 30,000 characters holds at most a few thousand)

# A tag (attribute values may hold ">"), a comment, or a run of text.
_TOKEN = re.compile(r"<!--.*?-->|<(?:[^>\"']|\"[^\"]*\"|'[^']*')*>|[^<]+|<", re.S)
_TAG_NAME = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)")
_SKIP = {"a", "code", "pre"}  # no mention inside a link, inline code or a code block
# "@" not after a name's letter (foo@bar.com) or a slash (example.org/@bob); the name's letters follow.
_MENTION = re.compile(r"(?<![A-Za-z0-9_.+\-@/])@([A-Za-z0-9_.\-]+)")
_TRAILING = ".-"  # "@bob." at the end of a sentence is bob
_LINKED = re.compile(r'<a href="/users/(\d+)" class="mention">')


def _variants(name: str) -> list[str]:
    """The name as written, then without each trailing dot or dash in turn (longest first)."""
    out = [name]
    while name and name[-1] in _TRAILING:
        name = name[:-1]
        out.append(name)
    return [n for n in out if MIN_NAME <= len(n) <= MAX_NAME]


def _texts(html: str) -> Iterable[tuple[int, str]]:
    """(offset, text) for each run of text outside <a>, <code> and <pre>."""
    depth = dict.fromkeys(_SKIP, 0)
    for m in _TOKEN.finditer(html):
        token = m.group(0)
        if token.startswith("<"):
            tag = _TAG_NAME.match(token)
            if tag and tag.group(2).lower() in _SKIP and not token.endswith("/>"):
                name = tag.group(2).lower()
                depth[name] = max(0, depth[name] + (-1 if tag.group(1) else 1))
            continue
        if not any(depth.values()):
            yield m.start(), token


async def _find(names: list[str], conn: Any = None) -> dict[str, User]:
    """Members by lower-cased username, for the first `MAX_CANDIDATES` candidate names in one query."""
    lowered = list(dict.fromkeys(n.lower() for n in names))[:MAX_CANDIDATES]
    if not lowered:
        return {}
    found = await User.annotate(lname=Lower("username")).filter(lname__in=lowered).using_db(conn)
    return {u.username.lower(): u for u in found}


async def link(html: str, conn: Any = None) -> tuple[str, list[User]]:
    """Link every `@name` of a member in the text of `html`; returns the new HTML and the members
    mentioned, each once, in the order first mentioned."""
    if "@" not in html:
        return html, []
    hits: list[tuple[int, list[str]]] = []  # (where the "@" is, the name's variants)
    for offset, text in _texts(html):
        for m in _MENTION.finditer(text):
            variants = _variants(m.group(1))
            if variants:
                hits.append((offset + m.start(), variants))
    if not hits:
        return html, []
    members = await _find([v for _, vs in hits for v in vs], conn)
    parts: list[str] = []
    mentioned: dict[int, User] = {}
    at = 0
    for start, variants in hits:
        name = next((v for v in variants if v.lower() in members), None)
        if name is None:
            continue
        user = members[name.lower()]
        stop = start + 1 + len(name)  # "@" and the name as written, without trailing punctuation
        parts += [html[at:start], f'<a href="/users/{user.id}" class="mention">', html[start:stop], "</a>"]
        at = stop
        mentioned.setdefault(user.id, user)
    parts.append(html[at:])
    return "".join(parts), list(mentioned.values())


def linked_ids(html: str) -> list[int]:
    """Ids of the members an already linked HTML mentions (in order, each once)."""
    return list(dict.fromkeys(int(i) for i in _LINKED.findall(html or "")))


async def mentioned_in(html: str, conn: Any = None) -> set[int]:
    """Who a stored body mentions: its mention links, and names written before mentions were linked."""
    return set(linked_ids(html)) | {u.id for u in (await link(html or "", conn))[1]}


async def notify_post(members: list[User], *, author: User, question: Post, post: Post, conn: Any,
                      comment: Comment | None = None, before: set[int] | None = None) -> list[int]:
    """Notify the first `MAX_NOTIFIED` members a new post or comment mentions (the author not counted),
    who may see it, are not suspended, and were not notified of it in another way (the asker of an
    answer). For an edit, `before` is who the old text mentioned: only the others are notified.
    Returns the ids notified."""
    from community.notifications import notify
    from community.questions import can_see

    chosen = [m for m in members if m.id != author.id][:MAX_NOTIFIED]
    now = clock.now()
    skip = set(before or ())
    if chosen and before is None:  # a new post: whoever this event already told, another kind, is told once
        told = Notification.filter(user_id__in=[m.id for m in chosen], post_id=post.id,
                                   comment_id=comment.id if comment is not None else None)
        skip |= set(await told.using_db(conn).values_list("user_id", flat=True))
    if comment is not None:
        text, url = f"{author.username} mentioned you in a comment on: {question.title}", f"/questions/{question.id}#c{comment.id}"
    elif post.is_question:
        text, url = f"{author.username} mentioned you in: {question.title}", f"/questions/{question.id}"
    else:
        text, url = f"{author.username} mentioned you in an answer to: {question.title}", f"/questions/{question.id}#answer-{post.id}"
    done: list[int] = []
    for user in chosen:
        if user.id in skip or (user.suspended_until is not None and user.suspended_until > now):
            continue
        if not (can_see(post, user) and can_see(question, user)):
            continue  # a hidden or deleted post: only moderators (and its author) may see it
        if await notify(user.id, "mention", text, url, conn, skip=author.id, question_id=question.id, post_id=post.id,
                        comment_id=comment.id if comment is not None else None, reason="you were mentioned") is not None:
            done.append(user.id)
    return done
