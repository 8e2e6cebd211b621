"""Members: sign-up, log-in with rate limits, API tokens, roles and password resets."""

from __future__ import annotations

import functools
import hashlib
import math
import re
import secrets
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from community import clock, db, inputs, mail, ratelimit, settings
from community.errors import Conflict, Invalid, NotAllowed, NotFound, TooMany
from community.mail_links import ClockSigner
from community.models import ROLES, ApiToken, LoginFailure, MemberSession, User

_hasher = PasswordHasher()
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,30}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
RESET_MAX_AGE = 3600
FAILURE_WINDOW = timedelta(hours=1)  # failed log-ins older than this are forgotten


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _check_new(username: str, email: str, password: str) -> None:
    if not USERNAME_RE.match(username or ""):
        raise Invalid("username", "Choose a username of 3 to 30 letters, digits, dots, dashes or underscores.")
    if username.lower().startswith("deleted-"):  # what deleted accounts are renamed to (community/account_deletion.py)
        raise Invalid("username", "Names starting with “deleted-” are kept for deleted accounts; choose another.")
    if len(email or "") > 254 or not EMAIL_RE.match(email or ""):
        raise Invalid("email", "Enter an email address like name@example.com.")
    _check_password(password)


def _check_password(password: str, field: str = "password") -> None:
    if not isinstance(password, str) or len(password) < 8:
        raise Invalid(field, "Use a password of at least 8 characters.")
    if len(password) > 200:
        raise Invalid(field, "Use a password of at most 200 characters.")


async def sign_up(username: Any, email: Any, password: Any, role: str = "member", *, address: str | None = None) -> User:
    """Create a member; `address` is the client's when the sign-up comes from a request (rate limited)."""
    # A missing field gets the same message as an empty one ("choose a username..."), not "must be text".
    username, email, password = ("" if v is None else v for v in (username, email, password))
    for name, value in (("username", username), ("email", email), ("password", password)):
        if not isinstance(value, str):
            raise Invalid(name, f"The {name} must be text.")
    username, email = username.strip(), email.strip()
    _check_new(username, email, password)
    if role not in ROLES:
        raise Invalid("role", f"Role must be one of: {', '.join(ROLES)}.")
    if await User.filter(username__iexact=username).exists():
        raise Conflict(f"The username {username!r} is taken; please choose another.", "username")
    await ratelimit.spend("signup", None, address)
    try:
        return await User.create(
            username=username, email=email, password_hash=hash_password(password), role=role,
            created_at=clock.now(),
        )
    except IntegrityError:
        raise Conflict(f"The username {username!r} is taken; please choose another.", "username") from None


# Log-in slows down rather than locks. Failures are counted per (account, address) pair, so a
# stranger hammering an account never keeps its owner out from another address; past the free
# failures each further try from that pair must wait (doubling, up to a ceiling) and is answered 429
# without the password being checked. An address failing across many accounts slows down the same
# way, more generously. A success forgets the pair's failures.


@functools.cache
def _dummy_hash() -> str:
    """A hash that no password matches, verified for unknown names so they take as long as known ones."""
    return _hasher.hash(secrets.token_urlsafe(24))


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def _login_wait(failures: list, free: int) -> float:
    """Seconds still to wait after these failures (datetimes) when `free` of them cost nothing."""
    if len(failures) < free or not failures:
        return 0.0
    wait = min(settings.get("limit.login_wait_seconds") * 2 ** (len(failures) - free),
               settings.get("limit.login_max_wait_seconds"))
    return (max(failures) + timedelta(seconds=wait) - clock.now()).total_seconds()


async def authenticate(username: Any, password: Any, ip: str = "") -> User:
    """Check a username and password; repeated failures from one address slow that address down."""
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        raise Invalid("username", "Enter your username and password.")
    name = username.strip()
    pair_key, ip_key = f"pair:{name.lower()[:60]}@{ip[:50]}", f"ip:{ip[:50]}"
    keys = [pair_key, ip_key] if ip else [pair_key]
    rows = await LoginFailure.filter(key__in=keys, at__gte=clock.now() - FAILURE_WINDOW).values_list("key", "at")
    pair = [at for key, at in rows if key == pair_key]
    pair_wait = _login_wait(pair, settings.get("limit.login_failures_per_pair"))
    ip_wait = _login_wait([at for key, at in rows if key == ip_key], settings.get("limit.login_failures_per_address"))
    if max(pair_wait, ip_wait) > 0:
        seconds = max(1, math.ceil(max(pair_wait, ip_wait)))
        whose = "to this account from your address" if pair_wait >= ip_wait else "from your address"
        raise TooMany(f"Too many failed log-ins {whose}. Try again in {ratelimit.in_words(seconds)}, "
                      "or reset your password.", retry_after=seconds)
    user = await User.filter(username__iexact=name).first()
    if not _verify(user.password_hash if user else None, password):
        now = clock.now()
        await LoginFailure.bulk_create([LoginFailure(key=key, at=now) for key in keys])
        if user is not None and not user.password_hash and user.deleted_at is None:
            raise Invalid("password", "This account has no password yet: use 'Forgot your password?' to set one.")
        raise Invalid("password", "That username and password do not match. Check them and try again.")
    if pair:
        await LoginFailure.filter(key=pair_key).delete()
    return user


