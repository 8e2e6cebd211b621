"""A real OpenID Connect provider for the tests, written with Authlib's server side and served by uvicorn
on a free localhost port in a thread of the test process.

Authlib's AuthorizationServer with the authorization code grant, its OpenIDCode extension (ID tokens)
and PKCE's CodeChallenge (required), plus RP-Initiated Logout's EndSessionEndpoint. Endpoints:
/.well-known/openid-configuration, /jwks, /authorize (a tiny log-in form for the test accounts),
/token, /userinfo, /end-session. The RS256 key is generated here.

Knobs (`provider.misbehave`, a set, cleared by `reset()`): "wrong_nonce", "expired", "wrong_audience",
"wrong_issuer", "bad_signature" (signed by a key not in the JWKS, with the JWKS key's kid), "hs256"
(signed with the client secret). `provider.now` is the provider's clock (seconds); tests on the
forum's fake clock point it there.
"""

from __future__ import annotations

import html
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin, JsonRequest, OAuth2Payload, OAuth2Request
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.rpinitiated import EndSessionEndpoint
from joserfc.jwk import KeySet, OctKey, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from tests.browser import free_port

KID = "test-key-1"


@dataclass
class Account:
    username: str
    password: str
    sub: str
    claims: dict[str, Any] = field(default_factory=dict)  # name, preferred_username, email, email_verified, groups


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str] = field(default_factory=list)
    post_logout_redirect_uris: list[str] = field(default_factory=list)

    @property
    def client_metadata(self) -> dict[str, Any]:
        return {"post_logout_redirect_uris": self.post_logout_redirect_uris}

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        allowed = {"openid", "email", "profile", "groups"}
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret or "", self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: Account
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class _Payload(OAuth2Payload):
    def __init__(self, data: dict[str, str], datalist: dict[str, list[str]]) -> None:
        self._data, self._datalist = data, datalist

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> dict[str, list[str]]:
        return self._datalist


