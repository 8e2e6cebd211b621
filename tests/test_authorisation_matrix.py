"""The authorisation matrix: every protected moderation action, page and endpoint, tried as anonymous,
a new member, a member just below and at its threshold, a moderator, staff and an admin.

Each row names the threshold the "below" and "above" members sit around (reputation t-1 and t, the
least reputation that holds the privilege) and the status each of the seven callers must get.
A 403 from a reputation privilege must name the privilege and the reputation it takes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from community import accounts, clock, db, questions, reputation, settings
from community.models import Post, User
from moderation import closing, flags, posts, revisions
from moderation.models import ReviewItem

PERSONAS = ("anonymous", "new", "below", "above", "moderator", "staff", "admin")
BODY = "My phone shows no signal at all since Monday, what should I do?"


@dataclass
class Row:
    name: str
    threshold: int  # reputation of "above"; "below" has one less
    privilege: str | None  # the privilege title a 403 names, or None for role-only and public rows
    expected: tuple[int, ...]  # one status per PERSONAS entry
    call: Callable[[httpx.AsyncClient, dict, "World"], Awaitable[httpx.Response]]


class World:
    """The members and a factory of fresh posts, so that no cell sees another cell's effects."""

    def __init__(self) -> None:
        self.owner: User | None = None
        self.flagger: User | None = None
        self.mod: User | None = None
        self.target: User | None = None
        self.n = 0

    async def question(self) -> Post:
        self.n += 1
        return await questions.ask(self.owner, f"Question number {self.n} about no signal", BODY, "signal")


async def member(name: str, rep: int, role: str = "member") -> User:
    """A member without password hashing (fast); reputation comes from a ledger event as usual."""
    user = await User.create(username=name, email=f"{name}@example.com", role=role, created_at=clock.now())
    if rep > 1:
        async with db.transaction() as conn:
            await reputation.grant(user.id, rep - 1, "earlier_history", f"test:{name}", None, conn)
            await reputation.refresh_total(user.id, conn)
    return await User.get(id=user.id)


async def headers_for(persona: str, threshold: int, cache: dict) -> dict:
    if persona == "anonymous":
        return {}
    rep = {"new": 1, "below": threshold - 1, "above": threshold}.get(persona, 1)
    role = persona if persona in ("moderator", "staff", "admin") else "member"
    if (role, rep) not in cache:
        user = await member(f"{persona}_{threshold}", rep, role)
        cache[(role, rep)] = {"Authorization": f"Bearer {await accounts.issue_token(user)}"}
    return cache[(role, rep)]


async def _flag(c, h, w):
    q = await w.question()
    return await c.post(f"/api/v1/posts/{q.id}/flags", headers=h, json={"reason": "spam"})


async def _review_list(c, h, w):
    return await c.get("/api/v1/review", headers=h)


async def _review_decide(c, h, w):
    q = await w.question()
    await flags.raise_flag(w.flagger, q.id, "off_topic")
    item = await ReviewItem.get(post_id=q.id, queue="flagged")
    return await c.post(f"/api/v1/review/{item.id}", headers=h, json={"decision": "decline"})


async def _close(c, h, w):
    q = await w.question()
    return await c.post(f"/api/v1/questions/{q.id}/close", headers=h, json={"reason": "off_topic"})


async def _reopen(c, h, w):
    q = await w.question()
    await closing.vote(w.mod, q.id, "close", "off_topic")
    return await c.post(f"/api/v1/questions/{q.id}/reopen", headers=h, json={})


async def _edit(c, h, w):
    q = await w.question()
    return await c.patch(f"/api/v1/posts/{q.id}", headers=h, json={"body": BODY + " It is a Samsung A52.", "comment": "model"})


async def _rollback(c, h, w):
    q = await w.question()
    await revisions.edit(w.owner, q.id, body=BODY + " Edited once.")
    return await c.post(f"/api/v1/posts/{q.id}/rollback", headers=h, json={"revision": 1})