# API tokens: only a digest is stored; each expires `auth.token_days` after it was issued.

LABEL_MAX = 60


def _label(label: Any) -> str:
    return inputs.one_line("label", label, LABEL_MAX, "label")


async def new_token(user: User, label: Any = None) -> tuple[str, ApiToken]:
    """A new token (the member sees it once) and its row."""
    label = _label(label)
    token, now = secrets.token_urlsafe(32), clock.now()
    row = await ApiToken.create(user=user, digest=_digest(token), created_at=now, label=label,
                                expires_at=now + timedelta(days=settings.get("auth.token_days")))
    return token, row


async def issue_token(user: User, label: Any = None) -> str:
    return (await new_token(user, label))[0]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_expires(row: ApiToken) -> Any:
    """When a token stops working; tokens issued before expiry existed count from their creation."""
    return row.expires_at or row.created_at + timedelta(days=settings.get("auth.token_days"))


def _live_tokens(now: Any) -> Q:
    legacy = Q(expires_at=None, created_at__gt=now - timedelta(days=settings.get("auth.token_days")))
    return Q(Q(expires_at__gt=now) | legacy, revoked_at=None)


async def token_login(token: str) -> tuple[User, int] | None:
    """The member behind a live token, and the token's id; None for unknown, revoked or expired tokens."""
    now = clock.now()
    row = await ApiToken.filter(_live_tokens(now), digest=_digest(token)).select_related("user").first()
    if row is None:
        return None
    # Last use to within a few minutes: a write per token every few minutes, not one per request.
    if row.last_used_at is None or row.last_used_at < now - timedelta(minutes=settings.get("auth.seen_every_minutes")):
        await ApiToken.filter(id=row.id).update(last_used_at=now)
    return row.user, row.id


async def revoke_token(token: str) -> bool:
    return bool(await ApiToken.filter(digest=_digest(token), revoked_at=None).update(revoked_at=clock.now()))


async def tokens(user: User) -> list[ApiToken]:
    """A member's tokens that are not revoked, newest first (expired ones too, so they can be cleared)."""
    return await ApiToken.filter(user_id=user.id, revoked_at=None).order_by("-created_at", "-id")


async def revoke_member_token(user: User, token_id: Any) -> None:
    """Revoke one of the member's own tokens; anyone else's is not found."""
    try:
        tid = int(token_id)
    except (TypeError, ValueError):
        tid = 0
    if not 0 < tid < 2**31 or not await ApiToken.filter(id=tid, user_id=user.id, revoked_at=None).update(revoked_at=clock.now()):
        raise NotFound("You have no token with that id (it may be revoked already).")


async def revoke_tokens(user_id: int, conn: Any = None) -> int:
    """Revoke every token of a member (password change or reset, suspension)."""
    return await ApiToken.filter(user_id=user_id, revoked_at=None).using_db(conn).update(revoked_at=clock.now())


# Browser sessions: the signed cookie carries a session's random key; ending the row ends the session.


async def start_session(user: User, user_agent: str = "") -> str:
    key, now = secrets.token_urlsafe(32), clock.now()
    agent = "".join(ch for ch in user_agent[:200] if ch.isprintable())
    await MemberSession.create(key=key, user_id=user.id, created_at=now, last_seen_at=now, user_agent=agent)
    return key


async def end_session(key: str) -> None:
    await MemberSession.filter(key=key, ended_at=None).update(ended_at=clock.now())


async def end_sessions(user_id: int, conn: Any = None, keep: str | None = None) -> int:
    """End every session of a member, or every one but `keep` (the browser that asked)."""
    qs = MemberSession.filter(user_id=user_id, ended_at=None)
    if keep:
        qs = qs.exclude(key=keep)
    return await qs.using_db(conn).update(ended_at=clock.now())


async def sessions(user: User) -> list[MemberSession]:
    """A member's live sessions, most recently seen first."""
    return await MemberSession.filter(user_id=user.id, ended_at=None).order_by("-last_seen_at", "-id")


