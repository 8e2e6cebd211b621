"""The community's brand: its name, logo and primary colour (and its time zone), settings an admin
changes at /admin/brand. Every page shows them: the header's logo and name, and /brand.css, a small
stylesheet made from the colour (custom properties for both colour schemes; the content security
policy allows no inline style), linked with a version so a change shows at once."""

from __future__ import annotations

import asyncio
import functools
import html
import io
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from markupsafe import Markup
from PIL import Image, ImageOps
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from community import inputs, privileges, profile, settings, uploads, web
from community.errors import BadRequest, Invalid, NotAllowed, TooLarge, TooMany
from community.models import User

DEFAULT_NAME = "Community help"
DEFAULT_COLOR = "#0b5cad"
settings.declare("brand.name", DEFAULT_NAME, "The community's name, in the header, page titles and link previews", "brand")
settings.declare("brand.primary_color", DEFAULT_COLOR,
                 "Primary colour (#rrggbb) of buttons, links and the header; white text on it must reach 4.5:1", "brand")
settings.declare("brand.logo", "", "The logo: an uploaded picture's name ('' for a mark made from the name and colour)", "brand")

NAME_LIMIT = 60
MIN_CONTRAST = 4.5  # WCAG 2 AA for normal text: white on the primary colour (buttons), the colour on white (links)
LOGO_SIDE = 128  # stored square, shown at 32 px (sharp on screens of up to 4x)
HEX = re.compile(r"^#[0-9a-f]{6}$")
# A logo is a picture like any other (community/uploads.py); the form's body may hold it and a little more.
web.LARGER_BODIES.append((re.compile(r"^/admin/brand$"), uploads.MAX_BYTES + 64 * 1024,
                          "A logo may be at most 10 MB; this file is larger. Choose a smaller picture.", "logo"))


# ---- colours ---------------------------------------------------------------------------------------

def _rgb(color: str) -> tuple[float, float, float]:
    return int(color[1:3], 16) / 255, int(color[3:5], 16) / 255, int(color[5:7], 16) / 255


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(min(1.0, max(0.0, c)) * 255):02x}" for c in rgb)


