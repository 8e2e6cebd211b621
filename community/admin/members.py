"""The admin console's members: find a member by name or email, see how they stand and sign in, and
act on them (role, suspension, a password reset link, ending their sessions) through the services the
rest of the forum uses, each action in the moderation audit log."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.expressions import Q
from tortoise.functions import Max

from community import accounts, clock, db, privileges, questions
from community.errors import Conflict, Invalid, NotAllowed, NotFound
from community.models import ROLES, ApiToken, MemberSession, User, UserIdentity
from moderation import audit
from moderation import members as suspensions

PAGE_SIZE = 25
QUERY_MAX = 100
# The API's field names for what the suspension service calls `days` and `reason`.
SUSPEND_FIELDS = {"days": "suspend_days", "reason": "suspension_reason"}
PATCH_FIELDS = ("role", "suspend_days", "suspension_reason", "lift_suspension", "end_sessions", "send_reset")
STATUS_TITLES = {"active": "Active", "suspended": "Suspended", "deleted": "Deleted", "bouncing": "Address bouncing"}


@dataclass
class MemberRow:
    """One member as the console shows them."""

    user: User
    status: str  # active | suspended | deleted | bouncing (the first that applies, in that order of weight)
    last_seen_at: datetime | None
    sign_in_methods: list[str] = field(default_factory=list)  # "password" and/or OpenID Connect provider names

    @property
    def status_title(self) -> str:
        return STATUS_TITLES[self.status]

    @property
    def role_title(self) -> str:
        return privileges.role_title(self.user.role)


def status_of(user: User, now: datetime) -> str:
    if user.deleted_at is not None:
        return "deleted"
    if user.suspended_until is not None and user.suspended_until > now:
        return "suspended"
    if user.email_bouncing_at is not None:
        return "bouncing"
    return "active"


def _encode_cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([pk]).encode()).decode().rstrip("=")


def _decode_cursor(cursor: Any) -> int:
    try:
        (pk,) = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if isinstance(pk, bool) or not isinstance(pk, int) or not 0 < pk < 2**31:
            raise ValueError(pk)
        return pk
    except Exception:
        raise Invalid("cursor", "That page link is broken; go back to the first page.") from None


def _query(q: Any) -> str:
    if q is None:
        return ""
    if not isinstance(q, str):
        raise Invalid("q", "Search with text: part of a username, a display name or an email address.")
    q = " ".join(q.split())
    if len(q) > QUERY_MAX:
        raise Invalid("q", f"Search with at most {QUERY_MAX} characters (this has {len(q)}).")
    return q


async def _rows(users: list[User]) -> list[MemberRow]:
    """The rows for a page of members: their last sign of life and sign-in methods, three queries in all."""
    ids = [u.id for u in users]
    seen: dict[int, datetime] = {}
    methods: dict[int, list[str]] = {}
    if ids:
        for model, column in ((MemberSession, "last_seen_at"), (ApiToken, "last_used_at")):
            for r in await model.filter(user_id__in=ids).group_by("user_id").annotate(last=Max(column)).values("user_id", "last"):
                when = r["last"]
                if isinstance(when, str):  # SQLite hands an aggregate back as text
                    when = datetime.fromisoformat(when)
                if when is not None and (r["user_id"] not in seen or when > seen[r["user_id"]]):
                    seen[r["user_id"]] = when
        for r in await UserIdentity.filter(user_id__in=ids).order_by("provider").values("user_id", "provider"):
            methods.setdefault(r["user_id"], []).append(r["provider"])
    now = clock.now()
    out = []
    for u in users:
        last = max((t for t in (u.last_seen_at, seen.get(u.id)) if t is not None), default=None)
        ways = (["password"] if u.password_hash else []) + methods.get(u.id, [])
        out.append(MemberRow(u, status_of(u, now), last, ways))
    return out


async def search(viewer: User | None, q: Any = "", cursor: Any = None, limit: int = PAGE_SIZE) -> tuple[list[MemberRow], str | None]:
    """Members whose username, display name or email address contains `q` (any case), newest first;
    returns (rows, the cursor of the next page or None)."""
    privileges.require_moderator(viewer)
    text = _query(q)
    qs = User.all()
    if text:
        qs = qs.filter(Q(username__icontains=text) | Q(display_name__icontains=text) | Q(email__icontains=text))
    if cursor:
        if not isinstance(cursor, str):
            raise Invalid("cursor", "That page link is broken; go back to the first page.")
        qs = qs.filter(id__lt=_decode_cursor(cursor))
    users = await qs.order_by("-id").limit(limit + 1)
    more = len(users) > limit
    users = users[:limit]
    return await _rows(users), (_encode_cursor(users[-1].id) if more and users else None)


async def _member(user_id: Any) -> User:
    if isinstance(user_id, bool):
        user_id = None
    try:
        uid = int(user_id)
    except (TypeError, ValueError):
        raise NotFound("There is no member with that id.") from None
    return await accounts.get_user(uid)


async def member(viewer: User | None, user_id: Any) -> MemberRow:
    privileges.require_moderator(viewer)
    return (await _rows([await _member(user_id)]))[0]


async def audit_entries(viewer: User | None, user_id: int, limit: int = 10) -> list:
    """The latest audit entries about the member, for their console page."""
    rows, _ = await audit.entries(viewer, user_id=user_id, limit=limit)
    return rows


def _not_deleted(member: User) -> None:
    if member.deleted_at is not None:
        raise Conflict("This account was deleted; there is nothing left to change.")


def _check_role(role: Any) -> str:
    if not isinstance(role, str) or role not in ROLES:
        raise Invalid("role", f"Choose one of the roles: {', '.join(privileges.role_title(r) for r in ROLES)}.")
    return role


def _may_change_role(actor: User | None, member: User) -> User:
    actor = privileges.require_admin(actor, "change a member's role")
    if actor.id == member.id:
        raise NotAllowed("You cannot change your own role; ask another admin.")
    return actor


@db.retried
async def change_role(actor: User | None, user_id: Any, role: Any) -> User:
    """An admin gives a member a role; the member's sessions end (they log in again under it)."""
    member = await _member(user_id)
    actor = _may_change_role(actor, member)
    role = _check_role(role)
    _not_deleted(member)
    before = member.role
    if before == role:
        return member
    async with db.transaction() as conn:
        member = await accounts.set_role(member.username, role)
        await audit.record(actor, "role", conn, user_id=member.id,
                           reason=f"{privileges.role_title(before)} → {privileges.role_title(role)}")
    return member


