"""What search engines read: the thread page's canonical address, description, Open Graph tags and
schema.org QAPage data, /sitemap.xml and /robots.txt."""

from __future__ import annotations

import html
import json
import re
from datetime import datetime, timezone
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from tortoise.expressions import Q

from community import questions, slugs
from community.errors import NotFound
from community.models import Post, User
from community.serialise import _author
from community.web import page_cache

SITE_NAME = "Community help"


def _site_name() -> str:
    """The community's name (its brand, community/brand.py; a change bumps the content generation)."""
    from community import brand

    return brand.current().name
DESCRIPTION_LENGTH = 155
# Questions per sitemap file. A file holds the visible questions whose post ids fall in its range of
# this many ids, read by the primary key: a file never scans more than its range, a question stays in
# the same file for good, and none holds more than the sitemap protocol's 50,000 addresses.
SITEMAP_IDS = 50_000


# ----- the thread's address -----------------------------------------------------------------------

def refuse_action(request: Request) -> None:
    """/questions/{id}/{slug} must not answer for an action's address: a GET of a POST-only action
    stays a 405, a name kept for actions that has no route a 404, as before slugs existed."""
    slug = request.path_params.get("slug")
    if slug not in slugs.RESERVED:
        return
    action = f"/questions/{{question_id}}/{slug}"
    if any(getattr(route, "path", None) == action for route in request.app.router.routes):
        raise HTTPException(status_code=405)
    raise NotFound("There is nothing at this address.")


def moved(request: Request, question: Post, viewer: User | None) -> Response | None:
    """A 301 to the canonical address when the request used the bare id or an outdated slug; None
    when it is already there, or when the viewer may not see the question (the page says not found)."""
    if not questions.can_see(question, viewer):
        return None
    path = slugs.question_path(question)
    if request.url.path == path:
        return None
    query = request.url.query
    return RedirectResponse(f"{path}?{query}" if query else path, status_code=301)


# ----- the thread page's head ---------------------------------------------------------------------

_BLOCK_TAG = re.compile(r"</?(?:p|div|br|hr|li|ul|ol|h[1-6]|pre|blockquote|table|tr|td|th|img)\b[^>]*>", re.I)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def plain_text(body_html: str) -> str:
    """A post's words without markup (its HTML was sanitised when it was stored): blocks apart,
    inline markup such as <strong> gone without a trace."""
    text = _TAG.sub("", _BLOCK_TAG.sub(" ", body_html or ""))
    return _SPACE.sub(" ", html.unescape(text)).strip()


def description(text: str, limit: int = DESCRIPTION_LENGTH) -> str:
    """The first `limit` characters or fewer, cut between words, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:-") + "…"


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="seconds")


def _person(post: Post, base: str) -> dict[str, Any] | None:
    author = _author(post)
    if author is None:
        return None
    return {"@type": "Person", "name": author.display_name or author.username, "url": f"{base}/users/{author.id}"}


def _answer(answer: Post, url: str, base: str) -> dict[str, Any]:
    data: dict[str, Any] = {"@type": "Answer", "text": plain_text(answer.body_html), "upvoteCount": answer.score,
                            "url": f"{url}#answer-{answer.id}", "dateCreated": _iso(answer.created_at)}
    person = _person(answer, base)
    if person:
        data["author"] = person
    return data


def qa_page(question: Post, answers: list[Post], base: str) -> dict[str, Any]:
    """schema.org QAPage data for the question and the answers everyone may see."""
    url = base + slugs.question_path(question)
    shown = [a for a in answers if a.visible]
    accepted = [a for a in shown if a.id == question.accepted_answer_id]
    suggested = [a for a in shown if a.id != question.accepted_answer_id]
    entity: dict[str, Any] = {
        "@type": "Question", "name": question.title, "text": plain_text(question.body_html) or question.title,
        "answerCount": len(shown), "upvoteCount": question.score, "dateCreated": _iso(question.created_at), "url": url,
    }
    person = _person(question, base)
    if person:
        entity["author"] = person
    if accepted:
        entity["acceptedAnswer"] = _answer(accepted[0], url, base)
    if suggested:
        entity["suggestedAnswer"] = [_answer(a, url, base) for a in suggested]
    return {"@context": "https://schema.org", "@type": "QAPage", "mainEntity": entity}


def json_for_html(data: Any) -> str:
    """JSON that cannot end the <script> element holding it: '<', '>' and '&' are written as \\u
    escapes (still the same JSON); ASCII only, so U+2028 and U+2029 are escaped too."""
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def thread_head(question: Post, answers: list[Post], base_url: str) -> bytes:
    """The thread page's <head> additions, as UTF-8. Kept on the shared question row, so built once
    per content generation (community.pages reads the row once per generation).

    The structured data is rendered here, not in a template: templates hold no <script> element
    (tests check it), and application/ld+json is data that browsers never run, so the content
    security policy's script-src does not apply to it."""
    base = base_url.rstrip("/")
    kept = question.__dict__.get("_seo_head")
    if kept is not None and kept[0] == base:
        return kept[1]
    url = base + slugs.question_path(question)
    summary = description(plain_text(question.body_html)) or question.title
    e = html.escape
    lines = [
        f'<link rel="canonical" href="{e(url)}">',
        f'<meta name="description" content="{e(summary)}">',
        '<meta property="og:type" content="website">',
        f'<meta property="og:site_name" content="{e(_site_name())}">',
        f'<meta property="og:title" content="{e(question.title)}">',
        f'<meta property="og:description" content="{e(summary)}">',
        f'<meta property="og:url" content="{e(url)}">',
    ]
    if not question.visible or question.closed_reason == "duplicate":
        lines.append('<meta name="robots" content="noindex">')  # only its readers see it, or the original should rank
    else:
        lines.append(f'<script type="application/ld+json">{json_for_html(qa_page(question, answers, base))}</script>')
    head = ("\n".join(lines) + "\n").encode()
    question.__dict__["_seo_head"] = (base, head)
    return head


