"""What a request may carry into the services: text both databases can store and finite numbers.

Checked once where input is read (community.web.read_json / read_form, and AddressCheck for the
path and query string), so no service meets a lone surrogate (no UTF-8 form: both drivers, the
password hasher and the sanitiser fail on it), a NUL (PostgreSQL cannot store it) or Infinity.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from community.errors import BadRequest, Invalid

# Control characters (C0 but tab, LF and CR; DEL; C1) and UTF-16 surrogates, which only come
# alone from JSON's \ud800 escapes (a valid pair is decoded into one character).
REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def field_label(name: str) -> str:
    """A field's name fit to show and to send back as JSON: refused characters written as escapes."""
    return REFUSED.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), name)


def refusal(field: str, char: str) -> Invalid:
    label = field_label(field)
    if "\ud800" <= char <= "\udfff":
        what = "a character that is not valid text (a lone UTF-16 surrogate)"
    else:
        what = f"a control character ({field_label(char)}), which cannot be stored"
    return Invalid(label, f"The “{label}” field holds {what}; remove it and send it again.")


def check_text(field: str, value: str) -> None:
    """Raise Invalid naming `field` when the text (or the field's own name) holds a refused character."""
    found = REFUSED.search(field)
    if found is None:
        found = REFUSED.search(value)
    if found is not None:
        raise refusal(field, found.group())


def one_line(field: str, value: Any, limit: int, what: str) -> str:
    """Optional short text (a label, an edit summary): whitespace collapsed, at most `limit` characters."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid(field, f"The {what} must be text.")
    value = " ".join(value.split())
    if len(value) > limit:
        raise Invalid(field, f"Keep the {what} to {limit} characters (it has {len(value)}).")
    return value


class _NotFinite:
    """Where JSON said Infinity, -Infinity, NaN or a number too large for a float (1e999)."""


NOT_FINITE = _NotFinite()


def _float(text: str) -> float | _NotFinite:
    value = float(text)
    return value if math.isfinite(value) else NOT_FINITE


def loads(raw: bytes) -> dict[str, Any]:
    """A JSON object whose strings (keys too, at any depth) hold no refused character and whose
    numbers are finite; Invalid names the top-level field that holds the problem."""
    try:
        data = json.loads(raw, parse_constant=lambda _: NOT_FINITE, parse_float=_float)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly nested arrays
        raise BadRequest("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise BadRequest("Send a JSON object.")
    for key, value in data.items():
        check_text(key, "")
        stack = [value]
        while stack:  # a loop, not recursion: the parser accepts nesting deeper than a recursive walk could
            item = stack.pop()
            if isinstance(item, str):
                check_text(key, item)
            elif item is NOT_FINITE:
                raise Invalid(key, f"The “{key}” field must be a finite number: Infinity, NaN and numbers "
                                   "beyond about 1e308 are not accepted.")
            elif isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                for k, v in item.items():
                    check_text(key, k)
                    stack.append(v)
    return data


def check_form(data: dict[str, Any]) -> None:
    """Raise Invalid naming the first field that holds a refused character. The error carries
    `kept`: what the person wrote, those characters taken out (never a password or the form's
    token), so the refusal page gives their text back instead of losing it."""
    for key, value in data.items():
        try:
            check_text(key, value if isinstance(value, str) else "")
        except Invalid as exc:
            exc.kept = {field_label(k): REFUSED.sub("", v) for k, v in data.items()  # type: ignore[attr-defined]
                        if isinstance(v, str) and v.strip() and k != "csrf_token" and "password" not in k.lower()}
            raise


class AddressCheck:
    """Refuse control characters in the address before any handler reads it: in the path a 404
    (no page has such an address), in a query parameter a 422 naming the parameter."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem: Exception | None = None
            if REFUSED.search(scope["path"]):
                problem = HTTPException(404)
            elif scope["query_string"]:
                # Parsed the way Starlette's request.query_params parses it, so the checked values are the read ones.
                try:
                    for name, value in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True):
                        check_text(name, value)
                except Invalid as exc:
                    problem = exc
            if problem is not None:
                from community import web

                request = Request(scope, receive)
                if isinstance(problem, Invalid):
                    response = await web.on_domain_error(request, problem)
                else:
                    response = await web.on_http_error(request, problem)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
