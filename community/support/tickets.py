"""Support tickets: escalating a question by hand, and the agent's work on it (claim, release,
reassign, reply, notes, resolve), with its own SLAs and a history of every change.

Every change runs in one transaction with its history row, its notifications and its webhook
event. A claim is one conditional UPDATE (`... WHERE assignee_id IS NULL`), so of two agents
claiming at once exactly one wins and the other is told who has it.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q

from community import clock, db, events, model_rows, privileges, questions
from community.errors import Conflict, Invalid, NotAllowed, NotFound
from community.models import Post, User
from community.notifications import notify
from community.support import policy, webhooks
from community.support.models import Ticket, TicketEvent, TicketNote

ACTIVE = ("open", "claimed")
# What an agent may choose when resolving; the system also records "closed" (moderation closed
# the question) and "de_escalated" (a moderator or agent took it off the queue by hand).
RESOLUTIONS = {
    "answered_by_staff": "Answered by staff",
    "answered_by_community": "Answered by the community",
    "duplicate": "Duplicate",
    "no_response": "No response from the customer",
}
SYSTEM_RESOLUTIONS = {"closed": "Question closed", "de_escalated": "De-escalated"}
# How a ticket came to the desk, and its history's actions, as the ticket page says them.
SOURCE_TITLES = {"sla": "no answer within the SLA", "asker": "the customer asked for an agent", "staff": "by staff",
                 "moderator": "by a moderator"}
HISTORY_TITLES = {
    "escalated": "Escalated", "reopened": "Escalated again", "claimed": "Claimed", "released": "Released",
    "reassigned": "Reassigned", "noted": "Added a note", "resolved": "Resolved", "de_escalated": "Taken off the queue",
    "replied": "Official reply", "community_answered": "A community member answered",
}
REASON_MAX = 500
NOTE_MAX = 5000
USERNAME_MAX = User._meta.fields_map["username"].max_length  # a longer name names nobody (and the ORM refuses to look it up)
PAGE_SIZE = 50


def resolution_title(value: str | None) -> str:
    return RESOLUTIONS.get(value or "", SYSTEM_RESOLUTIONS.get(value or "", value or ""))


# ---- reading -----------------------------------------------------------------------------------

def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def breaches(t: Ticket, now: datetime | None = None) -> dict[str, bool]:
    """The ticket's own SLAs: claimed in time, first staff reply in time (a pending one counts
    as breached once its deadline has passed)."""
    now = now or clock.now()
    claim_at = t.claimed_at or (now if t.state != "resolved" else None)
    reply_at = t.first_reply_at or (now if t.state != "resolved" else None)
    return {"claim": claim_at is not None and claim_at > t.claim_due_at,
            "first_reply": reply_at is not None and reply_at > t.reply_due_at}


def _whole_minutes(seconds: float) -> int:
    return max(0, int(seconds // 60))


def wait(t: Ticket, now: datetime | None = None) -> tuple[str, int]:
    """What the desk says of a ticket's wait, in minutes: ("answered", after how long the first staff
    reply came, fixed once it has come), ("waiting", past its SLA), ("due", in how long), or ("resolved", 0)."""
    if t.first_reply_at is not None:
        return "answered", _whole_minutes((t.first_reply_at - t.escalated_at).total_seconds())
    if t.state == "resolved":
        return "resolved", 0
    now = now or clock.now()
    past = (now - t.due_at).total_seconds()
    return ("waiting", _whole_minutes(past)) if past >= 0 else ("due", _whole_minutes(-past) + (1 if -past % 60 else 0))


def _user(u: User | None) -> dict | None:
    return {"id": u.id, "username": u.username} if u is not None else None


def ticket_json(t: Ticket, now: datetime | None = None) -> dict[str, Any]:
    """A ticket as the API and the webhook show it (needs `question` and `assignee` fetched)."""
    q: Post = t.question
    return {
        "id": t.id, "question_id": t.question_id, "state": t.state, "source": t.source, "reason": t.reason,
        "title": q.title, "tags": q.tag_names.split() if q.tag_names else [],
        "url": f"/questions/{t.question_id}",
        "assignee": _user(t.assignee) if t.assignee_id else None,
        "escalated_at": _iso(t.escalated_at), "sla_breached_at": _iso(t.sla_breached_at), "due_at": _iso(t.due_at),
        "claimed_at": _iso(t.claimed_at), "claim_due_at": _iso(t.claim_due_at),
        "first_reply_at": _iso(t.first_reply_at), "reply_due_at": _iso(t.reply_due_at),
        "community_answer": ({"id": t.community_answer_id, "at": _iso(t.community_answer_at)}
                             if t.community_answer_id else None),
        "resolution": t.resolution, "resolved_at": _iso(t.resolved_at),
        "breaches": breaches(t, now),
        "wait": dict(zip(("kind", "minutes"), wait(t, now))),
    }


async def load(ticket_id: Any, conn: Any = None) -> Ticket:
    try:
        tid = int(ticket_id)
    except (TypeError, ValueError):
        raise NotFound("There is no ticket with that number.") from None
    t = await Ticket.filter(id=tid).using_db(conn).select_related("question", "assignee").first() if -2**31 < tid < 2**31 else None
    if t is None:
        raise NotFound("There is no ticket with that number.")
    return t


async def _record(t: Ticket, actor: User | None, action: str, detail: str, conn: Any, event: str | None = None) -> None:
    """History row, and the helpdesk event when the change is one a mirror needs."""
    await TicketEvent.create(ticket_id=t.id, actor_id=actor.id if actor else None, action=action, detail=detail[:1000],
                             at=clock.now(), using_db=conn)
    if event:
        fresh = await load(t.id, conn)
        await webhooks.enqueue(event, ticket_json(fresh), conn)


async def escalation_for(question_ids: list[int]) -> dict[int, Ticket]:
    """The tickets of these questions (with their agent), for threads and question JSON."""
    if not question_ids:
        return {}
    # Plain SQL built into the same objects (community/model_rows.py): a list page asks this for 20
    # questions that nearly never have a ticket, and a queryset cost more than the statement.
    marks = ", ".join("?" * len(question_ids))
    rows = await db.fetch(f'SELECT {model_rows.columns(Ticket, "t")}, {model_rows.columns(User, "u", related=True)} '
                          f'FROM support_ticket t LEFT JOIN "user" u ON u.id = t.assignee_id WHERE t.question_id IN ({marks})',
                          list(question_ids))
    found = (model_rows.build(Ticket, row, "assignee", User) for row in rows)
    return {t.question_id: t for t in found}


@dataclass(frozen=True)
class TicketBrief:
    """What a thread page shows of a ticket: one plain query, once per content generation."""

    id: int
    state: str
    assignee: SimpleNamespace | None  # username, and name: what the customer reads (display name or username)
    resolution: str | None = None
    staff_answered: bool = False  # an Official support answer is in the thread


async def thread_ticket(question_id: int) -> TicketBrief | None:
    rows = await db.fetch(
        'SELECT t.id, t.state, t.resolution, u.username, u.display_name, '
        "(SELECT COUNT(*) FROM post a WHERE a.question_id = t.question_id AND a.official AND a.deleted_at IS NULL) AS official "
        'FROM support_ticket t LEFT JOIN "user" u ON u.id = t.assignee_id WHERE t.question_id = ?',
        [question_id],
    )
    if not rows:
        return None
    r = rows[0]
    agent = SimpleNamespace(username=r["username"], name=r["display_name"] or r["username"]) if r["username"] else None
    return TicketBrief(r["id"], r["state"], agent, r["resolution"], int(r["official"]) > 0)


def escalation_json(t: Ticket | None) -> dict | None:
    if t is None:
        return None
    return {"ticket_id": t.id, "state": t.state, "escalated_at": _iso(t.escalated_at),
            "assignee": _user(t.assignee) if t.assignee_id else None}


def _truthy(value: Any) -> bool:
    return str(value or "").strip().lower() in {"1", "true", "yes", "on"}


def _cursor(t: Ticket) -> str:
    raw = json.dumps([t.due_at.isoformat(), t.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, int]:
    try:
        when, tid = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        due = datetime.fromisoformat(when)
        # Only what _cursor writes: a ticket id the database can compare with, a time with its zone.
        if type(tid) is not int or not 0 < tid < 2**31 or due.tzinfo is None or not 1970 <= due.year <= 9000:
            raise ValueError(cursor)
        return due, tid
    except Exception:
        raise Invalid("cursor", "That page link is broken; go back to the first page.") from None


def breached_filter(now: datetime) -> Q:
    return (Q(claimed_at=None, claim_due_at__lte=now) | Q(claimed_at__gt=F("claim_due_at"))
            | Q(first_reply_at=None, reply_due_at__lte=now) | Q(first_reply_at__gt=F("reply_due_at")))


async def list_tickets(viewer: User | None, state: Any = None, mine: Any = None, breached: Any = None,
                       tag: Any = None, unclaimed: Any = None, cursor: Any = None,
                       limit: int = PAGE_SIZE) -> tuple[list[Ticket], str | None]:
    """The desk's queue, most urgent (longest past its SLA) first."""
    viewer = privileges.require_staff(viewer)
    now = clock.now()
    qs = Ticket.all()
    if state in (None, "", "active"):
        qs = qs.filter(state__in=ACTIVE)
    elif state in ("open", "claimed", "resolved"):
        qs = qs.filter(state=state)
    else:
        raise Invalid("state", "Choose state open, claimed or resolved (or leave it out for every unresolved ticket).")
    if _truthy(unclaimed):
        qs = qs.filter(assignee_id=None)
    if _truthy(mine):
        qs = qs.filter(assignee_id=viewer.id)
    if _truthy(breached):
        qs = qs.filter(breached_filter(now))
    if tag:
        if not isinstance(tag, str) or not questions.TAG_RE.match(tag):
            raise Invalid("tag", "That is not a valid tag name.")
        qs = qs.filter(Q(question__tag_names=tag) | Q(question__tag_names__startswith=f"{tag} ")
                       | Q(question__tag_names__endswith=f" {tag}") | Q(question__tag_names__contains=f" {tag} "))
    if cursor:
        if not isinstance(cursor, str):
            raise Invalid("cursor", "That page link is broken; go back to the first page.")
        when, tid = _decode(cursor)
        qs = qs.filter(Q(due_at__gt=when) | Q(due_at=when, id__gt=tid))
    rows = await qs.order_by("due_at", "id").limit(limit + 1).select_related("question", "assignee")
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = _cursor(rows[-1])
    return rows, next_cursor


