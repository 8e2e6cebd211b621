"""Members: sign-up, log-in with rate limits, API tokens, roles and password resets."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import smtplib
from datetime import timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlparse

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from tortoise.exceptions import IntegrityError

from community import clock, settings
from community.errors import Conflict, Invalid, NotAllowed, NotFound, TooMany
from community.models import ROLES, ApiToken, LoginFailure, User

_hasher = PasswordHasher()
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,30}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
RESET_MAX_AGE = 3600
FAILURE_WINDOW = timedelta(minutes=15)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _check_new(username: str, email: str, password: str) -> None:
    if not USERNAME_RE.match(username or ""):
        raise Invalid("username", "Choose a username of 3 to 30 letters, digits, dots, dashes or underscores.")
    if len(email or "") > 254 or not EMAIL_RE.match(email or ""):
        raise Invalid("email", "Enter an email address like name@example.com.")
    _check_password(password)


def _check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < 8:
        raise Invalid("password", "Use a password of at least 8 characters.")
    if len(password) > 200:
        raise Invalid("password", "Use a password of at most 200 characters.")


async def sign_up(username: Any, email: Any, password: Any, role: str = "member") -> User:
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
    try:
        return await User.create(
            username=username, email=email, password_hash=hash_password(password), role=role,
            created_at=clock.now(),
        )
    except IntegrityError:
        raise Conflict(f"The username {username!r} is taken; please choose another.", "username") from None


async def _failures(key: str) -> int:
    return await LoginFailure.filter(key=key, at__gte=clock.now() - FAILURE_WINDOW).count()


async def authenticate(username: Any, password: Any, ip: str = "") -> User:
    """Check a username and password, rate limited per account and per address."""
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        raise Invalid("username", "Enter your username and password.")
    account_key, ip_key = f"user:{username.lower()[:60]}", f"ip:{ip[:60]}"
    if await _failures(account_key) >= settings.get("limit.login_failures_per_account") or (
        ip and await _failures(ip_key) >= settings.get("limit.login_failures_per_ip")
    ):
        raise TooMany("Too many failed log-ins. Wait 15 minutes, or reset your password.")
    user = await User.filter(username__iexact=username.strip()).first()
    ok = False
    if user is not None and user.password_hash:
        try:
            ok = _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
    if not ok:
        now = clock.now()
        await LoginFailure.create(key=account_key, at=now)
        if ip:
            await LoginFailure.create(key=ip_key, at=now)
        if user is not None and not user.password_hash:
            raise Invalid("password", "This account has no password yet: use 'Forgot your password?' to set one.")
        raise Invalid("password", "That username and password do not match. Check them and try again.")
    return user


async def issue_token(user: User) -> str:
    token = secrets.token_urlsafe(32)
    await ApiToken.create(user=user, digest=_digest(token), created_at=clock.now())
    return token


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def user_for_token(token: str) -> User | None:
    row = await ApiToken.filter(digest=_digest(token), revoked_at=None).select_related("user").first()
    return row.user if row else None


async def revoke_token(token: str) -> bool:
    return bool(await ApiToken.filter(digest=_digest(token), revoked_at=None).update(revoked_at=clock.now()))


async def set_role(username: str, role: str) -> User:
    if role not in ROLES:
        raise Invalid("role", f"Role must be one of: {', '.join(ROLES)}.")
    user = await User.filter(username=username).first()
    if user is None:
        raise NotFound(f"No member is called {username!r}.")
    user.role = role
    await user.save(update_fields=["role"])
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


class _ClockSigner(TimestampSigner):
    """Stamps and ages reset links by the community clock, so expiry follows the same time as every rule."""

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="password-reset", signer=_ClockSigner)


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
    await user.save(update_fields=["password_hash"])
    return user


async def request_reset(identifier: Any, secret: str, base_url: str, smtp_url: str, mail_from: str) -> None:
    """Email a reset link if the account exists (the answer is the same either way)."""
    if not isinstance(identifier, str) or not identifier.strip():
        raise Invalid("identifier", "Enter your username or email address.")
    ident = identifier.strip()
    user = await User.filter(username__iexact=ident).first() or await User.filter(email__iexact=ident).first()
    if user is None or not smtp_url:
        return
    link = reset_link(user, secret, base_url)
    await asyncio.to_thread(send_mail, smtp_url, mail_from, user.email, "Reset your password",
                            f"Hello {user.username},\n\nOpen this link within an hour to choose a new password:\n{link}\n\n"
                            "If you did not ask for this, ignore this message.\n")


def send_mail(smtp_url: str, mail_from: str, to: str, subject: str, text: str) -> None:
    parsed = urlparse(smtp_url)
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = mail_from, to, subject
    msg.set_content(text)
    cls = smtplib.SMTP_SSL if parsed.scheme == "smtps" else smtplib.SMTP
    with cls(parsed.hostname or "localhost", parsed.port or 25, timeout=10) as smtp:
        if parsed.username:
            smtp.login(parsed.username, parsed.password or "")
        smtp.send_message(msg)
