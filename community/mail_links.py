"""Signed links and addresses that mails carry: one-click unsubscribe (no log-in, never expires,
turns off exactly the kinds of that mail), reply-by-email addresses, and address confirmation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeSerializer, URLSafeTimedSerializer

from community import clock
from community.errors import NotAllowed

CONFIRM_MAX_AGE = 3 * 24 * 3600


@dataclass(frozen=True)
class Site:
    """What a mail's links need: where the forum is, its secret, and the From address."""

    base_url: str
    secret: str
    mail_from: str = "community@localhost"

    @classmethod
    def from_config(cls, config: Any) -> Site:
        return cls(config.base_url.rstrip("/"), config.ensure_secret(), config.mail_from)

    @property
    def domain(self) -> str:
        return parseaddr(self.mail_from)[1].rpartition("@")[2] or "localhost"

    def url(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}{path}"


# ---- unsubscribe ---------------------------------------------------------------------------------


def unsubscribe_token(site: Site, user_id: int, kinds: list[str]) -> str:
    return URLSafeSerializer(site.secret, salt="unsubscribe").dumps({"u": user_id, "k": sorted(set(kinds))})


def unsubscribe_url(site: Site, user_id: int, kinds: list[str]) -> str:
    return site.url(f"/mail/unsubscribe/{unsubscribe_token(site, user_id, kinds)}")


def read_unsubscribe(site: Site, token: str) -> tuple[int, list[str]]:
    try:
        data = URLSafeSerializer(site.secret, salt="unsubscribe").loads(token)
    except BadSignature:
        raise NotAllowed("This unsubscribe link is not valid. Change your mail settings from your account instead.") from None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("k"), list):
        raise NotAllowed("This unsubscribe link is not valid.")
    return data["u"], [k for k in data["k"] if isinstance(k, str)]


# ---- reply by email ------------------------------------------------------------------------------
# reply+<member>-<a|c><post>-<signature>@domain: "a" answers the question <post>, "c" comments on
# the post <post>. Lower-case base32, so a mail system that folds the local part's case keeps it valid.

_REPLY = re.compile(r"^reply\+(\d+)-([ac])(\d+)-([a-z2-7]{16})$")


def _reply_sig(site: Site, user_id: int, action: str, post_id: int) -> str:
    mac = hmac.new(site.secret.encode(), f"reply:{user_id}:{action}:{post_id}".encode(), hashlib.sha256).digest()
    return base64.b32encode(mac).decode().lower()[:16]


def reply_address(site: Site, user_id: int, action: str, post_id: int) -> str:
    return f"reply+{user_id}-{action}{post_id}-{_reply_sig(site, user_id, action, post_id)}@{site.domain}"


@dataclass(frozen=True)
class ReplyTarget:
    user_id: int
    action: str  # "a": answer the question post_id; "c": comment on post_id
    post_id: int


def read_reply_address(site: Site, address: str) -> ReplyTarget | None:
    """The target a reply address names, or None when it is not one of ours or its signature is wrong."""
    local, _, domain = parseaddr(address)[1].lower().rpartition("@")
    m = _REPLY.match(local)
    if not m or domain != site.domain.lower():
        return None
    uid, action, pid, sig = int(m[1]), m[2], int(m[3]), m[4]
    if not hmac.compare_digest(sig, _reply_sig(site, uid, action, pid)):
        return None
    return ReplyTarget(uid, action, pid)


# ---- address confirmation ------------------------------------------------------------------------


class ClockSigner(TimestampSigner):
    """Stamps and ages signed links by the community clock, so expiry follows the same time as every rule."""

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def _confirmer(site: Site) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(site.secret, salt="confirm-email", signer=ClockSigner)


def confirm_url(site: Site, user_id: int, email: str) -> str:
    return site.url(f"/confirm-email/{_confirmer(site).dumps({'u': user_id, 'e': email})}")


def read_confirm(site: Site, token: str) -> tuple[int, str]:
    try:
        data = _confirmer(site).loads(token, max_age=CONFIRM_MAX_AGE)
    except SignatureExpired:
        raise NotAllowed("This confirmation link has expired. Send a new one from your account page.") from None
    except BadSignature:
        raise NotAllowed("This confirmation link is not valid. Send a new one from your account page.") from None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("e"), str):
        raise NotAllowed("This confirmation link is not valid.")
    return data["u"], data["e"]