async def _lock(c, h, w):
    q = await w.question()
    return await c.post(f"/api/v1/posts/{q.id}/lock", headers=h, json={"reason": "matrix"})


async def _delete(c, h, w):
    q = await w.question()
    return await c.delete(f"/api/v1/posts/{q.id}", headers=h)


async def _undelete(c, h, w):
    q = await w.question()
    await posts.delete(w.mod, q.id, "matrix")
    return await c.post(f"/api/v1/posts/{q.id}/undelete", headers=h, json={})


async def _suspend(c, h, w):
    return await c.post(f"/api/v1/users/{w.target.id}/suspend", headers=h, json={"days": 1, "reason": "matrix test reason"})


async def _log(c, h, w):
    return await c.get("/api/v1/moderation/log", headers=h)


async def _revisions(c, h, w):
    q = await w.question()
    return await c.get(f"/api/v1/posts/{q.id}/revisions", headers=h)


async def _settings_list(c, h, w):
    return await c.get("/api/v1/admin/settings", headers=h)


async def _settings_change(c, h, w):
    w.n += 1
    return await c.patch("/api/v1/admin/settings", headers=h, json={"sla.claim_minutes": 30 + w.n})


async def _console_target(w, role: str = "member") -> User:
    """A fresh member for each console action, so no cell sees another's suspension or role."""
    w.n += 1
    return await member(f"console{w.n}", 1, role)


async def _members_list(c, h, w):
    return await c.get("/api/v1/admin/users?q=console", headers=h)


def _member_patch(body: dict, role: str = "member"):
    async def call(c, h, w):
        return await c.patch(f"/api/v1/admin/users/{(await _console_target(w, role)).id}", headers=h, json=body)

    return call


async def _delivery(c, h, w):
    return await c.get("/api/v1/admin/delivery", headers=h)


async def _delivery_retry(c, h, w):
    return await c.post("/api/v1/admin/delivery/retry", headers=h, json={"outbox": "mail"})


async def _clear_bounce(c, h, w):
    target = await _console_target(w)
    await User.filter(id=target.id).update(email_bouncing_at=clock.now(), email_bounce_reason="550 no such mailbox")
    return await c.delete(f"/api/v1/admin/bounces/{target.id}", headers=h)


async def _spam_decide(c, h, w):
    """Release a post the spam triage held (issue 15): moderators only, whatever the reputation."""
    w.n += 1
    q = await questions.ask(await member(f"spammer{w.n}", 1), f"Unlock any phone today, offer {w.n}",
                            "Unlock any carrier today at https://bit.ly/unlock-now and cheap-unlocks.example.net", "unlock")
    item = await ReviewItem.get(post_id=q.id, queue="spam")
    return await c.post(f"/api/v1/review/{item.id}", headers=h, json={"decision": "release"})


async def _spam_weekly(c, h, w):
    return await c.get("/api/v1/review/spam/weekly", headers=h)


def _page(path: Callable[[Post, "World"], str]):
    async def call(c, h, w):
        q = await w.question()
        return await c.get(path(q, w), headers=h)

    return call


