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


def sanitise(html: str) -> str:
    return nh3.clean(html, tags=_TAGS, attributes=_ATTRIBUTES, url_schemes=_SCHEMES, link_rel="nofollow ugc noopener")


def markdown(text: str) -> str:
    return sanitise(_md.render(text))


_LINK = re.compile(r"<a\s", re.I)


def count_links(html: str) -> int:
    return len(_LINK.findall(html))


_TAG_RE = re.compile(r"<[^>]+>")


def plain_text(html: str) -> str:
    import html as htmllib

    return htmllib.unescape(_TAG_RE.sub(" ", html))