async def check_current_password(user: User, current: Any, field: str = "current_password") -> None:
    """Refuse a change to the account (password, email address) unless `current` is the member's password.
    Someone holding a stolen session must not be able to guess their way to it: wrong tries are counted."""
    if not isinstance(current, str) or not current:
        raise Invalid(field, "Enter your current password.")
    key, now, limit = f"change:{user.id}", clock.now(), settings.get("auth.password_change_failures")
    failures = sorted(await LoginFailure.filter(key=key, at__gte=now - FAILURE_WINDOW).values_list("at", flat=True))
    if limit > 0 and len(failures) >= limit:
        wait = max(1, math.ceil((failures[-limit] + FAILURE_WINDOW - now).total_seconds()))
        raise TooMany(f"Too many wrong current passwords. Try again in {ratelimit.in_words(wait)}, "
                      "or log out and reset your password.", retry_after=wait)
    if not _verify(user.password_hash, current):
        await LoginFailure.create(key=key, at=clock.now())
        raise Invalid(field, "That is not your current password. Check it and try again.")


async def change_password(user: User, current: Any, new: Any, keep_session: str | None) -> tuple[int, int]:
    """Change a logged-in member's password: every other session ends and every token is revoked
    (whoever may have learnt the old password keeps nothing). Returns (sessions ended, tokens revoked)."""
    if not isinstance(current, str) or not current:
        raise Invalid("current_password", "Enter your current password.")
    if not isinstance(new, str):
        raise Invalid("new_password", "The new password must be text.")
    _check_password(new, "new_password")
    await check_current_password(user, current)
    async with db.transaction() as conn:
        await User.filter(id=user.id).using_db(conn).update(password_hash=hash_password(new))
        ended = await end_sessions(user.id, conn, keep=keep_session)
        revoked = await revoke_tokens(user.id, conn)
    return ended, revoked


async def set_role(username: str, role: str) -> User:
    if role not in ROLES:
        raise Invalid("role", f"Role must be one of: {', '.join(ROLES)}.")
    user = await User.filter(username=username).first()
    if user is None:
        raise NotFound(f"No member is called {username!r}.")
    if user.role == role:
        return user
    user.role = role
    async with db.transaction() as conn:
        await user.save(update_fields=["role"], using_db=conn)
        await end_sessions(user.id, conn)  # the member logs in again under the new role
    return user


async def get_user(user_id: int) -> User:
    if not -2**31 < user_id < 2**31:  # beyond the id column's range (PostgreSQL refuses to compare)
        raise NotFound("There is no member with that id.")
    user = await User.filter(id=user_id).first()
    if user is None:
        raise NotFound("There is no member with that id.")
    return user


# Password resets: the token carries a fingerprint of the current password hash, so it stops
# working as soon as it has been used (the hash changes) and after RESET_MAX_AGE seconds.


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="password-reset", signer=ClockSigner)


def _fingerprint(user: User) -> str:
    return hashlib.sha256((user.password_hash or f"none:{user.id}:{user.created_at}").encode()).hexdigest()[:16]


def reset_token(user: User, secret: str) -> str:
    return _serializer(secret).dumps({"uid": user.id, "fp": _fingerprint(user)})


def reset_link(user: User, secret: str, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/reset/{reset_token(user, secret)}"


async def user_for_reset(token: str, secret: str) -> User:
    try:
        data = _serializer(secret).loads(token, max_age=RESET_MAX_AGE)
    except SignatureExpired:
        raise NotAllowed("This reset link has expired. Ask for a new one.") from None
    except BadSignature:
        raise NotAllowed("This reset link is not valid. Ask for a new one.") from None
    user = await User.filter(id=data.get("uid")).first() if isinstance(data, dict) else None
    if user is None or data.get("fp") != _fingerprint(user):
        raise NotAllowed("This reset link has already been used. Ask for a new one.")
    return user


async def reset_password(token: str, secret: str, password: Any) -> User:
    user = await user_for_reset(token, secret)
    if not isinstance(password, str):
        raise Invalid("password", "The password must be text.")
    _check_password(password)
    user.password_hash = hash_password(password)
    async with db.transaction() as conn:
        await user.save(update_fields=["password_hash"], using_db=conn)
        await end_sessions(user.id, conn)  # whoever knew the old password is logged out everywhere
        await revoke_tokens(user.id, conn)
    return user


async def request_reset(identifier: Any, secret: str, base_url: str, mail_on: bool = True) -> None:
    """Queue a reset link for the account's address if it exists (the answer is the same either
    way, and does not wait for the mail server: the outbox sends it)."""
    if not isinstance(identifier, str) or not identifier.strip():
        raise Invalid("identifier", "Enter your username or email address.")
    ident = identifier.strip()
    user = await User.filter(username__iexact=ident).first() or await User.filter(email__iexact=ident).first()
    if user is None or user.deleted_at is not None or not mail_on:
        return
    link = reset_link(user, secret, base_url)
    await mail.queue(user.email, "Reset your password",
                     f"Hello {user.username},\n\nOpen this link within an hour to choose a new password:\n{link}\n\n"
                     "If you did not ask for this, ignore this message.\n", "password_reset")
