"""The honeypot: a form field people never see or reach, which bots fill in.

Every form that posts content (ask, answer, comment) or makes an account (sign-up) carries it
(`templates/_honeypot.html`). It is hidden from sight (visually hidden), from screen readers
(aria-hidden), from the keyboard (tabindex -1) and from autofill (autocomplete off); its label says
to leave it empty. `web.read_form` notes for the request whether it came back filled in; the spam
triage (moderation/spam.py) reads that as a signal, and sign-up refuses the form.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from community.errors import Invalid

FIELD = "website"  # a name bots like to fill in; no browser autofills it for a forum post
_filled: ContextVar[bool] = ContextVar("honeypot_filled", default=False)


def note(form: dict[str, Any]) -> None:
    """Remember, for the rest of this request, whether the form's honeypot was filled in."""
    _filled.set(bool(str(form.get(FIELD) or "").strip()))


def filled() -> bool:
    """Whether the form this request read had its honeypot filled in (`read_json` clears it: an API
    write has no form, so an earlier form read in the same task never counts for it)."""
    return _filled.get()


def refuse_if_filled(form: dict[str, Any]) -> None:
    """For forms that make something outright (sign-up): a filled honeypot is refused."""
    if str(form.get(FIELD) or "").strip():
        raise Invalid(None, "This form could not be sent because a field that must stay empty was filled in "
                            "(some browser add-ons do that). Please turn off autofill for this page and try again.")


class Forget:
    """ASGI middleware: what a request's form said about its honeypot ends with the request (a test's
    ASGI client runs requests in the test's own task, and a later direct service call must not be
    judged by an earlier request's form)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        token = _filled.set(False)
        try:
            await self.app(scope, receive, send)
        finally:
            _filled.reset(token)