def luminance(color: str) -> float:
    """WCAG 2's relative luminance of a #rrggbb colour."""
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in _rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2's contrast ratio of two #rrggbb colours (1 to 21)."""
    la, lb = luminance(a), luminance(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def mix(a: str, b: str, t: float) -> str:
    """`a` moved a fraction `t` of the way to `b`."""
    return _hex(tuple(x + (y - x) * t for x, y in zip(_rgb(a), _rgb(b))))  # type: ignore[arg-type]


def toward(color: str, target: str, against: str, ratio: float = MIN_CONTRAST) -> str:
    """`color`, moved the least toward `target` (black or white) that reads at `ratio` on `against`."""
    for step in range(0, 101):
        candidate = mix(color, target, step / 100)
        if contrast(candidate, against) >= ratio:
            return candidate
    return target


def check_color(value: Any) -> str:
    """A #rrggbb colour that white button text reads on (WCAG AA, 4.5:1). Raises Invalid("primary_color")."""
    text = value.strip().lower() if isinstance(value, str) else ""
    if not HEX.match(text):
        raise Invalid("primary_color", "Give the colour as # and six hexadecimal digits, such as #0f766e.")
    ratio = contrast(text, "#ffffff")
    if ratio < MIN_CONTRAST:
        raise Invalid("primary_color",
                      f"{text} is too light for white text on buttons: the contrast is {ratio:.2f}:1, and WCAG AA "
                      f"needs at least {MIN_CONTRAST}:1. A darker shade of it that passes: "
                      f"{toward(text, '#000000', '#ffffff', MIN_CONTRAST + 0.05)}.")
    return text


def check_name(value: Any) -> str:
    text = " ".join(value.split()) if isinstance(value, str) else ""
    if not text:
        raise Invalid("name", "Give the community a name; it shows in the header and in page titles.")
    if len(text) > NAME_LIMIT:
        raise Invalid("name", f"Keep the name to {NAME_LIMIT} characters (it has {len(text)}).")
    return text


def check_zone(value: Any) -> str:
    return profile.check_time_zone(value) or "UTC"


def check_logo(value: Any) -> str:
    """'' (the mark made from the name) or the name of an uploaded picture; a new logo is uploaded at /admin/brand."""
    text = value.strip() if isinstance(value, str) else None
    if text is None or (text and not uploads.NAME.match(text)):
        raise Invalid("logo", "Leave the logo empty (a mark made from the name) or upload a picture on the Brand page.")
    return text


# The same rules wherever a brand setting is changed (this page, the settings console, the API).
settings.rule("brand.name", check_name)
settings.rule("brand.primary_color", check_color)
settings.rule("brand.logo", check_logo)


# The page backgrounds of site.css that brand colours are read on, light and dark (site.css says the same).
LIGHT_BACKGROUNDS = ("#ffffff", "#f3f6f9", "#eef2f6")
DARK_BACKGROUNDS = ("#0f1419", "#161d25", "#1c2530")


def _readable(color: str, target: str, backgrounds: tuple[str, ...]) -> str:
    """`color` moved the least toward `target` that reads at 4.5:1 (and a little) on every one of `backgrounds`."""
    for step in range(0, 101):
        candidate = mix(color, target, step / 100)
        if all(contrast(candidate, bg) >= MIN_CONTRAST + 0.1 for bg in backgrounds):
            return candidate
    return target


@functools.lru_cache(maxsize=32)
def stylesheet(color: str) -> str:
    """/brand.css for a primary colour: the custom properties site.css reads, for light and dark."""
    light_soft = mix(color, "#ffffff", 0.88)
    dark_soft = mix(color, DARK_BACKGROUNDS[0], 0.72)
    light = {
        "--brand": color, "--brand-ink": "#ffffff", "--accent": color, "--accent-ink": "#ffffff",
        "--link": _readable(color, "#000000", LIGHT_BACKGROUNDS + (light_soft,)),
        "--brand-deep": mix(color, "#000000", 0.45),
        "--brand-soft": light_soft, "--brand-soft-ink": _readable(color, "#000000", (light_soft,)),
    }
    dark = {
        "--link": _readable(color, "#ffffff", DARK_BACKGROUNDS + (dark_soft,)),
        "--brand-deep": mix(color, DARK_BACKGROUNDS[0], 0.8),
        "--brand-soft": dark_soft, "--brand-soft-ink": _readable(color, "#ffffff", (dark_soft,)),
    }

    def block(values: dict[str, str]) -> str:
        return " ".join(f"{k}: {v};" for k, v in values.items())

    return (f"/* The community's colours (community/brand.py), from its primary colour {color}. */\n"
            f":root {{ {block(light)} }}\n"
            f"@media (prefers-color-scheme: dark) {{ :root {{ {block(dark)} }} }}\n")


def _version(*parts: str) -> str:
    return f"{zlib.crc32('|'.join(parts).encode()):08x}"


def mark_svg(name: str, color: str) -> str:
    """The logo when none is uploaded: the name's first letter on a rounded square of the colour."""
    letter = html.escape(next((ch for ch in name if ch.isalnum()), "C").upper())
    return ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">'
            f'<rect width="64" height="64" rx="16" fill="{color}"/>'
            '<path d="M44 14a22 22 0 0 1 8 8M47 8a29 29 0 0 1 11 11" fill="none" stroke="#ffffff" stroke-opacity=".75" '
            'stroke-width="4" stroke-linecap="round"/>'
            f'<text x="30" y="36" dy="0.35em" text-anchor="middle" font-family="system-ui, sans-serif" font-size="34" '
            f'font-weight="700" fill="#ffffff">{letter}</text></svg>')


@dataclass(frozen=True)
class Brand:
    name: str
    color: str
    logo_url: str
    css_url: str
    uploaded_logo: bool


@functools.lru_cache(maxsize=8)
def _brand(name: str, color: str, logo: str) -> Brand:
    if logo and uploads.NAME.match(logo):
        logo_url, uploaded = f"/uploads/{logo}", True
    else:
        logo_url, uploaded = f"/brand-mark.svg?v={_version(name, color)}", False
    return Brand(name, color, logo_url, f"/brand.css?v={_version(stylesheet(color))}", uploaded)