#                                              anon  new  below above  mod  staff admin
ROWS = [
    Row("POST flags", 15, "flag posts", (401, 403, 403, 201, 201, 403, 201), _flag),
    Row("GET review", 500, "access review queues", (401, 403, 403, 200, 200, 403, 200), _review_list),
    Row("POST review decision", 500, "access review queues", (401, 403, 403, 200, 200, 403, 200), _review_decide),
    Row("POST close", 3000, "cast close and reopen votes", (401, 403, 403, 200, 200, 403, 200), _close),
    Row("POST reopen", 3000, "cast close and reopen votes", (401, 403, 403, 200, 200, 403, 200), _reopen),
    Row("PATCH post (suggest below 2000)", 2000, None, (401, 202, 202, 200, 200, 202, 200), _edit),
    Row("POST rollback", 2000, "edit any post", (401, 403, 403, 200, 200, 403, 200), _rollback),
    Row("POST lock", 10000, "moderator tools", (401, 403, 403, 200, 200, 403, 200), _lock),
    Row("DELETE post", 10000, "moderator tools", (401, 403, 403, 200, 200, 403, 200), _delete),
    Row("POST undelete", 10000, "moderator tools", (401, 403, 403, 200, 200, 403, 200), _undelete),
    Row("POST suspend (moderators only)", 10000, None, (401, 403, 403, 403, 200, 403, 200), _suspend),
    Row("GET moderation log (moderators only)", 10000, None, (401, 403, 403, 403, 200, 403, 200), _log),
    Row("GET revisions (public)", 15, None, (200, 200, 200, 200, 200, 200, 200), _revisions),
    # Pages: anonymous visitors are sent to log in (303).
    Row("page /review", 500, "access review queues", (303, 403, 403, 200, 200, 403, 200), _page(lambda q, w: "/review")),
    Row("page flag form", 15, "flag posts", (303, 403, 403, 200, 200, 403, 200), _page(lambda q, w: f"/posts/{q.id}/flag")),
    Row("page close form", 3000, "cast close and reopen votes", (303, 403, 403, 200, 200, 403, 200),
        _page(lambda q, w: f"/questions/{q.id}/close")),
    Row("page moderation tools", 10000, "moderator tools", (303, 403, 403, 200, 200, 403, 200),
        _page(lambda q, w: f"/posts/{q.id}/moderate")),
    Row("page suspend form", 10000, None, (303, 403, 403, 403, 200, 403, 200), _page(lambda q, w: f"/users/{w.target.id}/suspend")),
    Row("page moderation log", 10000, None, (303, 403, 403, 403, 200, 403, 200), _page(lambda q, w: "/moderation/log")),
    Row("page revisions (public)", 15, None, (200, 200, 200, 200, 200, 200, 200), _page(lambda q, w: f"/posts/{q.id}/revisions")),
    # The admin console (issue 15): its front page for moderators and admins, its settings for admins.
    Row("GET admin settings (admins only)", 10000, None, (401, 403, 403, 403, 403, 403, 200), _settings_list),
    Row("PATCH admin settings (admins only)", 10000, None, (401, 403, 403, 403, 403, 403, 200), _settings_change),
    Row("page /admin (moderators and admins)", 10000, None, (303, 403, 403, 403, 200, 403, 200), _page(lambda q, w: "/admin")),
    Row("page /admin/settings (admins only)", 10000, None, (303, 403, 403, 403, 403, 403, 200),
        _page(lambda q, w: "/admin/settings")),
    # The admin console's members (moderators and admins; roles and acting on staff of the forum: admins) and delivery (admins).
    Row("GET admin users (moderators and admins)", 10000, None, (401, 403, 403, 403, 200, 403, 200), _members_list),
    Row("PATCH admin user role (admins only)", 10000, None, (401, 403, 403, 403, 403, 403, 200), _member_patch({"role": "staff"})),
    Row("PATCH admin user suspend", 10000, None, (401, 403, 403, 403, 200, 403, 200),
        _member_patch({"suspend_days": 2, "suspension_reason": "matrix test reason"})),
    Row("PATCH admin user suspend a moderator (admins only)", 10000, None, (401, 403, 403, 403, 403, 403, 200),
        _member_patch({"suspend_days": 2, "suspension_reason": "matrix test reason"}, "moderator")),
    Row("PATCH admin user lift suspension", 10000, None, (401, 403, 403, 403, 409, 403, 409),  # 409: not suspended
        _member_patch({"lift_suspension": True})),
    Row("PATCH admin user end sessions", 10000, None, (401, 403, 403, 403, 200, 403, 200), _member_patch({"end_sessions": True})),
    Row("PATCH admin user end an admin's sessions (admins only)", 10000, None, (401, 403, 403, 403, 403, 403, 200),
        _member_patch({"end_sessions": True}, "admin")),
    Row("PATCH admin user reset link", 10000, None, (401, 403, 403, 403, 409, 403, 409),  # 409: no SMTP_URL in the matrix
        _member_patch({"send_reset": True})),
    Row("GET admin delivery (admins only)", 10000, None, (401, 403, 403, 403, 403, 403, 200), _delivery),
    Row("POST admin delivery retry (admins only)", 10000, None, (401, 403, 403, 403, 403, 403, 200), _delivery_retry),
    Row("DELETE admin bounce (admins only)", 10000, None, (401, 403, 403, 403, 403, 403, 200), _clear_bounce),
    Row("page /admin/members", 10000, None, (303, 403, 403, 403, 200, 403, 200), _page(lambda q, w: "/admin/members?q=a")),
    Row("page /admin/members/{id}", 10000, None, (303, 403, 403, 403, 200, 403, 200),
        _page(lambda q, w: f"/admin/members/{w.target.id}")),
    Row("page /admin/delivery (admins only)", 10000, None, (303, 403, 403, 403, 403, 403, 200), _page(lambda q, w: "/admin/delivery")),
    Row("page /account/sign-in (members)", 1, None, (303, 200, 200, 200, 200, 200, 200), _page(lambda q, w: "/account/sign-in")),
    # The spam triage (issue 15): the Suspected spam queue and its figures are for moderators only.
    Row("POST review decision on suspected spam (moderators)", 500, None, (401, 403, 403, 403, 200, 403, 200), _spam_decide),
    Row("GET spam weekly figures (moderators)", 10000, None, (401, 403, 403, 403, 200, 403, 200), _spam_weekly),
    Row("page /review/spam (moderators)", 10000, None, (303, 403, 403, 403, 200, 403, 200), _page(lambda q, w: "/review/spam")),
    Row("page /review/spam/weekly (moderators)", 10000, None, (303, 403, 403, 403, 200, 403, 200),
        _page(lambda q, w: "/review/spam/weekly")),
]