# ----- sitemap and robots.txt ---------------------------------------------------------------------

def _listed() -> Any:
    """The questions a search engine should list: visible, and not closed as a duplicate."""
    return Post.filter(Q(closed_reason__isnull=True) | Q(closed_reason__not="duplicate"),
                       kind="question", hidden=False, deleted_at=None)


def _xml(body: str) -> Response:
    return Response('<?xml version="1.0" encoding="UTF-8"?>\n' + body, media_type="application/xml")


async def _urlset(base: str, page: int) -> Response:
    low, high = (page - 1) * SITEMAP_IDS, page * SITEMAP_IDS
    rows = await _listed().filter(id__gt=low, id__lte=high).order_by("id").values(
        "id", "title", "last_activity_at", "edited_at")
    items = []
    for row in rows:
        changed = max(t for t in (row["last_activity_at"], row["edited_at"]) if t is not None)
        items.append(f"<url><loc>{xml_escape(base + slugs.question_path(row))}</loc><lastmod>{_iso(changed)}</lastmod></url>")
    return _xml('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' + "\n".join(items) + "\n</urlset>\n")


async def _files() -> int:
    """How many sitemap files the post ids span (one look at the primary key's end)."""
    last = await Post.all().order_by("-id").limit(1).values_list("id", flat=True)
    return max(1, -(-int(last[0] if last else 0) // SITEMAP_IDS))


def _base(request: Request) -> str:
    return request.app.state.config.base_url.rstrip("/")


async def sitemap(request: Request) -> Response:
    """The questions' sitemap itself while one file holds them all, else an index of the files."""
    async def make() -> Response:
        base, files = _base(request), await _files()
        if files == 1:
            return await _urlset(base, 1)
        entries = "\n".join(f"<sitemap><loc>{xml_escape(base)}/sitemap-questions-{n}.xml</loc></sitemap>" for n in range(1, files + 1))
        return _xml(f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{entries}\n</sitemapindex>\n')

    return await page_cache.serve(request, make)


async def sitemap_file(request: Request) -> Response:
    page = request.path_params["page"]

    async def make() -> Response:
        if not 1 <= page <= await _files():
            raise NotFound("There is no sitemap file with that number.")
        return await _urlset(_base(request), page)

    return await page_cache.serve(request, make)


# Pages only members or staff use, searches (endless and thin) and the API stay out of the index.
PRIVATE_PATHS = (
    "/search", "/api/", "/support", "/admin", "/account", "/inbox", "/review", "/insights",
    "/moderation/", "/login", "/signup", "/logout", "/forgot", "/reset/", "/confirm-email/", "/mail/",
    "/questions/ask", "/posts/", "/questions/*/close", "/questions/*/escalate", "/questions/*/de-escalate",
    "/users/*/suspend",
)


async def robots(request: Request) -> Response:
    lines = ["User-agent: *", "Allow: /", *(f"Disallow: {path}" for path in PRIVATE_PATHS), "",
             f"Sitemap: {_base(request)}/sitemap.xml", ""]
    return PlainTextResponse("\n".join(lines))


routes = [
    Route("/robots.txt", robots),
    Route("/sitemap.xml", sitemap),
    Route("/sitemap-questions-{page:int}.xml", sitemap_file),
]