def current() -> Brand:
    """The brand now (templates: `brand()`); settings that do not read as a brand fall back to the defaults."""
    name = settings.get("brand.name")
    color = settings.get("brand.primary_color")
    logo = settings.get("brand.logo")
    return _brand(name if isinstance(name, str) and name.strip() else DEFAULT_NAME,
                  color if isinstance(color, str) and HEX.match(color) else DEFAULT_COLOR,
                  logo if isinstance(logo, str) else "")


web.templates.env.globals["brand"] = current


# ---- the header's current item ---------------------------------------------------------------------

_CURRENT = Markup(' aria-current="page"')
_WITHIN = Markup(' aria-current="true"')
# Each header item: the path it shows, and the start of the paths inside its section.
_SECTIONS = {"questions": ("/questions", "/questions/"), "tags": ("/tags", "/tags/"), "support": ("/support", "/support/"),
             "insights": ("/insights", "/insights/"), "review": ("/review", "/review/"), "brand": ("/admin/brand", None),
             "admin": ("/admin", "/admin/"),
             "ask": ("/questions/ask", None), "inbox": ("/inbox", None), "login": ("/login", None), "signup": ("/signup", None),
             "account": ("/account", "/account/")}


@functools.lru_cache(maxsize=1024)
def current_items(path: str, member_id: int | None = None) -> SimpleNamespace:
    """The aria-current attribute of each header item for a page (templates: `header_marks`): "page" on
    the item that is this page, "true" on the section it is in (a thread is in Questions)."""
    marks: dict[str, Markup] = {}
    for name, (exact, prefix) in _SECTIONS.items():
        if path == exact or (name == "questions" and path == "/"):
            marks[name] = _CURRENT
        elif prefix and path.startswith(prefix) and not (name == "questions" and path == "/questions/ask"):
            marks[name] = _WITHIN
        else:
            marks[name] = Markup("")
    marks["profile"] = _CURRENT if member_id is not None and path == f"/users/{member_id}" else marks.pop("account")
    return SimpleNamespace(**marks)  # attributes: a template reads them without a failed getattr first


web.templates.env.globals["header_marks"] = current_items


# ---- changing it -----------------------------------------------------------------------------------

def form_errors(name: Any, color: Any, zone: Any) -> dict[str, str]:
    """Every field's message at once (the page shows them together)."""
    errors: dict[str, str] = {}
    for check, value in ((check_name, name), (check_color, color), (check_zone, zone)):
        try:
            check(value)
        except Invalid as err:
            errors[err.field or "form"] = err.message
    return errors


