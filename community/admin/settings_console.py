"""The admin console's Settings section: /admin/settings (one form per group) and
/api/v1/admin/settings (GET the list, PATCH some values all or none). Both call
community/admin/setting_changes.py; its `startup` keeps this process's settings in step with the
table (settings.follow), so a change saved through any worker is in force in every one within a second."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from community import openapi, privileges, settings
from community.admin import setting_changes
from community.admin.setting_changes import Entry
from community.errors import DomainError, Invalid
from community.models import User
from community.support import policy
from community.web import current_user, page_cache, read_form, read_json, redirect, render, with_retry_after


# ---- the page's fields ---------------------------------------------------------------------------

def kind_of(default: Any) -> str:
    """The input a setting gets: a number, true/false, text, or JSON (lists, objects, none)."""
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "float"
    if isinstance(default, str):
        return "text"
    return "json"


def as_text(value: Any) -> str:
    """A value as its field shows it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (int, float, str)):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("not finite")
    return number


def _refuse_constant(text: str) -> Any:
    raise ValueError(f"{text} is not a number JSON stores")


def from_text(entry: Entry, text: str) -> Any:
    """What the admin typed, as the value to validate (numbers and true/false stay text: validate reads them)."""
    if kind_of(entry.default) != "json":
        return text
    if not text.strip():
        return None  # none (the business hours); a list or an object setting says it needs one
    try:
        return json.loads(text, parse_float=_finite, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise Invalid(entry.name, f"This is not valid JSON ({str(exc)[:80]}). Write it like the default: "
                                  f"{as_text(entry.default) or 'empty for none'}.") from None


@dataclass(frozen=True)
class Field:
    entry: Entry
    kind: str
    text: str  # what the field holds: the value now, or what the admin typed
    default_text: str
    error: str
    note: str

    @property
    def slug(self) -> str:
        return "set-" + self.entry.name.replace(".", "-")


@dataclass(frozen=True)
class Group:
    key: str
    label: str
    fields: list[Field]
    saved: int | None  # how many settings the last save changed, when it was this group's

    @property
    def button(self) -> str:
        """"Save reputation", "Save SLA and business hours": each form's button names its group."""
        label = self.label
        return "Save " + (label[0].lower() + label[1:] if label[1:2].islower() else label)


def _note(name: str) -> str:
    if name == "sla.first_answer_minutes" and policy.first_answer_override() is not None:
        return "The deployment's SLA_FIRST_ANSWER is set and wins over this value until it is removed."
    if name == "brand.logo":
        return "Upload or remove the logo on the Brand page."
    if name == "sla.business_hours":
        return ('Empty for round the clock, or e.g. {"timezone": "Europe/London", "days": ["mon", "tue", "wed", "thu", "fri"], '
                '"start": "09:00", "end": "17:00"}.')
    if name == "sla.tag_minutes":
        return 'Tag names to minutes, e.g. {"billing": 15, "outage": 5}; a question takes the shortest of its tags\' SLAs.'
    return ""


def groups(rows: list[Entry], typed: dict[str, str] | None = None, errors: dict[str, str] | None = None,
           saved: tuple[str, int] | None = None) -> list[Group]:
    typed, errors = typed or {}, errors or {}
    out: dict[str, list[Field]] = {}
    for e in rows:
        text = typed[e.name] if e.name in typed else as_text(e.value)
        out.setdefault(e.group, []).append(Field(e, kind_of(e.default), text, as_text(e.default) or "none",
                                                 errors.get(e.name, ""), _note(e.name)))
    return [Group(key, settings.group_label(key), fields, saved[1] if saved and saved[0] == key else None)
            for key, fields in out.items()]


# ---- pages -----------------------------------------------------------------------------------------

async def _page(request: Request, viewer: User, typed: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                status: int = 200, failed_group: str = "") -> Response:
    saved = None
    group, count = request.query_params.get("saved", ""), request.query_params.get("changed", "")
    if group in settings.GROUPS or any(t.group == group for t in settings.DECLARED.values()):
        saved = (group, int(count) if count.isdigit() and len(count) < 6 else 0)
    return await render(request, "admin/settings.html", {
        "groups": groups(setting_changes.entries(viewer), typed, errors, saved), "errors": errors or {},
        "failed_group": failed_group,
    }, status)


async def settings_page(request: Request) -> Response:
    viewer = privileges.require_admin(await current_user(request), "change the community's settings")
    if request.method == "GET":
        return await _page(request, viewer)
    form = await read_form(request)
    group = form.get("group", "")
    rows = [e for e in setting_changes.entries(viewer) if e.group == group]
    typed = {e.name: form[e.name] for e in rows if isinstance(form.get(e.name), str)}
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for e in rows:
        if e.name not in typed:
            continue
        try:
            values[e.name] = settings.validate(e.name, from_text(e, typed[e.name]))
        except Invalid as err:  # every field's message at once, beside its field
            errors[e.name] = err.message
    if not errors:
        try:
            changes = await setting_changes.change(viewer, values)
        except DomainError as err:
            errors = {err.field if isinstance(err, Invalid) and err.field in typed else "form": err.message}
            if err.status != 422:
                return with_retry_after(await _page(request, viewer, typed, errors, err.status, group), err)
        else:
            return redirect(f"/admin/settings?saved={group}&changed={len(changes)}#{group}")
    return await _page(request, viewer, typed, errors, 422, group)


# ---- API -------------------------------------------------------------------------------------------

async def api_list(request: Request) -> Response:
    rows = setting_changes.entries(await current_user(request))
    return JSONResponse({"items": [e.as_json() for e in rows]})


async def api_change(request: Request) -> Response:
    user = await current_user(request)
    privileges.require_admin(user, "change the community's settings")  # before the body: a stranger learns nothing of it
    changes = await setting_changes.change(user, await read_json(request))
    return JSONResponse({
        "changed": [{"name": name, "old": old, "new": new} for name, (old, new) in changes.items()],
        "items": [e.as_json() for e in setting_changes.entries(user)],
    })


def _forget_kept_pages() -> None:
    """Pages this worker kept were made with the old values (the brand in every header, ranks, thresholds)."""
    page_cache.entries.clear()
    page_cache.shared_entries.clear()


settings.AFTER_RELOAD.append(_forget_kept_pages)


async def startup(app: Starlette) -> list:
    """Each worker follows the settings table: a change saved anywhere is in force here within a second."""
    return [settings.follow()]


routes = [
    Route("/admin/settings", settings_page, methods=["GET", "POST"]),
    Route("/api/v1/admin/settings", api_list, methods=["GET"]),
    Route("/api/v1/admin/settings", api_change, methods=["PATCH"]),
]

_I, _O = {"type": "integer"}, {"type": "object"}
openapi.describe("GET", "/api/v1/admin/settings", "Every setting: name, value, default, description and group (admins)",
                 auth=True)
openapi.describe("PATCH", "/api/v1/admin/settings",
                 "Change settings, all or none: {name: value, ...}; a refused value answers 422 naming the setting "
                 "as the error's field, and nothing is saved (admins)",
                 {"sla.first_answer_minutes": _I, "sla.tag_minutes": _O}, 200, True)