async def desk_counts(viewer: User) -> dict[str, int]:
    """Headline figures for the desk: what waits, and how many ticket SLAs are broken."""
    now = clock.now()
    active = Ticket.filter(state__in=ACTIVE)
    return {
        "open": await Ticket.filter(state="open").count(),
        "claimed": await Ticket.filter(state="claimed").count(),
        "mine": await Ticket.filter(state__in=ACTIVE, assignee_id=viewer.id).count(),
        "breached": await active.filter(breached_filter(now)).count(),
        "claim_breaches": await Ticket.filter(Q(claimed_at=None, state="open", claim_due_at__lte=now)
                                              | Q(claimed_at__gt=F("claim_due_at"))).count(),
        "reply_breaches": await Ticket.filter(Q(first_reply_at=None, state__in=ACTIVE, reply_due_at__lte=now)
                                              | Q(first_reply_at__gt=F("reply_due_at"))).count(),
    }


async def ticket_detail(viewer: User | None, ticket_id: Any) -> dict[str, Any]:
    """A ticket with its history and internal notes (staff only)."""
    privileges.require_staff(viewer)
    t = await load(ticket_id)
    history = await TicketEvent.filter(ticket_id=t.id).order_by("id").select_related("actor")
    notes = await TicketNote.filter(ticket_id=t.id).order_by("id").select_related("author")
    data = ticket_json(t)
    data["history"] = [{"action": e.action, "detail": e.detail, "at": _iso(e.at), "actor": _user(e.actor) if e.actor_id else None}
                       for e in history]
    data["notes"] = [{"id": n.id, "body": n.body, "created_at": _iso(n.created_at), "author": _user(n.author) if n.author_id else None}
                     for n in notes]
    return data


