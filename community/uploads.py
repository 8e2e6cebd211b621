"""Images members put in posts (and avatars): checked, re-encoded with Pillow so only the pixels
survive (no EXIF, GPS, ICC or text chunks), stored once under UPLOAD_DIR named by the SHA-256 of the
stored bytes, and measured so the renderer can give each image its width and height."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps
from tortoise.exceptions import IntegrityError

from community import clock, db, privileges, ratelimit, settings
from community.errors import Invalid, NotAllowed, NotFound
from community.models import Upload, User
from community.rendering import image_names, with_image_sizes

MAX_BYTES = 10 * 1024 * 1024
MAX_SIDE = 4000
# Pillow's name -> (extension, content type). Only these three are read at all.
FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "WEBP": ("webp", "image/webp")}
CONTENT_TYPES = {ext: ctype for ext, ctype in FORMATS.values()}
NAME = re.compile(r"^[0-9a-f]{64}\.(?:jpg|png|webp)$")
PURPOSES = ("post", "avatar", "logo")  # logo: the community's (community/brand.py)

settings.declare("limit.uploads_per_hour", 30, "Images one member may upload in an hour", "limits")
settings.declare("limit.uploads_per_hour_per_address", 60, "Images that may be uploaded from one network address in an hour", "limits")
ratelimit.RULES["upload"] = ratelimit.Rule("limit.uploads_per_hour", "limit.uploads_per_hour_per_address",
                                           "image", "uploaded", "upload again")

_REFUSED = "Upload a JPEG, PNG or WebP picture (a screenshot or a photo)."


@dataclass(frozen=True)
class Encoded:
    data: bytes
    ext: str
    content_type: str
    width: int
    height: int

    @property
    def name(self) -> str:
        return f"{hashlib.sha256(self.data).hexdigest()}.{self.ext}"


def _sniff(data: bytes) -> str | None:
    """The format the bytes themselves say they are; the file's name and declared type count for nothing."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _pixels_only(img: Image.Image) -> Image.Image:
    """A new image holding only the pixels: nothing of the original's info (EXIF, XMP, ICC, text) comes along."""
    img = ImageOps.exif_transpose(img)  # a phone photo keeps the way up it was taken, then its EXIF goes
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    if img.mode in ("L", "RGB", "RGBA"):
        pass
    elif img.mode == "LA" or has_alpha:
        img = img.convert("RGBA")
    elif img.mode in ("1", "I;16", "I", "F") or img.mode.startswith("I;"):
        img = img.convert("L")
    else:  # P without transparency, CMYK, YCbCr, ...
        img = img.convert("RGB")
    return Image.frombytes(img.mode, img.size, img.tobytes())


def reencode(data: bytes) -> Encoded:
    """Check and re-encode an uploaded picture (CPU work: run it in a thread). Raises Invalid("file")."""
    if not data:
        raise Invalid("file", "The file is empty. " + _REFUSED)
    if len(data) > MAX_BYTES:
        raise Invalid("file", f"Images may be at most 10 MB; this one is {len(data) / 1024 / 1024:.1f} MB. "
                              "Try a smaller screenshot.")
    kind = _sniff(data)
    if kind is None:
        raise Invalid("file", "This file is not a JPEG, PNG or WebP image (GIF, SVG and other files are not taken). "
                              + _REFUSED)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=[kind])
            width, height = img.size
            if width > MAX_SIDE or height > MAX_SIDE:
                raise Invalid("file", f"This image is {width} × {height} pixels; images may be at most "
                                      f"{MAX_SIDE:,} pixels on a side. Scale it down and try again.")
            img.load()  # the header said a sane size; now decode, which finds truncated or corrupt data
            clean = _pixels_only(img)
    except Invalid:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Invalid("file", f"This image unpacks to far more pixels than it should; images may be at most "
                              f"{MAX_SIDE:,} pixels on a side.") from None
    except Exception:  # whatever a damaged or hostile file makes the decoder raise
        raise Invalid("file", f"This {kind.lower()} image could not be read; it may be damaged. " + _REFUSED) from None
    out = io.BytesIO()
    if kind == "JPEG":
        clean.convert("RGB" if clean.mode != "L" else "L").save(out, "JPEG", quality=88, optimize=True)
    elif kind == "PNG":
        clean.save(out, "PNG")
    else:
        clean.save(out, "WEBP", quality=88, method=4)
    ext, content_type = FORMATS[kind]
    return Encoded(out.getvalue(), ext, content_type, clean.width, clean.height)


def check_may_upload(user: User | None, purpose: str = "post") -> User:
    """Members who may post; pictures in posts wait, like links beyond a few, until a member is no
    longer new (limit.new_member_rep). An avatar is every member's."""
    user = privileges.require_active(user)
    if purpose not in PURPOSES:
        raise Invalid("purpose", f"An upload is for one of: {', '.join(PURPOSES)}.")
    needed = settings.get("limit.new_member_rep")
    if purpose == "post" and user.reputation < needed and not user.is_moderator and not user.is_staff:
        raise NotAllowed(f"Adding images takes {needed} reputation (you have {user.reputation}), as links beyond "
                         f"{settings.get('limit.new_member_links')} do. Describe what you see in words meanwhile.",
                         field="file")
    return user


def _write_once(directory: Path, encoded: Encoded) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / encoded.name
    if path.exists():
        return  # the same bytes are stored once
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(encoded.data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)  # readers see the whole file or none
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


async def store(user: User | None, data: bytes, directory: Path, *, purpose: str = "post",
                address: str | None = None) -> Upload:
    """Check, re-encode and keep an uploaded picture; the same picture gives back the same row.
    `address`: the client's, when uploaded through a request (the hourly limits count it)."""
    user = check_may_upload(user, purpose)
    async with db.transaction() as conn:  # counted before the work, so refused files count too
        await ratelimit.spend("upload", user, address, conn)
    encoded = await asyncio.to_thread(reencode, data)
    await asyncio.to_thread(_write_once, directory, encoded)
    existing = await Upload.filter(name=encoded.name).first()
    if existing is not None:
        return existing
    try:
        return await Upload.create(name=encoded.name, user_id=user.id, purpose=purpose,
                                   content_type=encoded.content_type, width=encoded.width, height=encoded.height,
                                   size=len(encoded.data), created_at=clock.now())
    except IntegrityError:  # the same picture, stored by another request meanwhile
        return await Upload.get(name=encoded.name)


async def find(name: str) -> Upload:
    """The stored picture of this name, for serving it."""
    row = await Upload.filter(name=name).first() if NAME.match(name) else None
    if row is None:
        raise NotFound("There is no image with that name.")
    return row


def markdown_for(upload: Upload, alt: Any = None) -> str:
    """What the composer inserts: ![alt](/uploads/NAME), the alt text kept to plain words."""
    text = " ".join(re.sub(r"[\[\]\\()<>*_`!]", " ", alt if isinstance(alt, str) else "").split())[:100]
    return f"![{text or 'screenshot'}](/uploads/{upload.name})"


async def sized(html: str, conn: Any = None) -> str:
    """Rendered HTML with each uploaded image's width and height from its Upload row."""
    names = image_names(html)
    if not names:
        return html
    rows = await Upload.filter(name__in=list(names)).using_db(conn).values_list("name", "width", "height")
    return with_image_sizes(html, {name: (w, h) for name, w, h in rows})
