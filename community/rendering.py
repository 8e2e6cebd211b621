"""Markdown to safe HTML, done once at write time: CommonMark, then an allow-list sanitiser."""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": True, "linkify": False}).enable("table").enable("strikethrough")

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "dd", "dl", "dt", "em", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "ul",
}
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"align"}, "td": {"align"}}
_SCHEMES = {"http", "https", "mailto"}


# A member's own picture: one the forum stored (community/uploads.py), never one from elsewhere.
UPLOAD_SRC = re.compile(r"^/uploads/[0-9a-f]{64}\.(?:jpg|png|webp)$")


def _uploads_only(element: str, attribute: str, value: str) -> str | None:
    if element == "img" and attribute == "src":
        return value if UPLOAD_SRC.match(value) else None
    return value


def sanitise(html: str, uploads_only: bool = False) -> str:
    """The allow-list. `uploads_only`: images only from /uploads/ (what members write); imported
    posts keep the https images they link."""
    return nh3.clean(html, tags=_TAGS, attributes=_ATTRIBUTES, url_schemes=_SCHEMES, link_rel="nofollow ugc noopener",
                     attribute_filter=_uploads_only if uploads_only else None)


def markdown(text: str) -> str:
    """A member's Markdown as safe HTML; images without their size until `with_image_sizes`."""
    return sanitise(_md.render(text), uploads_only=True)


_UPLOAD_IMG = re.compile(r'<img\b[^>]*?\bsrc="/uploads/([0-9a-f]{64}\.(?:jpg|png|webp))"[^>]*>')


def image_tags(html: str) -> list[str]:
    """Every uploaded picture a rendered post shows, once per time it is shown."""
    return _UPLOAD_IMG.findall(html)


def image_names(html: str) -> set[str]:
    """The uploads a rendered post shows."""
    return set(_UPLOAD_IMG.findall(html))


def with_image_sizes(html: str, sizes: dict[str, tuple[int, int]]) -> str:
    """Give each uploaded image its width and height, so the page keeps its place while it loads.
    The sanitiser dropped any the member wrote; these come from the stored picture."""

    def sized(m: re.Match[str]) -> str:
        size = sizes.get(m.group(1))
        if size is None:
            return m.group(0)
        return f'{m.group(0)[:-1]} width="{size[0]}" height="{size[1]}" loading="lazy">'

    return _UPLOAD_IMG.sub(sized, html)


_LINK = re.compile(r"<a\s", re.I)


def count_links(html: str) -> int:
    return len(_LINK.findall(html))


_TAG_RE = re.compile(r"<[^>]+>")


def plain_text(html: str) -> str:
    import html as htmllib

    return htmllib.unescape(_TAG_RE.sub(" ", html))