# ---- escalating by hand ------------------------------------------------------------------------

def _reason(value: Any, required: bool) -> str:
    if value is not None and not isinstance(value, str):
        raise Invalid("reason", "The reason must be text.")
    text = " ".join((value or "").split())
    if required and len(text) < 3:
        raise Invalid("reason", "Say briefly why, so the next person understands (at least 3 characters).")
    if len(text) > REASON_MAX:
        raise Invalid("reason", f"Keep the reason to {REASON_MAX} characters (it has {len(text)}).")
    return text


def escalation_blocker(q: Post) -> str | None:
    """Why this question may not go to support at all, if it may not."""
    if q.deleted_at is not None or q.hidden:
        return "This question was removed, so it cannot go to the support team."
    if q.closed_reason:
        return "This question is closed, so it cannot go to the support team."
    return None


def asker_may_ask_from(q: Post, pol: policy.Policy | None = None) -> datetime:
    """When the asker may ask for an agent: once the question is older than its SLA."""
    pol = pol or policy.current()
    return pol.first_answer_deadline(q.created_at, q.tag_names.split())


def new_ticket_times(pol: policy.Policy, now: datetime) -> dict[str, datetime]:
    return {"claim_due_at": pol.after(now, pol.claim_seconds), "reply_due_at": pol.after(now, pol.first_reply_seconds)}