def make_logo(data: bytes) -> bytes:
    """An uploaded logo, checked as every upload is (community/uploads.py), fitted inside a transparent
    square of LOGO_SIDE px, as PNG bytes for uploads.store. Raises Invalid("logo")."""
    try:
        encoded = uploads.reencode(data)
    except Invalid as err:
        raise Invalid("logo", err.message) from None
    with Image.open(io.BytesIO(encoded.data)) as img:
        img.load()
        picture = img.convert("RGBA")
    picture = ImageOps.contain(picture, (LOGO_SIDE, LOGO_SIDE), Image.Resampling.LANCZOS)  # a small one grows to fit
    square = Image.new("RGBA", (LOGO_SIDE, LOGO_SIDE), (0, 0, 0, 0))
    square.paste(picture, ((LOGO_SIDE - picture.width) // 2, (LOGO_SIDE - picture.height) // 2))
    out = io.BytesIO()
    square.save(out, "PNG", optimize=True)
    return out.getvalue()


async def save(user: User | None, name: Any, color: Any, zone: Any, *, logo: bytes = b"", remove_logo: bool = False,
               upload_dir: Path | None = None, address: str | None = None) -> Brand:
    """An admin changes the brand. Raises NotAllowed for anyone else, Invalid naming the first wrong field.
    Each changed value is recorded in the moderation audit log (community/admin/setting_changes.py)."""
    admin = privileges.require_admin(user, "change the community's brand")
    values = {"brand.name": check_name(name), "brand.primary_color": check_color(color), "site.time_zone": check_zone(zone)}
    if logo:
        if upload_dir is None:
            raise Invalid("logo", "Logos cannot be stored here (no upload folder).")
        squared = await asyncio.to_thread(make_logo, logo)
        row = await uploads.store(admin, squared, upload_dir, purpose="logo", address=address)
        values["brand.logo"] = row.name
    elif remove_logo:
        values["brand.logo"] = ""
    # Through the settings console's service: stored all or none, each change audited as "setting"
    # (who, old and new value), kept pages made again when something changed.
    from community.admin import setting_changes

    await setting_changes.change(admin, values)
    return current()


DEMO = {"brand.primary_color": "#0f766e", "site.time_zone": "Europe/London"}  # a calm teal; the demo's towns are British


async def use_demo(name: str) -> None:
    """The demo community's brand: a fictional mobile network's (community/demo.py)."""
    from community.questions import bump_generation

    for key, value in {"brand.name": name, **DEMO}.items():
        await settings.put(key, value)
    await bump_generation()


# ---- pages -----------------------------------------------------------------------------------------

async def stylesheet_response(request: Request) -> Response:
    """/brand.css: kept for a year under its version; an old version's address gets today's, not kept."""
    b = current()
    css = stylesheet(b.color)
    fresh = request.query_params.get("v") == b.css_url.rsplit("=", 1)[1]
    cache = "public, max-age=31536000, immutable" if fresh else "no-cache"
    return Response(css, media_type="text/css", headers={"Cache-Control": cache})


async def mark_response(request: Request) -> Response:
    b = current()
    fresh = not b.uploaded_logo and request.query_params.get("v") == b.logo_url.rsplit("=", 1)[1]
    cache = "public, max-age=31536000, immutable" if fresh else "no-cache"
    return Response(mark_svg(b.name, b.color), media_type="image/svg+xml", headers={"Cache-Control": cache})


def _values(b: Brand | None = None) -> dict[str, str]:
    b = b or current()
    return {"name": b.name, "primary_color": b.color, "time_zone": settings.get("site.time_zone") or "UTC"}


async def _page(request: Request, values: dict[str, str], errors: dict[str, str], status: int = 200) -> Response:
    return await web.render(request, "admin/brand.html", {
        "values": values, "errors": errors, "zone_groups": profile.zone_groups(), "saved": request.query_params.get("done") == "saved",
        "max_mb": uploads.MAX_BYTES // 1048576,
    }, status)


async def _read(request: Request) -> tuple[dict[str, str], bytes]:
    """The form's text fields (CSRF checked) and the logo's bytes (a little past the limit at most)."""
    try:
        form = await request.form(max_files=1, max_fields=10)
    except TooLarge:
        raise
    except Exception:
        raise BadRequest("The form could not be read; please try again.") from None
    try:
        web.check_csrf(request, form)
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        inputs.check_form(fields)
        file = form.get("logo")
        data = await file.read(uploads.MAX_BYTES + 1) if isinstance(file, UploadFile) else b""
        return fields, data
    finally:
        await form.close()


async def brand_page(request: Request) -> Response:
    user = privileges.require_admin(await web.current_user(request), "change the community's brand")
    if request.method == "GET":
        return await _page(request, _values(), {})
    fields, logo = await _read(request)
    values = {k: fields.get(k, "") for k in ("name", "primary_color", "time_zone")}
    errors = form_errors(values["name"], values["primary_color"], values["time_zone"])
    if not errors:
        try:
            await save(user, values["name"], values["primary_color"], values["time_zone"], logo=logo,
                       remove_logo=fields.get("remove_logo") == "1", upload_dir=request.app.state.config.upload_dir,
                       address=web.client_address(request))
        except (Invalid, NotAllowed, TooMany) as err:
            errors = {err.field or "form": err.message}
            if err.status != 422:
                return web.with_retry_after(await _page(request, values, errors, err.status), err)
    if errors:
        if logo and "logo" not in errors:
            errors["logo"] = "The logo was not saved with the other changes: choose the file again."
        return await _page(request, values, errors, 422)
    return web.redirect("/admin/brand?done=saved")


routes = [
    Route("/brand.css", stylesheet_response),
    Route("/brand-mark.svg", mark_response),
    Route("/admin/brand", brand_page, methods=["GET", "POST"]),
]
