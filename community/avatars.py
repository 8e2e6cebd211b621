"""Members' pictures: an uploaded avatar (checked from its content, cropped to a centred square of
256 px, then stored through community/uploads.py, which keeps only the pixels and names the file by
its SHA-256 under UPLOAD_DIR), and the generated default: the member's initials on a colour derived
from their id."""

from __future__ import annotations

import asyncio
import colorsys
import hashlib
import html
import io
import re
import warnings
import zlib
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from community import db, uploads
from community.errors import Invalid
from community.models import Post, Upload, User

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a picture larger than this is refused before its pixels are decoded
SIZE = 256
FORMATS = ("JPEG", "PNG", "WEBP")
# Shown for a deleted account or a post whose author row is gone.
ANONYMOUS_URL = "/avatars/member.svg"


def upload_dir(config: Any) -> Path:
    """UPLOAD_DIR (community/config.py: VAR_DIR/uploads unless set)."""
    return Path(config.upload_dir)


def avatar_url(user: User | None) -> str:
    """Where a member's picture is: their upload, else their generated default (versioned by the name
    whose initials it shows, so a new name is a new address and the picture can be cached for long)."""
    if user is None or user.deleted_at is not None:
        return ANONYMOUS_URL
    if user.avatar:
        return f"/uploads/{user.avatar}"
    return f"/avatars/{user.id}.svg?v={zlib.crc32(shown_name(user).encode()):08x}"


def shown_name(user: User) -> str:
    return user.display_name or user.username


def initials(name: str) -> str:
    """One or two letters: the first of the first two words ("Ana María" -> "AM"), else the first letter."""
    words = [w for w in re.split(r"[\s._\-]+", name) if w]
    letters = [next((ch for ch in w if ch.isalnum()), "") for w in words[:2]]
    return "".join(letters).upper()[:2] or "?"


def colour(user_id: int) -> str:
    """A colour of its own per member: a hue from a hash of the id, dark enough for white letters."""
    digest = hashlib.sha256(f"avatar:{user_id}".encode()).digest()
    hue = int.from_bytes(digest[:2], "big") / 65536
    lightness = 0.34 + digest[2] / 255 * 0.06
    r, g, b = colorsys.hls_to_rgb(hue, lightness, 0.55)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def default_svg(user_id: int | None, name: str) -> str:
    """The generated avatar: presentation attributes only (no style), a title for assistive technology."""
    fill = colour(user_id) if user_id is not None else "#6b7280"
    text = html.escape(initials(name)) if user_id is not None else ""
    figure = (f'<text x="32" y="32" dy="0.35em" text-anchor="middle" font-family="system-ui, sans-serif" '
              f'font-size="{26 if len(text) < 2 else 22}" font-weight="600" fill="#ffffff">{text}</text>' if text else
              '<circle cx="32" cy="25" r="11" fill="#e5e7eb"/><path d="M12 56c2-11 10-17 20-17s18 6 20 17z" fill="#e5e7eb"/>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64" role="img">'
            f'<title>{html.escape(name)}</title><rect width="64" height="64" fill="{fill}"/>{figure}</svg>')


_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF")  # how JPEG, PNG and WebP files begin


def _refuse(message: str) -> Invalid:
    return Invalid("avatar", message)


def make_avatar(data: bytes) -> bytes:
    """The picture squared and sized, as lossless WebP bytes for community/uploads.py to check and
    store (one lossy encoding, there). Raises Invalid("avatar", ...) for what is not a JPEG, PNG or
    WebP (whatever its name says), too big, or cannot be read."""
    if not data:
        raise _refuse("Choose a picture to upload (JPEG, PNG or WebP).")
    if len(data) > MAX_BYTES:
        raise _refuse(f"The picture is {len(data) / 1048576:.1f} MB; upload one of at most {MAX_BYTES // 1048576} MB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as img:
                if img.width * img.height > MAX_PIXELS:
                    raise _refuse(f"The picture is {img.width} × {img.height} pixels; upload a smaller one.")
                img.seek(0)  # an animation's first frame
                img.load()
                picture = ImageOps.exif_transpose(img)  # upright as the camera meant, before its EXIF is dropped
    except Invalid:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse(f"The picture unpacks to far more than {MAX_PIXELS // 1_000_000} million pixels; upload a smaller one.") from None
    except UnidentifiedImageError:
        if not data.startswith(_MAGIC) and data[8:12] != b"WEBP":
            raise _refuse("That file is not a JPEG, PNG or WebP picture. Upload a photo or image in one of those formats.") from None
        raise _refuse("That picture could not be read (it may be damaged). Try another file.") from None
    except Exception:  # whatever a damaged or hostile file makes the decoder raise
        raise _refuse("That picture could not be read (it may be damaged). Try another file.") from None
    alpha = picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info
    picture = picture.convert("RGBA" if alpha else "RGB")
    side = min(picture.size)
    left, top = (picture.width - side) // 2, (picture.height - side) // 2
    square = picture.crop((left, top, left + side, top + side)).resize((SIZE, SIZE), Image.Resampling.LANCZOS)
    # A new image from the pixels alone: nothing of the file it came from (EXIF, GPS, ICC, comments) goes with it.
    clean = Image.frombytes(square.mode, square.size, square.tobytes())
    out = io.BytesIO()
    clean.save(out, "WEBP", lossless=True)
    return out.getvalue()


async def set_avatar(user: User, data: bytes, config: Any, *, address: str | None = None) -> User:
    """Make an uploaded picture the member's avatar (stored as every upload is, purpose "avatar")."""
    from community.questions import bump_generation

    uploads.check_may_upload(user, "avatar")
    squared = await asyncio.to_thread(make_avatar, data)
    row = await uploads.store(user, squared, upload_dir(config), purpose="avatar", address=address)
    await User.filter(id=user.id).update(avatar=row.name)
    previous, user.avatar = user.avatar, row.name
    if previous and previous != row.name:
        await forget(previous, config)
    await bump_generation()  # their picture is kept with the thread pages
    return user


async def remove_avatar(user: User, config: Any) -> None:
    """Back to the generated default; the file goes too unless someone else shows the same picture."""
    from community.questions import bump_generation

    previous = user.avatar
    await User.filter(id=user.id).update(avatar="")
    user.avatar = ""
    if previous:
        await forget(previous, config)
    await bump_generation()


async def forget(name: str, config: Any) -> None:
    """Delete an avatar's row and file once no member shows it and no post holds it (an image put in
    a post is never touched: its row says purpose "post")."""
    if not uploads.NAME.match(name) or await User.filter(avatar=name).exists():
        return
    if await Post.filter(body__contains=name).exists():
        return  # the same picture was put in a post as well (a rare scan: only when an avatar changes)
    if await Upload.filter(name=name, purpose="avatar").delete():
        (upload_dir(config) / name).unlink(missing_ok=True)


def stored_file(name: str, config: Any) -> Path | None:
    """The stored avatar file, or None."""
    path = upload_dir(config) / name
    return path if uploads.NAME.match(name) and path.is_file() else None


async def default_for(user_id: int) -> str:
    """The generated avatar of a member (a neutral figure for a deleted or unknown one)."""
    rows = await db.fetch('SELECT username, display_name, deleted_at FROM "user" WHERE id = ?', [user_id]) \
        if -2**31 < user_id < 2**31 else []
    if not rows or rows[0]["deleted_at"] is not None:
        return default_svg(None, "deleted member")
    return default_svg(user_id, rows[0]["display_name"] or rows[0]["username"])