async def escalate(user: User | None, question_id: Any, reason: Any = None) -> Ticket:
    """The asker asks for an agent (once the question is older than its SLA and unsolved), or a
    moderator or agent escalates any open question with a reason. A resolved ticket is reopened."""
    user = privileges.require_active(user)
    pol, now = policy.current(), clock.now()
    try:
        async with db.transaction() as conn:
            q = await questions.get_question(question_id, user, conn)
            if user.is_staff:
                source = "staff"
            elif user.is_moderator:
                source = "moderator"
            elif user.id == q.author_id:
                source = "asker"
            else:
                raise NotAllowed("Only the person who asked, moderators and support staff can ask for an agent.")
            text = _reason(reason, required=source != "asker")
            blocker = escalation_blocker(q)
            if blocker:
                raise NotAllowed(blocker)
            if source == "asker":
                if q.state == "solved":
                    raise NotAllowed("Your question is solved, so it does not need an agent.")
                ready = asker_may_ask_from(q, pol)
                if now < ready:
                    raise NotAllowed(f"The community has until {ready:%Y-%m-%d %H:%M} UTC to answer first; "
                                     "after that you can ask for an agent.")
            times = new_ticket_times(pol, now)
            t = await Ticket.filter(question_id=q.id).using_db(conn).select_for_update().first()
            if t is not None and t.state in ACTIVE:
                raise Conflict(f"Our support team already has this question (ticket {t.id}).")
            if t is None:
                t = await Ticket.create(question_id=q.id, state="open", source=source, reason=text, escalated_by_id=user.id,
                                        escalated_at=now, due_at=now, updated_at=now, using_db=conn, **times)
                action = "escalated"
            else:
                await Ticket.filter(id=t.id).using_db(conn).update(
                    state="open", source=source, reason=text, escalated_by_id=user.id, escalated_at=now, due_at=now,
                    assignee_id=None, claimed_at=None, first_reply_at=None, community_answer_id=None,
                    community_answer_at=None, resolution=None, resolved_at=None, resolved_by_id=None, updated_at=now, **times)
                action = "reopened"
            who = {"asker": "The asker asked for an agent", "staff": "Escalated by staff", "moderator": "Escalated by a moderator"}[source]
            await _record(t, user, action, f"{who}: {text}" if text else who, conn, "escalated")
            await notify(q.author_id, "escalated", f"Your question was passed to our support team: {q.title}",
                         f"/questions/{q.id}", conn, skip=user.id, question_id=q.id, post_id=q.id)
    except IntegrityError:
        raise Conflict("Our support team already has this question.") from None
    await questions.bump_generation()
    return await load(t.id)