async def suspend(actor: User | None, user_id: Any, days: Any, reason: Any) -> User:
    """The moderation room's suspension, as anywhere else (0 days lifts it)."""
    member = await _member(user_id)
    privileges.require_over(actor, member, "suspend")
    _not_deleted(member)
    return await suspensions.suspend(actor, member.id, days, reason)


async def lift_suspension(actor: User | None, user_id: Any) -> User:
    member = await _member(user_id)
    privileges.require_over(actor, member, "lift the suspension of")
    _suspended(member)
    return await suspensions.suspend(actor, member.id, 0, "")


def _suspended(member: User) -> None:
    if member.suspended_until is None or member.suspended_until <= clock.now():
        raise Conflict(f"{member.username} is not suspended.", "lift_suspension")


def _mail_ready(config: Any) -> None:
    if not config.smtp_url:
        raise Conflict("Mail is not set up on this server (SMTP_URL is empty), so no reset link can be sent.", "send_reset")


@db.retried
async def send_reset(actor: User | None, user_id: Any, config: Any) -> User:
    """Queue the same password reset mail a member gets from "Forgot your password?"."""
    member = await _member(user_id)
    actor = privileges.require_over(actor, member, "send a reset link to")
    _not_deleted(member)
    _mail_ready(config)
    async with db.transaction() as conn:
        await accounts.request_reset(member.username, config.ensure_secret(), config.base_url)
        await audit.record(actor, "reset_link", conn, user_id=member.id, reason=f"to {member.email}")
    return member


