"""The OpenID Connect providers a deployment names in OIDC_PROVIDERS, checked when the configuration is read.

OIDC_PROVIDERS is a JSON list, one object per provider:
    [{"name": "acme", "label": "Acme account", "issuer": "https://id.acme.example", "client_id": "forum",
      "client_secret": "...", "scopes": "openid email profile", "role_claim": "groups",
      "role_map": {"agents": "staff"}}]
Only name, label, issuer and client_id are required. A malformed value stops the start with a
message naming the provider and the key (community/config.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

ROLES = ("member", "moderator", "staff", "admin")  # community.models.ROLES (not imported: config reads this early)
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
EXAMPLE = ('[{"name": "acme", "label": "Acme account", "issuer": "https://id.acme.example", '
           '"client_id": "forum", "client_secret": "..."}]')
_KEYS = {"name", "label", "issuer", "client_id", "client_secret", "scopes", "role_claim", "role_map"}


class ProviderConfigError(ValueError):
    """OIDC_PROVIDERS is malformed; the message says where and how to fix it."""


@dataclass(frozen=True)
class ProviderSettings:
    name: str  # in the addresses: /login/oidc/{name}
    label: str  # on the button: "Sign in with {label}"
    issuer: str  # the discovery document is at {issuer}/.well-known/openid-configuration
    client_id: str
    client_secret: str = ""  # empty: a public client (PKCE only); HS256 ID tokens then cannot be checked
    scopes: str = "openid email profile"
    role_claim: str = ""  # a claim (a dotted path for nested ones, e.g. "realm_access.roles")
    role_map: dict[str, str] = field(default_factory=dict)  # claim value -> forum role

    @property
    def roles_follow_claim(self) -> bool:
        return bool(self.role_claim and self.role_map)


def _fail(where: str, message: str) -> ProviderConfigError:
    return ProviderConfigError(f"OIDC_PROVIDERS: {where}: {message}. Expected a JSON list such as {EXAMPLE}")


def _text(item: dict[str, Any], key: str, where: str, required: bool, limit: int = 500) -> str:
    value = item.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _fail(where, f'"{key}" must be a string')
    value = value.strip()
    if required and not value:
        raise _fail(where, f'"{key}" is missing')
    if len(value) > limit:
        raise _fail(where, f'"{key}" is longer than {limit} characters')
    return value


def one(item: Any, index: int) -> ProviderSettings:
    """One provider's settings from its JSON object (or a ProviderSettings, returned as it is)."""
    if isinstance(item, ProviderSettings):
        return item
    where = f"provider {index + 1}"
    if not isinstance(item, dict):
        raise _fail(where, "each provider must be a JSON object")
    unknown = sorted(set(item) - _KEYS)
    if unknown:
        raise _fail(where, f"unknown key {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})")
    name = _text(item, "name", where, True, 40)
    where = f'provider "{name}"'
    if not NAME_RE.match(name):
        raise _fail(where, '"name" may hold only small letters, digits, "-" and "_" (it is part of the address)')
    issuer = _text(item, "issuer", where, True)
    parts = urlsplit(issuer)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
        raise _fail(where, '"issuer" must be an https:// address without query or fragment')
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        raise _fail(where, '"issuer" must use https:// (plain http only for localhost)')
    scopes = _text(item, "scopes", where, False) or "openid email profile"
    if "openid" not in scopes.split():
        raise _fail(where, '"scopes" must include "openid"')
    role_map = item.get("role_map") or {}
    if not isinstance(role_map, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in role_map.items()):
        raise _fail(where, '"role_map" must be an object of claim value -> role, e.g. {"agents": "staff"}')
    for value, role in role_map.items():
        if role not in ROLES:
            raise _fail(where, f'"role_map" gives {value!r} the role {role!r}; roles are {", ".join(ROLES)}')
    return ProviderSettings(
        name=name, label=_text(item, "label", where, True, 60), issuer=issuer,
        client_id=_text(item, "client_id", where, True), client_secret=_text(item, "client_secret", where, False, 2000),
        scopes=" ".join(scopes.split()), role_claim=_text(item, "role_claim", where, False, 200), role_map=dict(role_map),
    )


def check(items: Any) -> list[ProviderSettings]:
    """Every provider's settings, or ProviderConfigError saying what is wrong."""
    if not isinstance(items, (list, tuple)):
        raise _fail("the value", "it must be a JSON list of providers")
    providers = [one(item, i) for i, item in enumerate(items)]
    names = [p.name for p in providers]
    for name in names:
        if names.count(name) > 1:
            raise _fail(f'provider "{name}"', "two providers have this name")
    return providers


def parse(raw: str) -> list[ProviderSettings]:
    """OIDC_PROVIDERS as written in the environment (empty: no providers)."""
    if not raw or not raw.strip():
        return []
    try:
        items = json.loads(raw)
    except ValueError as exc:
        raise _fail("the value", f"it is not valid JSON ({exc})") from None
    return check(items)
