"""The OpenID Connect protocol for one provider: discovery, the authorization request (code flow with
PKCE S256, state and nonce), the code exchange, and the ID token's checks.

Authlib does the protocol (authlib.integrations.httpx_client.AsyncOAuth2Client) and joserfc (Authlib's
JOSE library) checks the ID token: its signature with the provider's JWKS (or HS256 with the client
secret, as OIDC Core 10.1 allows), then iss, aud (and azp), exp and iat with LEEWAY seconds of clock
skew, and the nonce. Every failure raises SignInFailed with words a member can act on; nothing here
answers a 500. The discovery document and the JWKS are fetched at first use and kept per process
(the JWKS fetched again once when a token names a key it does not hold: the provider rotated keys).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.common.errors import AuthlibBaseError
from authlib.oidc.discovery import get_well_known_url
from joserfc import jwt
from joserfc.errors import BadSignatureError, ClaimError, ExpiredTokenError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet, OctKey

from community import clock
from community.oidc_settings import ProviderSettings

log = logging.getLogger("community.oidc")
LEEWAY = 60  # seconds of clock skew tolerated on exp, iat and nbf
TIMEOUT = 10.0  # seconds for each request to the provider
ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
SYMMETRIC = ("HS256", "HS384", "HS512")


class SignInFailed(Exception):
    """The sign-in did not work; `reason` finishes "Sign-in with X did not work: …"."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


class ProviderUnavailable(SignInFailed):
    """The provider's discovery document or keys could not be read (its service is down or misconfigured)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, 503)


@dataclass
class Metadata:
    """What the forum uses from a provider's discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str = ""
    end_session_endpoint: str = ""
    token_auth_methods: list[str] = field(default_factory=list)
    signing_algs: list[str] = field(default_factory=list)


def _url(doc: dict[str, Any], key: str, required: bool) -> str:
    value = doc.get(key) or ""
    if not isinstance(value, str) or (value and not value.startswith(("https://", "http://"))):
        raise ProviderUnavailable(f"its discovery document has a malformed “{key}”")
    if required and not value:
        raise ProviderUnavailable(f"its discovery document names no “{key}”")
    return value


def read_metadata(settings: ProviderSettings, doc: Any) -> Metadata:
    """The discovery document's parts, checked: the issuer must be the configured one (OIDC Discovery 4.3)."""
    if not isinstance(doc, dict):
        raise ProviderUnavailable("its discovery document is not a JSON object")
    issuer = doc.get("issuer")
    if not isinstance(issuer, str) or issuer.rstrip("/") != settings.issuer.rstrip("/"):
        raise ProviderUnavailable(f"its discovery document names another issuer ({str(issuer)[:100]!r}, "
                                  f"configured: {settings.issuer!r})")
    methods = doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    algs = doc.get("id_token_signing_alg_values_supported") or ["RS256"]
    return Metadata(
        issuer=issuer, authorization_endpoint=_url(doc, "authorization_endpoint", True),
        token_endpoint=_url(doc, "token_endpoint", True), jwks_uri=_url(doc, "jwks_uri", False),
        userinfo_endpoint=_url(doc, "userinfo_endpoint", False), end_session_endpoint=_url(doc, "end_session_endpoint", False),
        token_auth_methods=[m for m in methods if isinstance(m, str)], signing_algs=[a for a in algs if isinstance(a, str)],
    )


@dataclass
class Started:
    """An authorization request: where to send the browser, and what the callback must find again."""

    url: str
    state: str
    nonce: str
    verifier: str


@dataclass
class SignedIn:
    """A checked sign-in: the ID token's claims (with the userinfo's where the provider has that endpoint)."""

    claims: dict[str, Any]
    id_token: str