@db.retried
async def end_sessions(actor: User | None, user_id: Any) -> tuple[User, int, int]:
    """End every browser session and revoke every API token of a member; returns (member, sessions, tokens)."""
    member = await _member(user_id)
    actor = privileges.require_over(actor, member, "end the sessions of")
    async with db.transaction() as conn:
        ended = await accounts.end_sessions(member.id, conn)
        revoked = await accounts.revoke_tokens(member.id, conn)
        await audit.record(actor, "end_sessions", conn, user_id=member.id,
                           reason=f"{ended} session{'s' if ended != 1 else ''} ended, {revoked} token{'s' if revoked != 1 else ''} revoked")
    await questions.bump_generation()
    return member, ended, revoked


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name)
    if value in (None, False):
        return False
    if value is not True:
        raise Invalid(name, f"{name} takes true (or leave it out).")
    return True


async def update(actor: User | None, user_id: Any, body: Any, config: Any) -> MemberRow:
    """The API's PATCH: any of role, suspend_days with suspension_reason, lift_suspension, end_sessions,
    send_reset. Every value and permission is checked before anything is changed; the suspension (whose
    own rules may still refuse it) comes first, so a refused one leaves the member as they were."""
    actor = privileges.require_moderator(actor)
    if not isinstance(body, dict):
        raise Invalid(None, "Send a JSON object.")
    for name in body:
        if name not in PATCH_FIELDS:
            raise Invalid(name, f"Unknown field {name!r}; change any of: {', '.join(PATCH_FIELDS)}.")
    if not any(body.get(n) not in (None, False) for n in PATCH_FIELDS):
        raise Invalid(None, f"Nothing to change: give any of {', '.join(PATCH_FIELDS)}.")
    member = await _member(user_id)
    lift, end, reset = _flag(body, "lift_suspension"), _flag(body, "end_sessions"), _flag(body, "send_reset")
    suspend_asked = body.get("suspend_days") is not None
    if body.get("role") is not None:
        _may_change_role(actor, member)
        _check_role(body["role"])
    if suspend_asked and lift:
        raise Invalid("lift_suspension", "Either suspend or lift a suspension, not both at once.")
    if body.get("suspension_reason") is not None and not suspend_asked:
        raise Invalid("suspend_days", "Give suspend_days with the suspension_reason.")
    if suspend_asked or lift or end or reset:
        privileges.require_over(actor, member, "act on")
    if lift:
        _suspended(member)
    if reset:
        _mail_ready(config)
    if body.get("role") is not None or suspend_asked or lift or reset:
        _not_deleted(member)
    if suspend_asked:
        days = body["suspend_days"]
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise Invalid("suspend_days", f"Give the number of days as a whole number, 1 to {suspensions.MAX_DAYS}.")
        try:
            await suspend(actor, member.id, days, body.get("suspension_reason"))
        except Invalid as err:
            raise Invalid(SUSPEND_FIELDS.get(err.field or "", err.field), err.message) from None
    if body.get("role") is not None:
        await change_role(actor, member.id, body["role"])
    if lift:
        await lift_suspension(actor, member.id)
    if end:
        await end_sessions(actor, member.id)
    if reset:
        await send_reset(actor, member.id, config)
    return await _rows_for(member.id)


async def _rows_for(user_id: int) -> MemberRow:
    return (await _rows([await accounts.get_user(user_id)]))[0]


def as_json(row: MemberRow, viewer: User) -> dict[str, Any]:
    """A member as the console's API gives them; the email address only to moderators and admins."""
    from community.serialise import iso

    u = row.user
    data: dict[str, Any] = {
        "id": u.id, "username": u.username, "display_name": u.display_name or u.username, "role": u.role,
        "reputation": u.reputation, "status": row.status, "last_seen_at": iso(row.last_seen_at),
        "sign_in_methods": row.sign_in_methods, "created_at": iso(u.created_at),
        "suspended_until": iso(u.suspended_until) if row.status == "suspended" else None,
        "suspension_reason": u.suspension_reason if row.status == "suspended" else "",
        "email_bouncing_at": iso(u.email_bouncing_at), "email_bounce_reason": u.email_bounce_reason,
    }
    if viewer.is_moderator:
        data["email"] = u.email
    return data