async def de_escalate(user: User | None, question_id: Any, reason: Any) -> Ticket:
    """A moderator or agent takes a question off the support queue, saying why."""
    user = privileges.require_active(user)
    if not (user.is_staff or user.is_moderator):
        raise NotAllowed("Only moderators and support staff can take a question off the support queue.")
    text = _reason(reason, required=True)
    async with db.transaction() as conn:
        q = await questions.get_question(question_id, user, conn)
        t = await Ticket.filter(question_id=q.id, state__in=ACTIVE).using_db(conn).select_for_update().first()
        if t is None:
            raise Conflict("This question is not with the support team.")
        await _finish(t, user, "de_escalated", conn, "de_escalated", f"De-escalated: {text}")
    await questions.bump_generation()
    return await load(t.id)


# ---- the agent's work --------------------------------------------------------------------------

async def _holder_conflict(t: Ticket, conn: Any) -> Conflict:
    holder = await User.filter(id=t.assignee_id).using_db(conn).first() if t.assignee_id else None
    name = holder.username if holder else "another agent"
    return Conflict(f"{name} has already claimed this ticket.", "assignee")


async def claim(user: User | None, ticket_id: Any) -> Ticket:
    user = privileges.require_agent(user)
    t = await load(ticket_id)
    now = clock.now()
    async with db.transaction() as conn:
        # One conditional UPDATE: the database, not luck, decides which of two agents wins.
        won = await db.execute(
            "UPDATE support_ticket SET state = 'claimed', assignee_id = ?, claimed_at = COALESCE(claimed_at, ?), "
            "updated_at = ? WHERE id = ? AND assignee_id IS NULL AND state = 'open'",
            [user.id, now, now, t.id], conn)
        if not won:
            current = await load(t.id, conn)
            if current.assignee_id == user.id and current.state == "claimed":
                return current
            if current.state == "resolved":
                raise Conflict("This ticket is already resolved.")
            raise await _holder_conflict(current, conn)
        await _record(t, user, "claimed", "", conn, "claimed")
    await questions.bump_generation()
    return await load(t.id)


async def release(user: User | None, ticket_id: Any) -> Ticket:
    """The agent hands the ticket back to the queue (an admin may release anyone's)."""
    user = privileges.require_agent(user)
    async with db.transaction() as conn:
        t = await load(ticket_id, conn)
        if t.state != "claimed":
            raise Conflict("Only a claimed ticket can be released.")
        if t.assignee_id != user.id and not privileges.is_lead(user):
            raise NotAllowed(f"{t.assignee.username if t.assignee else 'Another agent'} has this ticket; only they or a lead can release it.")
        won = await Ticket.filter(id=t.id, state="claimed", assignee_id=t.assignee_id).using_db(conn).update(
            state="open", assignee_id=None, updated_at=clock.now())
        if not won:
            raise Conflict("The ticket changed meanwhile; reload and try again.")
        await _record(t, user, "released", f"released by {user.username}" if t.assignee_id != user.id else "", conn, "released")
    await questions.bump_generation()
    return await load(t.id)