async def test_every_cell_of_the_matrix(database, client):
    # The owner posts the same question again and again, which the spam triage would rightly hold.
    settings.override("spam.check_below_rep", 20)
    w = World()
    w.owner = await member("owner", 20)
    w.flagger = await member("flagger", 15)
    w.mod = await member("themod", 1, "moderator")
    w.target = await member("target", 1)
    failures: list[str] = []
    cells, tokens = 0, {}
    for row in ROWS:
        for persona, want in zip(PERSONAS, row.expected, strict=True):
            r = await row.call(client, await headers_for(persona, row.threshold, tokens), w)
            cells += 1
            if r.status_code != want:
                failures.append(f"{row.name} as {persona}: got {r.status_code}, want {want}: {r.text[:200]}")
            elif want == 403 and row.privilege and row.name.startswith(("POST", "GET", "DELETE", "PATCH")):
                message = r.json()["error"]["message"]
                if row.privilege not in message or str(row.threshold) not in message:
                    failures.append(f"{row.name} as {persona}: 403 does not name the privilege and reputation: {message}")
            elif want == 403 and row.privilege and row.privilege not in r.text:
                failures.append(f"{row.name} as {persona}: the 403 page does not name the privilege")
            elif want == 303 and not r.headers["location"].startswith("/login"):
                failures.append(f"{row.name} as {persona}: redirected to {r.headers['location']}, not to log in")
    assert not failures, "\n".join(failures)
    assert cells == len(ROWS) * len(PERSONAS)


async def test_suspended_members_hold_no_privileges(database, client):
    w = World()
    w.owner = await member("owner", 20)
    voter = await member("voter", 5000)
    await User.filter(id=voter.id).update(suspended_until=clock.now().replace(year=clock.now().year + 1),
                                          suspension_reason="matrix suspension")
    h = {"Authorization": f"Bearer {await accounts.issue_token(voter)}"}
    for call in (_flag, _close, _review_list, _edit):
        r = await call(client, h, w)
        assert r.status_code == 403 and "matrix suspension" in r.json()["error"]["message"], (call.__name__, r.text)
