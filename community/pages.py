"""HTML pages of the community room. Each handler reads input, calls one service, renders."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from community import (acceptance, accounts, activity, badges, email_address, honeypot, notifications, oidc, privileges, questions, ranks, reputation, seo,
                       slugs, times, voting, watches)
from community.errors import DomainError, Invalid, NotAllowed, NotFound, TooMany
from community.models import Post, User
from community.web import (client_address, context, csrf_token, current_user, log_in, log_out, page_cache, read_form,
                           redirect, render, templates, with_retry_after)


def _safe_next(value: Any) -> str:
    # Only paths on this site: browsers read "//host" and "/\\host" as another site; control characters are refused too.
    if not isinstance(value, str) or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    return value if value.isprintable() and "\\" not in value else "/"


async def home(request: Request) -> Response:
    return await page_cache.serve(request, lambda: _question_list(request, request.query_params.get("tag") or None))


async def tag_page(request: Request) -> Response:
    tag = request.path_params["name"]

    async def make() -> Response:
        viewer = await current_user(request)  # members only: the page kept for anonymous readers has no button
        return await _question_list(request, tag, {"watching_tag": await watches.watching_tag(viewer, tag)})

    return await page_cache.serve(request, make)


async def _question_list(request: Request, tag: str | None, extra: dict[str, Any] | None = None) -> Response:
    """A page of questions, with links to the pages before ("" is the first) and after it."""
    p = request.query_params
    sort, cursor = p.get("sort", "newest"), p.get("cursor")
    items, next_cursor = await questions.list_questions(sort, tag, cursor)
    prev_cursor = (await questions.previous_cursor(sort, tag, items[0]) if items else "") if cursor else None
    return await render(request, "community/questions.html", {
        "items": items, "next_cursor": next_cursor, "prev_cursor": prev_cursor, "sort": sort, "tag": tag,
        "sorts": questions.SORTS, "escalated": await _escalated(items, await current_user(request)), **(extra or {}),
    })


async def _escalated(items: list[Post], viewer: User | None) -> set[int]:
    """The listed questions that wait with support (an open or claimed ticket), through the rooms'
    question decorators (the support room's: one query for the page)."""
    from community.api import QUESTION_DECORATORS

    pairs: list[tuple[Post, dict[str, Any]]] = [(q, {}) for q in items]
    for decorate in QUESTION_DECORATORS if items else ():
        await decorate(pairs, viewer)
    return {q.id for q, data in pairs if (data.get("escalation") or {}).get("state") in ("open", "claimed")}


async def tag_index(request: Request) -> Response:
    return await page_cache.serve(request, lambda: _tag_index(request))


async def _tag_index(request: Request) -> Response:
    return await render(request, "community/tags.html", {"tags": await questions.tags()})


async def thread_view(request: Request) -> Response:
    """The thread at its canonical address, /questions/{id}/{slug}; the bare id and an outdated slug
    move there (301)."""
    seo.refuse_action(request)
    return await thread_page(request, canonical=True)


async def thread_page(request: Request, form_errors: dict | None = None, form_values: dict | None = None, status: int = 200,
                      canonical: bool = False) -> Response:
    qid = request.path_params["question_id"]

    async def make() -> Response:
        viewer = await current_user(request)
        # The posts and comments are the same for every reader: read them once, kept until a write
        # changes this thread or a member shown on it (community/page_changes.py).
        content = await page_cache.shared(request, ("thread", str(qid)), lambda: questions.thread_content(qid),
                                          questions.thread_scope)
        if canonical and (elsewhere := seo.moved(request, content.question, viewer)) is not None:
            return elsewhere
        t = await questions.thread(qid, viewer, content)
        extra: dict[str, Any] = {}
        for hook in THREAD_EXTRAS:
            _merge_extras(extra, await hook(t.question, viewer))
        errors, values = form_errors or {}, form_values or {}
        posts = _posts_html(t, viewer, extra.get("post_links"), errors, values, times.Reading(times.zone_name(viewer)))
        posts["seo"] = seo.thread_head(t.question, content.answers, request.app.state.config.base_url)
        if viewer is not None:
            extra["csrf_token"] = CSRF_MARK
        ctx = await context(request, {
            "request": request, "t": t, "q": "", "errors": errors, "values": values, **_POST_PLACES, **extra,
        })
        body = _page_bytes(templates.get_template("community/thread.html").render(ctx), posts)
        if viewer is not None:
            body = body.replace(CSRF_MARK.encode(), csrf_token(request).encode())
        return HTMLResponse(body, status)

    if form_errors:
        return await make()
    return await page_cache.serve(request, make)


# Other rooms add to the thread page (escalation banner, close notice) without touching it.
THREAD_EXTRAS: list = []


async def kept_with_thread(question: Post, key: str, load: Callable[[], Awaitable[Any]]) -> Any:
    """What `load` returns, kept on the thread's shared question row: for a THREAD_EXTRAS hook's
    reads that every viewer sees alike and that only a write which bumps the content generation
    changes (such a write brings a new row). Read once per generation instead of once per view."""
    kept = question.__dict__.setdefault("_kept_with_thread", {})
    if key not in kept:
        kept[key] = await load()
    return kept[key]


# Rendered where a member's CSRF token goes, so post fragments can be shared between members; the
# page swaps in the viewer's own token. Random per process, so no post can contain it.
CSRF_MARK = secrets.token_hex(16)
# The page is rendered with marks where the posts go (POST_MARK, a name, POST_MARK) and the posts'
# kept bytes are put in after; random for the same reason.
POST_MARK = secrets.token_hex(16)
_POST_PLACES = {f"{name}_html": Markup(f"{POST_MARK}{name}{POST_MARK}") for name in ("head", "question", "answers", "seo")}
_KEPT_VIEWS = 8  # fragments kept per post row: one per kind of viewer (vote, author, asker, privileges)
_POST_PRIVILEGES = ("upvote", "downvote", "comment")  # the post's own controls; a viewer without one sees it disabled


def _posts_html(t: questions.Thread, viewer: User | None, links: Any, errors: dict, values: dict,
                reading: times.Reading | None = None) -> dict[str, bytes]:
    """The question's head (title, state, tags), the question and the answers, as UTF-8, kept on
    their rows per kind of viewer.

    A thread's rows are shared by every reader for a whole content generation (PageCache.shared), so
    a post is rendered and encoded once per distinct view of it, not once per request. The key is
    every argument of the post macro that is about the viewer; the macro sees nothing else (it has no
    context). Kept as bytes because encoding was the biggest single cost of a member's page: the vote
    arrows are not ASCII, so Python holds the page as two bytes a character, and 80 KB took 0.2 ms.
    The posts' times are marks (community/times.py), kept cut at them: `reading` puts in the viewer's.
    """
    reading = reading or times.Reading(times.zone_name(viewer))
    macros = templates.get_template("community/_post.html").module
    q = t.question
    head = q.__dict__.get("_page_head")
    if head is None:
        head = q.__dict__["_page_head"] = macros.question_head(q).encode()
    html: list[bytes] = []
    needs = privileges.missing(viewer, _POST_PRIVILEGES)  # what the controls need that this viewer lacks
    for p in (q, *t.answers):
        view = (t.my_votes.get(p.id, 0), viewer is not None, viewer is not None and viewer.id == p.author_id,
                viewer is not None and viewer.id == q.author_id, tuple(links(p)) if links else (), needs)
        comments = t.comments.get(p.id, [])
        macro = macros.post if p is q else macros.answer
        if errors:  # a form re-rendered with the member's text and message is never kept
            html.append(reading.join(times.split(macro(p, q, comments, *view, CSRF_MARK, errors, values).encode())))
            continue
        kept = p.__dict__.setdefault("_page_views", {})
        fragment = kept.get(view)
        if fragment is None:
            fragment = times.split(macro(p, q, comments, *view, CSRF_MARK, {}, {}).encode())
            if len(kept) < _KEPT_VIEWS:
                kept[view] = fragment
        html.append(reading.join(fragment))
    return {"head": head, "question": html[0], "answers": b"\n".join(html[1:])}


def _page_bytes(page: str, posts: dict[str, bytes]) -> bytes:
    """The rendered page as UTF-8, with the posts' kept bytes put in at their marks."""
    parts = page.split(POST_MARK)
    # Even places are the page around the posts, odd places the names between a pair of marks.
    return b"".join(posts[part] if i % 2 else part.encode() for i, part in enumerate(parts))


def _merge_extras(extra: dict[str, Any], more: dict[str, Any]) -> None:
    """Several rooms may add banners and post links: banners add up, post links are joined."""
    for key, value in more.items():
        if key in ("thread_banners", "thread_includes"):  # includes: partials rendered with the page context (forms get the CSRF token)
            extra[key] = [*extra.get(key, []), *value]
        elif key == "post_links" and key in extra:
            first = extra[key]
            extra[key] = lambda p, first=first, second=value: [*first(p), *second(p)]
        else:
            extra[key] = value


async def ask_page(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    if request.method == "GET":
        return await render(request, "community/ask.html", {"values": {}, "errors": {}})
    form = await read_form(request)
    errors = questions.question_errors(form.get("title"), form.get("body"), form.get("tags"))
    if errors:  # every field's message at once, not one per submit
        return await render(request, "community/ask.html", {"values": form, "errors": errors}, 422)
    try:
        q = await questions.ask(user, form.get("title"), form.get("body"), form.get("tags"), address=client_address(request))
    except (Invalid, NotAllowed, TooMany) as err:
        return with_retry_after(await render(request, "community/ask.html", {"values": form, "errors": {err.field or "form": err.message}}, err.status), err)
    for hook in ASKED_HOOKS:
        await hook(request, q, form)
    return redirect(slugs.question_path(q))


ASKED_HOOKS: list = []


async def post_answer(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    form = await read_form(request)
    try:
        a = await questions.answer(user, request.path_params["question_id"], form.get("body"), address=client_address(request))
    except (Invalid, NotAllowed, TooMany) as err:
        return with_retry_after(await thread_page(request, {"answer": err.message}, {"answer": form.get("body", "")}, err.status), err)
    return redirect(f"/questions/{a.question_id}#answer-{a.id}")


async def post_comment(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    form = await read_form(request)
    post = await questions.get_post(request.path_params["post_id"], user)
    qid = post.id if post.is_question else post.question_id
    try:
        await questions.comment(user, post.id, form.get("body"), address=client_address(request))
    except (Invalid, NotAllowed, TooMany) as err:
        request.path_params["question_id"] = qid
        page = await thread_page(request, {f"comment-{post.id}": err.message}, {f"comment-{post.id}": form.get("body", "")}, err.status)
        return with_retry_after(page, err)
    return redirect(f"/questions/{qid}#post-{post.id}")


async def post_vote(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    form = await read_form(request)
    post = await questions.get_post(request.path_params["post_id"], user)
    await voting.vote(user, post.id, form.get("value"), address=client_address(request))
    qid = post.id if post.is_question else post.question_id
    return redirect(f"/questions/{qid}#post-{post.id}")


async def post_accept(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    form = await read_form(request)
    qid = request.path_params["question_id"]
    if form.get("undo"):
        await acceptance.unaccept(user, qid)
    else:
        await acceptance.accept(user, qid, form.get("answer_id"))
    return redirect(f"/questions/{qid}")


async def edit_page(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    post = await questions.get_post(request.path_params["post_id"], user)
    if request.method == "GET":
        values = {"title": post.title, "body": post.body, "tags": post.tag_names}
        return await render(request, "community/edit.html", {"post": post, "values": values, "errors": {}})
    form = await read_form(request)
    try:
        await questions.edit(user, post.id, form.get("title") if post.is_question else None, form.get("body"),
                             form.get("tags") if post.is_question else None)
    except (Invalid, NotAllowed) as err:
        return await render(request, "community/edit.html", {"post": post, "values": form, "errors": {err.field or "form": err.message}}, err.status)
    qid = post.id if post.is_question else post.question_id
    return redirect(f"/questions/{qid}#post-{post.id}")


async def user_page(request: Request) -> Response:
    try:
        profile = await accounts.get_user(int(request.path_params["user_id"]))
    except (ValueError, OverflowError):
        raise NotFound("There is no member with that id.") from None
    if profile.deleted_at is not None:
        raise NotFound("This member deleted their account; their posts stay, shown as written by a deleted member.")
    viewer = await current_user(request)
    private = privileges.sees_private(viewer, profile)
    return await render(request, "community/user.html", {
        "profile": profile,
        "sees_private": private,  # e.g. mail to the member's address bouncing
        "watched_tags": await watches.watched_tags(profile) if private else None,
        "history": await reputation.history_by_day(profile.id),
        "questions": await questions.user_posts(profile.id, "question"),
        "answers": await questions.user_posts(profile.id, "answer"),
        "badges": badges.grouped(await badges.of_member(profile.id)), "rank": ranks.rank_for(profile.reputation),
        "all_badges": badges.RULES,
        "weeks": await activity.weekly(profile.id), "top_tags": await activity.top_tags(profile.id),
    })


async def privileges_page(request: Request) -> Response:
    user = await current_user(request)
    return await render(request, "community/privileges.html", {"items": privileges.progress(user)})


async def signup_page(request: Request) -> Response:
    oidc.refuse_passwords(request)  # SSO_ONLY: members come in through the company's sign-in
    if request.method == "GET":
        return await render(request, "community/signup.html", {"values": {}, "errors": {}, "form_page": True})
    form = await read_form(request)
    try:
        honeypot.refuse_if_filled(form)  # a bot filled the field people never see
        user = await accounts.sign_up(form.get("username"), form.get("email"), form.get("password"),
                                      address=client_address(request))
    except DomainError as err:
        values = {k: form.get(k, "") for k in ("username", "email")}
        page = await render(request, "community/signup.html", {"values": values, "errors": {err.field or "form": err.message}, "form_page": True}, err.status)
        return with_retry_after(page, err)
    await email_address.confirm_new_member(user, request.app.state.config)
    await log_in(request, user)
    request.session["welcome"] = True  # the welcome panel, until dismissed (community.guidance)
    return redirect(_safe_next(form.get("next")))


async def login_page(request: Request) -> Response:
    if request.method == "GET":
        return await render(request, "community/login.html", {"values": {"next": request.query_params.get("next", "/")}, "errors": {}, "form_page": True})
    oidc.refuse_passwords(request)
    form = await read_form(request)
    try:
        user = await accounts.authenticate(form.get("username"), form.get("password"), client_address(request))
    except DomainError as err:
        values = {"username": form.get("username", ""), "next": form.get("next", "/")}
        page = await render(request, "community/login.html", {"values": values, "errors": {err.field or "form": err.message}, "form_page": True}, err.status)
        return with_retry_after(page, err)
    await log_in(request, user)
    return redirect(_safe_next(form.get("next")))


async def logout(request: Request) -> Response:
    await read_form(request)
    leave_to = await oidc.after_log_out(request)  # the provider's end-session endpoint, when signed in through one
    await log_out(request)
    return redirect(leave_to or "/")


async def forgot_page(request: Request) -> Response:
    oidc.refuse_passwords(request)
    if request.method == "GET":
        return await render(request, "community/forgot.html", {"values": {}, "errors": {}, "form_page": True})
    form = await read_form(request)
    cfg = request.app.state.config
    try:
        await accounts.request_reset(form.get("identifier"), cfg.ensure_secret(), cfg.base_url, mail_on=bool(cfg.smtp_url))
    except DomainError as err:
        return await render(request, "community/forgot.html", {"values": form, "errors": {err.field or "form": err.message}, "form_page": True}, err.status)
    return await render(request, "community/forgot.html", {"values": {}, "errors": {}, "sent": True, "form_page": True})


async def reset_page(request: Request) -> Response:
    token = request.path_params["token"]
    secret = request.app.state.config.ensure_secret()
    if request.method == "GET":
        user = await accounts.user_for_reset(token, secret)
        oidc.refuse_passwords(request, user)  # SSO_ONLY: an admin's reset link still works
        return await render(request, "community/reset.html", {"who": user.username, "errors": {}, "form_page": True})
    form = await read_form(request)
    try:
        oidc.refuse_passwords(request, await accounts.user_for_reset(token, secret))
        user = await accounts.reset_password(token, secret, form.get("password"))
    except Invalid as err:
        return await render(request, "community/reset.html", {"errors": {err.field or "form": err.message}, "form_page": True}, err.status)
    await log_in(request, user)
    return redirect("/")


async def inbox_page(request: Request) -> Response:
    user = privileges.require_user(await current_user(request))
    items = await notifications.inbox(user)
    response = await render(request, "community/inbox.html", {"items": items})
    await notifications.mark_read(user)
    return response


routes = [
    Route("/", home),
    Route("/questions", home),
    Route("/questions/ask", ask_page, methods=["GET", "POST"]),
    Route("/questions/{question_id}", thread_view),
    Route("/questions/{question_id}/answers", post_answer, methods=["POST"]),
    Route("/questions/{question_id}/accept", post_accept, methods=["POST"]),
    Route("/questions/{question_id}/{slug}", thread_view),  # after every action: seo.refuse_action keeps theirs
    Route("/posts/{post_id}/vote", post_vote, methods=["POST"]),
    Route("/posts/{post_id}/comments", post_comment, methods=["POST"]),
    Route("/posts/{post_id}/edit", edit_page, methods=["GET", "POST"]),
    Route("/tags", tag_index),
    Route("/tags/{name}", tag_page),
    Route("/users/{user_id}", user_page),
    Route("/privileges", privileges_page),
    Route("/signup", signup_page, methods=["GET", "POST"]),
    Route("/login", login_page, methods=["GET", "POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/forgot", forgot_page, methods=["GET", "POST"]),
    Route("/reset/{token}", reset_page, methods=["GET", "POST"]),
    Route("/inbox", inbox_page),
    *seo.routes,
]