class StarletteRequest(OAuth2Request):
    """A Starlette request, its query and form read beforehand (Authlib's server side is synchronous)."""

    def __init__(self, request: Request, form: list[tuple[str, str]]) -> None:
        super().__init__(request.method, str(request.url), headers=request.headers)
        self._args = dict(request.query_params)
        self._form = dict(form)
        pairs = list(request.query_params.multi_items()) + form
        datalist: dict[str, list[str]] = {}
        for k, v in pairs:
            datalist.setdefault(k, []).append(v)
        self.payload = _Payload({k: v[0] for k, v in datalist.items()}, datalist)

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class TestProvider:
    """The provider: accounts, one client, the knobs, and the Starlette app that serves it all."""

    __test__ = False  # not a pytest class

    def __init__(self, client_id: str = "forum", client_secret: str = "forum-secret-" + "x" * 20) -> None:
        os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # plain http on localhost
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.key = RSAKey.generate_key(2048, parameters={"kid": KID, "use": "sig", "alg": "RS256"}, private=True)
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": KID}, private=True)  # not published
        self.client = Client(client_id, client_secret)
        self.accounts: dict[str, Account] = {}
        self.codes: dict[str, Code] = {}
        self.tokens: dict[str, tuple[Account, str]] = {}
        self.misbehave: set[str] = set()
        self.now: Callable[[], float] = time.time
        self.ended: list[dict[str, Any]] = []  # end-session calls (their ID token's claims)
        self.with_end_session = True
        self.server = self._make_server()
        self.app = Starlette(routes=[
            Route("/.well-known/openid-configuration", self.discovery),
            Route("/jwks", self.jwks),
            Route("/authorize", self.authorize, methods=["GET", "POST"]),
            Route("/token", self.token, methods=["POST"]),
            Route("/userinfo", self.userinfo),
            Route("/end-session", self.end_session, methods=["GET", "POST"]),
        ])
        self._uvicorn: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # The accounts and knobs.

    def add_account(self, username: str, password: str = "secret-pass", sub: str | None = None, **claims: Any) -> Account:
        account = Account(username, password, sub or f"sub-{secrets.token_hex(6)}", claims)
        self.accounts[username] = account
        return account

    def reset(self) -> None:
        self.misbehave.clear()
        self.codes.clear()
        self.tokens.clear()
        self.ended.clear()
        self.accounts.clear()
        self.with_end_session = True

    def settings(self, name: str = "acme", label: str = "Acme account", **extra: Any) -> dict[str, Any]:
        """The forum's OIDC_PROVIDERS entry for this provider."""
        return {"name": name, "label": label, "issuer": self.issuer, "client_id": self.client.client_id,
                "client_secret": self.client.client_secret, "scopes": "openid email profile", **extra}

    # The server (Authlib).

    def _make_server(self) -> AuthorizationServer:
        provider = self

        class Server(AuthorizationServer):
            def query_client(self, client_id: str) -> Client | None:
                return provider.client if client_id == provider.client.client_id else None

            def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
                provider.tokens[token["access_token"]] = (request.user, token.get("scope", ""))

            def create_oauth2_request(self, request: Any) -> OAuth2Request:
                return request  # already a StarletteRequest

            def create_json_request(self, request: Any) -> JsonRequest:
                raise NotImplementedError

            def handle_response(self, status: int, body: Any, headers: list) -> Response:
                if isinstance(body, dict):
                    return JSONResponse(body, status, headers=dict(headers))
                return Response(body or b"", status, headers=dict(headers))

            def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
                pass

        class CodeGrant(AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

            def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
                data = request.payload.data
                provider.codes[code] = Code(code, request.client.client_id, data.get("redirect_uri", ""),
                                            request.scope, request.user, data.get("nonce"), data.get("code_challenge"),
                                            data.get("code_challenge_method"), int(provider.now()))

            def query_authorization_code(self, code: str, client: Client) -> Code | None:
                found = provider.codes.get(code)
                return found if found is not None and found.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code: Code) -> None:
                provider.codes.pop(authorization_code.code, None)  # a code works once

            def authenticate_user(self, authorization_code: Code) -> Account:
                return authorization_code.user

        class IdTokens(OpenIDCode):
            def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
                return False

            def get_client_algorithm(self, client: Client) -> str:
                return "HS256" if "hs256" in provider.misbehave else "RS256"

            def get_encode_header(self, client: Client) -> dict[str, str]:
                alg = self.get_client_algorithm(client)
                return {"alg": alg} if alg == "HS256" else {"alg": alg, "kid": KID}

            def resolve_client_private_key(self, client: Client) -> Any:
                if "hs256" in provider.misbehave:
                    return OctKey.import_key(client.client_secret)
                return provider.other_key if "bad_signature" in provider.misbehave else provider.key

            def get_client_claims(self, client: Client) -> dict[str, Any]:
                now = int(provider.now())
                bad = provider.misbehave
                return {"iss": "http://evil.example" if "wrong_issuer" in bad else provider.issuer,
                        "aud": ["someone-else"] if "wrong_audience" in bad else [client.client_id],
                        "iat": now - 3600 if "expired" in bad else now,
                        "exp": now - 600 if "expired" in bad else now + 300}

            def get_authorization_code_claims(self, authorization_code: Code) -> dict[str, Any]:
                claims = super().get_authorization_code_claims(authorization_code)
                if "wrong_nonce" in provider.misbehave:
                    claims["nonce"] = "not-the-nonce-you-sent"
                return claims

            def generate_user_info(self, user: Account, scope: str) -> UserInfo:
                return provider.user_info(user, scope)

        class EndSession(EndSessionEndpoint):
            def get_server_jwks(self) -> KeySet:
                return KeySet([provider.key])

            def end_session(self, end_session_request: Any) -> None:
                provider.ended.append(end_session_request.id_token_claims or {})

        server = Server(scopes_supported=["openid", "email", "profile", "groups"])
        server.register_grant(CodeGrant, [IdTokens(require_nonce=True), CodeChallenge(required=True)])
        server.register_token_generator("default", BearerTokenGenerator(lambda **kw: secrets.token_urlsafe(24)))
        server.register_endpoint(EndSession)
        return server

    def user_info(self, user: Account, scope: str) -> UserInfo:
        scopes = set((scope or "").split())
        info = UserInfo(sub=user.sub)
        if "profile" in scopes:
            for key in ("name", "preferred_username", "nickname"):
                if key in user.claims:
                    info[key] = user.claims[key]
        if "email" in scopes:
            for key in ("email", "email_verified"):
                if key in user.claims:
                    info[key] = user.claims[key]
        if "groups" in user.claims:
            info["groups"] = user.claims["groups"]
        return info

    # The endpoints.

    async def _request(self, request: Request) -> StarletteRequest:
        form = await request.form() if request.method == "POST" else None
        pairs = [(k, v) for k, v in form.multi_items() if isinstance(v, str)] if form is not None else []
        return StarletteRequest(request, pairs)

    async def discovery(self, request: Request) -> Response:
        doc = {
            "issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token", "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks", "response_types_supported": ["code"],
            "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile", "groups"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
        }
        if self.with_end_session:
            doc["end_session_endpoint"] = f"{self.issuer}/end-session"
        return JSONResponse(doc)

    async def jwks(self, request: Request) -> Response:
        return JSONResponse(KeySet([self.key]).as_dict(private=False))

    def _login_form(self, params: dict[str, str], message: str = "") -> HTMLResponse:
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in params.items() if k not in ("username", "password"))
        note = f'<p role="alert">{html.escape(message)}</p>' if message else ""
        return HTMLResponse(
            f'<!doctype html><html lang="en"><title>Test provider</title><main><h1>Test provider sign-in</h1>{note}'
            f'<form method="post" action="/authorize">{hidden}'
            '<label for="u">Provider username</label><input id="u" name="username">'
            '<label for="p">Provider password</label><input id="p" name="password" type="password">'
            '<button type="submit">Continue</button></form></main></html>', 401 if message else 200)

    async def authorize(self, request: Request) -> Response:
        oauth = await self._request(request)
        try:
            grant = self.server.get_consent_grant(oauth)
        except OAuth2Error as error:
            return JSONResponse(dict(error.get_body()), error.status_code)
        if request.method == "GET":
            return self._login_form(oauth.payload.data)
        account = self.accounts.get(oauth.form.get("username", ""))
        if account is None or not secrets.compare_digest(account.password, oauth.form.get("password", "")):
            return self._login_form(oauth.payload.data, "Wrong username or password.")
        return self.server.create_authorization_response(oauth, grant_user=account, grant=grant)

    async def token(self, request: Request) -> Response:
        return self.server.create_token_response(await self._request(request))

    async def userinfo(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        found = self.tokens.get(auth[7:]) if auth.lower().startswith("bearer ") else None
        if found is None:
            return JSONResponse({"error": "invalid_token"}, 401)
        return JSONResponse(dict(self.user_info(*found)))

    async def end_session(self, request: Request) -> Response:
        oauth = await self._request(request)
        try:
            validated = self.server.validate_endpoint_request("end_session", oauth)
        except OAuth2Error as error:
            return JSONResponse(dict(error.get_body()), error.status_code)
        response = self.server.create_endpoint_response("end_session", validated)
        return response or HTMLResponse("<!doctype html><title>Signed out</title><p>You are signed out.</p>")

    # Serving.

    def start(self) -> TestProvider:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._uvicorn = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._uvicorn.run, name="test-oidc-provider", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._uvicorn.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test OpenID provider did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def callback_params(self, location: str) -> str:
        """The query the provider sent back to the forum's callback (from a redirect's Location)."""
        return location.split("?", 1)[1] if "?" in location else ""


def login_params(page_html: str) -> dict[str, str]:
    """The hidden fields of the provider's log-in form."""
    import re

    return {html.unescape(k): html.unescape(v)
            for k, v in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page_html)}