async def reassign(user: User | None, ticket_id: Any, to: Any) -> Ticket:
    """A lead (an admin) gives the ticket to another agent."""
    user = privileges.require_agent(user)
    if not privileges.is_lead(user):
        raise NotAllowed("Only a lead (an admin) can reassign tickets; you can release yours.")
    target: User | None = None
    if isinstance(to, str) and 0 < len(to.strip()) <= USERNAME_MAX:
        target = await User.filter(username=to.strip()).first()
    elif isinstance(to, int) and not isinstance(to, bool) and -2**31 < to < 2**31:
        target = await User.filter(id=to).first()
    if target is None or not target.is_staff:
        raise Invalid("assignee", "Give the username of a support agent.")
    now = clock.now()
    async with db.transaction() as conn:
        t = await load(ticket_id, conn)
        if t.state == "resolved":
            raise Conflict("This ticket is resolved; reopen it by escalating the question again.")
        if t.assignee_id == target.id:
            return t
        before = t.assignee.username if t.assignee else "nobody"
        await db.execute("UPDATE support_ticket SET state = 'claimed', assignee_id = ?, claimed_at = COALESCE(claimed_at, ?), "
                         "updated_at = ? WHERE id = ?", [target.id, now, now, t.id], conn)
        await _record(t, user, "reassigned", f"from {before} to {target.username}", conn, "assigned")
        await notify(target.id, "ticket_assigned", f"{user.username} assigned you a support ticket: {t.question.title}",
                     f"/support/tickets/{t.id}", conn, skip=user.id, question_id=t.question_id, post_id=t.question_id)
    await questions.bump_generation()
    return await load(t.id)


async def reply(user: User | None, ticket_id: Any, body: Any) -> Post:
    """Post an "Official support" answer in the public thread. An unclaimed ticket is claimed for
    the agent first; the answer's own event (answer_posted) records the reply on the ticket."""
    user = privileges.require_agent(user)
    text = questions.check_body(body, questions.ANSWER_MIN)
    t = await load(ticket_id)
    if t.state == "resolved":
        raise Conflict("This ticket is resolved; reopen it by escalating the question before replying.")
    if t.assignee_id is None:
        t = await claim(user, t.id)
    elif t.assignee_id != user.id and not privileges.is_lead(user):
        raise Conflict(f"{t.assignee.username if t.assignee else 'Another agent'} has this ticket; ask them or a lead.", "assignee")
    return await questions.answer(user, t.question_id, text, official=True)


async def add_note(user: User | None, ticket_id: Any, body: Any) -> TicketNote:
    """An internal note: any agent may add one to any ticket, held by them or not (the way
    colleagues chip in on a help desk); only suspended agents may not."""
    user = privileges.require_agent(user)
    if not isinstance(body, str) or not body.strip():
        raise Invalid("body", "Write the note first.")
    text = body.strip()
    if len(text) > NOTE_MAX:
        raise Invalid("body", f"Keep notes to {NOTE_MAX} characters (this one has {len(text)}).")
    t = await load(ticket_id)
    async with db.transaction() as conn:
        note = await TicketNote.create(ticket_id=t.id, author_id=user.id, body=text, created_at=clock.now(), using_db=conn)
        await _record(t, user, "noted", "", conn)
    await note.fetch_related("author")
    return note


async def _finish(t: Ticket, actor: User | None, resolution: str, conn: Any, action: str = "resolved", detail: str = "") -> None:
    now = clock.now()
    won = await Ticket.filter(id=t.id, state__in=ACTIVE).using_db(conn).update(
        state="resolved", resolution=resolution, resolved_at=now, resolved_by_id=actor.id if actor else None, updated_at=now)
    if won:
        await _record(t, actor, action, detail or resolution_title(resolution), conn, "resolved")


async def resolve(user: User | None, ticket_id: Any, resolution: Any) -> Ticket:
    """Resolve an unclaimed ticket or one's own; another agent's needs a lead, or their release first."""
    user = privileges.require_agent(user)
    if not isinstance(resolution, str) or resolution not in RESOLUTIONS:
        raise Invalid("resolution", "Choose a resolution: " + ", ".join(RESOLUTIONS) + ".")
    async with db.transaction() as conn:
        t = await resolve_in(user, ticket_id, resolution, conn)
    await questions.bump_generation()
    return await load(t.id)