class Provider:
    """One configured provider, its discovery document and keys kept after first use."""

    def __init__(self, settings: ProviderSettings, base_url: str) -> None:
        self.settings = settings
        self.redirect_uri = f"{base_url.rstrip('/')}/login/oidc/{settings.name}/callback"
        self._metadata: Metadata | None = None
        self._keys: KeySet | None = None
        self._lock = asyncio.Lock()

    def _http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False)

    async def _get_json(self, url: str, what: str) -> Any:
        try:
            async with self._http() as http:
                response = await http.get(url, headers={"accept": "application/json"})
            response.raise_for_status()
            return response.json()
        except httpx.HTTPStatusError as exc:
            raise ProviderUnavailable(f"its {what} answered {exc.response.status_code}") from None
        except httpx.HTTPError as exc:
            log.warning("OIDC %s: reading %s failed: %r", self.settings.name, url, exc)
            raise ProviderUnavailable(f"its {what} could not be reached") from None
        except ValueError:
            raise ProviderUnavailable(f"its {what} is not JSON") from None

    async def metadata(self) -> Metadata:
        """The discovery document, fetched at first use and kept (not kept when it failed)."""
        if self._metadata is None:
            async with self._lock:
                if self._metadata is None:
                    doc = await self._get_json(get_well_known_url(self.settings.issuer, external=True), "discovery document")
                    self._metadata = read_metadata(self.settings, doc)
        return self._metadata

    def known_metadata(self) -> Metadata | None:
        return self._metadata

    async def keys(self, refresh: bool = False) -> KeySet:
        meta = await self.metadata()
        if self._keys is None or refresh:
            if not meta.jwks_uri:
                raise ProviderUnavailable("its discovery document names no “jwks_uri”")
            doc = await self._get_json(meta.jwks_uri, "key set (JWKS)")
            try:
                keys = KeySet.import_key_set(doc)
            except (JoseError, ValueError, TypeError, KeyError):
                raise ProviderUnavailable("its key set (JWKS) could not be read") from None
            self._keys = keys
        return self._keys

    def _client(self, meta: Metadata) -> AsyncOAuth2Client:
        secret = self.settings.client_secret
        if not secret:
            method = "none"
        elif "client_secret_basic" in meta.token_auth_methods:
            method = "client_secret_basic"
        else:
            method = "client_secret_post"
        return AsyncOAuth2Client(client_id=self.settings.client_id, client_secret=secret or None,
                                 token_endpoint_auth_method=method, scope=self.settings.scopes,
                                 redirect_uri=self.redirect_uri, code_challenge_method="S256", timeout=TIMEOUT)

    async def start(self) -> Started:
        """The authorization request's address, with a fresh state, nonce and PKCE verifier."""
        meta = await self.metadata()
        state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        async with self._client(meta) as client:
            url, _ = client.create_authorization_url(meta.authorization_endpoint, state=state, code_verifier=verifier,
                                                     nonce=nonce)
        return Started(url, state, nonce, verifier)

    async def finish(self, code: str, verifier: str, nonce: str) -> SignedIn:
        """Exchange the code (with the PKCE verifier) and check the ID token it brings."""
        meta = await self.metadata()
        label = self.settings.label
        async with self._client(meta) as client:
            try:
                token = await client.fetch_token(meta.token_endpoint, grant_type="authorization_code", code=code,
                                                 code_verifier=verifier)
            except AuthlibBaseError as exc:
                log.info("OIDC %s: the token endpoint refused the code: %s", self.settings.name, exc)
                raise SignInFailed(f"{label} did not accept the sign-in code (it may have been used already, "
                                   "or it expired)") from None
            except httpx.HTTPError as exc:
                log.warning("OIDC %s: the token endpoint failed: %r", self.settings.name, exc)
                raise SignInFailed(f"{label} could not be reached to finish the sign-in", 503) from None
            except ValueError:
                raise SignInFailed(f"{label} answered the sign-in code with something unreadable") from None
        id_token = token.get("id_token") if isinstance(token, dict) else None
        if not isinstance(id_token, str) or not id_token:
            raise SignInFailed(f"{label} sent no ID token (is “openid” among the scopes?)")
        claims = await self.check_id_token(id_token, nonce)
        access = token.get("access_token")
        if meta.userinfo_endpoint and isinstance(access, str) and access:
            claims = {**await self._userinfo(meta, access, claims["sub"]), **claims}
        return SignedIn(claims, id_token)

    async def _userinfo(self, meta: Metadata, access_token: str, subject: str) -> dict[str, Any]:
        """The userinfo endpoint's claims, when they are about the same subject; {} when it cannot be read."""
        try:
            async with self._http() as http:
                response = await http.get(meta.userinfo_endpoint, headers={"authorization": f"Bearer {access_token}",
                                                                           "accept": "application/json"})
            info = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("OIDC %s: userinfo failed: %r", self.settings.name, exc)
            return {}
        if not isinstance(info, dict) or info.get("sub") != subject:  # OIDC Core 5.3.2: must be the same subject
            return {}
        return info

    async def check_id_token(self, raw: str, nonce: str) -> dict[str, Any]:
        """The ID token's claims once its signature, issuer, audience, times and nonce are checked."""
        meta = await self.metadata()
        label = self.settings.label
        alg = _header(raw).get("alg")
        if alg in SYMMETRIC:
            if not self.settings.client_secret:
                raise SignInFailed(f"{label} signed the sign-in ticket with a shared secret, but none is configured")
            key: Any = OctKey.import_key(self.settings.client_secret)
        elif alg in ASYMMETRIC and alg in meta.signing_algs:
            key = await self.keys()
        else:
            raise SignInFailed(f"the sign-in ticket is signed in a way this forum does not accept ({str(alg)[:20]})")
        try:
            try:
                token = jwt.decode(raw, key, algorithms=[alg])
            except InvalidKeyIdError:
                if not isinstance(key, KeySet):
                    raise
                token = jwt.decode(raw, await self.keys(refresh=True), algorithms=[alg])  # the keys were rotated
        except (BadSignatureError, InvalidKeyIdError):
            raise SignInFailed(f"the sign-in ticket's signature is not {label}'s") from None
        except (JoseError, ValueError, TypeError):
            raise SignInFailed("the sign-in ticket could not be read") from None
        claims = dict(token.claims)
        self._check_claims(claims, meta, nonce)
        return claims

    def _check_claims(self, claims: dict[str, Any], meta: Metadata, nonce: str) -> None:
        label, client_id = self.settings.label, self.settings.client_id
        registry = jwt.JWTClaimsRegistry(
            now=int(clock.now().timestamp()), leeway=LEEWAY,
            iss={"essential": True, "value": meta.issuer}, sub={"essential": True},
            aud={"essential": True, "value": client_id}, exp={"essential": True}, iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            raise SignInFailed("the sign-in ticket had expired (is this computer's clock right?)") from None
        except ClaimError as exc:
            raise SignInFailed(_CLAIM_WORDS.get(exc.claim, f"the sign-in ticket's “{exc.claim}” is wrong").format(label=label)) from None
        aud = claims.get("aud")
        if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != client_id:  # OIDC Core 3.1.3.7 (5)
            raise SignInFailed(_CLAIM_WORDS["aud"].format(label=label))
        if not isinstance(claims.get("sub"), str) or not 0 < len(claims["sub"]) <= 255:
            raise SignInFailed(_CLAIM_WORDS["sub"].format(label=label))

    async def end_session_url(self, id_token: str, after: str) -> str | None:
        """Where to send the browser so the provider ends its own session too (RP-Initiated Logout), if it can."""
        try:
            meta = await self.metadata()
        except SignInFailed:
            return None
        if not meta.end_session_endpoint:
            return None
        query = urlencode({"id_token_hint": id_token, "post_logout_redirect_uri": after, "client_id": self.settings.client_id})
        joiner = "&" if "?" in meta.end_session_endpoint else "?"
        return f"{meta.end_session_endpoint}{joiner}{query}"


_CLAIM_WORDS = {
    "iss": "the sign-in ticket was not issued by {label}",
    "aud": "the sign-in ticket was meant for another application",
    "nonce": "the sign-in ticket does not belong to this sign-in (its nonce is wrong)",
    "iat": "the sign-in ticket is dated in the future (is this computer's clock right?)",
    "nbf": "the sign-in ticket is not valid yet (is this computer's clock right?)",
    "exp": "the sign-in ticket had expired",
    "sub": "the sign-in ticket does not say who you are",
}


def _header(raw: str) -> dict[str, Any]:
    """The JWS header of a compact token, before anything is trusted (to choose the key)."""
    try:
        first = raw.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise SignInFailed("the sign-in ticket could not be read") from None
    if not isinstance(header, dict):
        raise SignInFailed("the sign-in ticket could not be read")
    return header
