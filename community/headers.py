"""Security headers on every response (pages, API, static files, errors): the content security
policy, framing, sniffing and referrer rules, and, when the site is served over https, HSTS and
the Secure flag on every cookie."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The app serves every script and style sheet itself, and no page holds inline script, inline
# style or event-handler attributes, so 'self' is enough. Images in posts may come from anywhere
# over https (imported Stack Exchange posts link theirs), never over plain http.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: https:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HSTS = "max-age=31536000"


def security_headers(https: bool) -> list[tuple[bytes, bytes]]:
    """The headers every response carries; `https` when BASE_URL is an https address."""
    headers = [
        (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
    ]
    if https:
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


class SecurityHeaders:
    """Adds `security_headers` to every HTTP response that does not set its own, and over https
    marks every cookie Secure (whichever part of the app set it)."""

    def __init__(self, app: ASGIApp, https: bool = False) -> None:
        self.app, self.https = app, https
        self.headers = security_headers(https)
        self.names = {name for name, _ in self.headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = self.add(list(message.get("headers") or []))
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def add(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        present = {name.lower() for name, _ in headers} & self.names
        if self.https:
            headers = [(name, _secure(value)) if name.lower() == b"set-cookie" else (name, value)
                       for name, value in headers]
        return headers + [(name, value) for name, value in self.headers if name not in present]


def _secure(cookie: bytes) -> bytes:
    attributes = [part.strip().lower() for part in cookie.split(b";")[1:]]
    return cookie if b"secure" in attributes else cookie + b"; Secure"