async def resolve_in(user: User, ticket_id: Any, resolution: str, conn: Any, detail: str = "") -> Ticket:
    """`resolve`'s rules and change inside the caller's transaction (an agent checked by the caller)."""
    t = await load(ticket_id, conn)
    if t.state == "resolved":
        raise Conflict(f"This ticket is already resolved ({resolution_title(t.resolution)}).")
    if t.assignee_id is not None and t.assignee_id != user.id and not privileges.is_lead(user):
        raise NotAllowed(f"{t.assignee.username if t.assignee else 'Another agent'} holds this ticket; "
                         "ask them to release it, or a lead can resolve it.")
    # Still held by whom it was checked against: a claim made meanwhile waits for this row, then loses.
    if not await Ticket.filter(id=t.id, state__in=ACTIVE, assignee_id=t.assignee_id).using_db(conn).update(updated_at=clock.now()):
        raise Conflict("The ticket changed meanwhile; reload and try again.")
    await _finish(t, user, resolution, conn, "resolved", detail)
    return t


# ---- reacting to the forum ---------------------------------------------------------------------

async def on_answer_posted(question: Post, answer: Post, conn: Any) -> None:
    t = await Ticket.filter(question_id=question.id, state__in=ACTIVE).using_db(conn).first()
    if t is None:
        return
    now = clock.now()
    if answer.official:
        if t.first_reply_at is None:
            await Ticket.filter(id=t.id).using_db(conn).update(first_reply_at=now, updated_at=now)
        author = await User.filter(id=answer.author_id).using_db(conn).first()
        await _record(t, author, "replied", f"answer {answer.id}", conn, "replied")
    elif (answer.author_id != question.author_id and t.first_reply_at is None and t.community_answer_id is None
          and not answer.hidden and answer.deleted_at is None):  # a held answer is no answer yet
        await Ticket.filter(id=t.id).using_db(conn).update(community_answer_id=answer.id, community_answer_at=now, updated_at=now)
        author = await User.filter(id=answer.author_id).using_db(conn).first() if answer.author_id else None
        await _record(t, author, "community_answered", f"answer {answer.id}", conn)


async def on_visibility_changed(post: Post, conn: Any) -> None:
    """An answer held as spam, hidden or deleted stops being the ticket's community answer (the first
    other visible one takes its place); one shown again counts as it would have when it was posted."""
    if post.is_question:
        return
    t = await Ticket.filter(question_id=post.question_id, state__in=ACTIVE).using_db(conn).first()
    if t is None or t.first_reply_at is not None:
        return
    shown = not post.hidden and post.deleted_at is None
    if shown and t.community_answer_id is None and not post.official:
        question = await Post.get(id=post.question_id).using_db(conn)
        await on_answer_posted(question, post, conn)
    elif not shown and t.community_answer_id == post.id:
        question = await Post.get(id=post.question_id).using_db(conn)
        other = await (Post.filter(question_id=question.id, kind="answer", hidden=False, deleted_at=None, official=False,
                                   created_at__gte=t.escalated_at).exclude(id=post.id)
                       .exclude(author_id=question.author_id).using_db(conn).order_by("created_at", "id").first())
        await Ticket.filter(id=t.id).using_db(conn).update(
            community_answer_id=other.id if other else None, community_answer_at=other.created_at if other else None,
            updated_at=clock.now())


async def on_answer_accepted(question: Post, answer: Post, by: User, conn: Any) -> None:
    t = await Ticket.filter(question_id=question.id, state__in=ACTIVE).using_db(conn).first()
    if t is None:
        return
    resolution = "answered_by_staff" if answer.official else "answered_by_community"
    await _finish(t, by, resolution, conn, "resolved", f"{resolution_title(resolution)}: the asker accepted answer {answer.id}")


async def on_question_closed(question_id: int, reason: str, conn: Any) -> None:
    """Moderation closed the question: its ticket is resolved as a duplicate, or as closed."""
    t = await Ticket.filter(question_id=question_id, state__in=ACTIVE).using_db(conn).first()
    if t is None:
        return
    from moderation.closing import REASON_TITLES  # the moderation room's words for it, read when it closes one

    resolution = "duplicate" if reason == "duplicate" else "closed"
    await _finish(t, None, resolution, conn, "resolved", f"The question was closed as {REASON_TITLES.get(reason, 'closed')}.")


events.subscribe("answer_posted", on_answer_posted)
events.subscribe("answer_accepted", on_answer_accepted)
events.subscribe("post_visibility_changed", on_visibility_changed)
