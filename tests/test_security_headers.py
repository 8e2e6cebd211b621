"""Security headers (issue 12) on every kind of response, HSTS and Secure cookies over https, and in
a real browser: the main pages of every role raise no content-security-policy violation and no
console error, and the ask page's script still works under the policy."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import expect
from starlette.responses import Response
from starlette.routing import Route

from community import acceptance, questions, slugs
from community.app import create_app
from community.headers import CONTENT_SECURITY_POLICY
from tests.browser import ROOT, log_in, new_page

EXPECTED = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def assert_security_headers(r: httpx.Response, https: bool = False) -> None:
    csp = r.headers.get("content-security-policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ")}
    assert directives["default-src"] == ["'self'"], (r.url, csp)
    assert directives["script-src"] == ["'self'"] and directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"] and directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"] and directives["form-action"] == ["'self'"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    for name, value in EXPECTED.items():
        assert r.headers.get(name) == value, (r.url, name, r.headers.get(name))
    if https:
        assert r.headers["strict-transport-security"] == "max-age=31536000"
    else:
        assert "strict-transport-security" not in r.headers
    assert len(r.headers.get_list("content-security-policy")) == 1


async def _boom(request):
    raise RuntimeError("a bug in a handler")


async def _plain_cookie(request):
    response = Response("ok")
    response.set_cookie("hint", "1")  # no secure flag asked for
    return response


def _with_test_routes(app):
    app.router.routes.insert(0, Route("/test-boom", _boom))
    app.router.routes.insert(0, Route("/api/v1/test-boom", _boom))
    app.router.routes.insert(0, Route("/test-cookie", _plain_cookie))
    return app


async def test_every_kind_of_response_carries_the_headers(app, users):
    await users("alice")
    _with_test_routes(app)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        login_page = await client.get("/login")
        checks = [
            (login_page, 200),
            (await client.get("/"), 200),
            (await client.get("/api/v1/questions"), 200),
            (await client.get("/static/site.css"), 200),
            (await client.get("/static/ask.js"), 200),
            (await client.get("/no/such/page"), 404),
            (await client.get("/api/v1/no/such/thing"), 404),
            (await client.post("/api/v1/questions", json={"title": "x"}), 401),
            (await client.post("/api/v1/tokens", content=b"x" * (70 * 1024),
                               headers={"content-type": "application/json"}), 413),
            (await client.get("/test-boom"), 500),
            (await client.get("/api/v1/test-boom"), 500),
        ]
        for r, status in checks:
            assert r.status_code == status, (r.url, r.status_code)
            assert_security_headers(r)
        assert "secure" not in (await client.get("/test-cookie")).headers["set-cookie"].lower()
        assert "secure" not in login_page.headers["set-cookie"].lower()


async def test_https_adds_hsts_and_makes_every_cookie_secure(config, database, users):
    config.base_url = "https://forum.example.com"
    app = _with_test_routes(create_app(config, manage_db=False, background=False))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://forum.example.com") as client:
        for path, status in (("/", 200), ("/static/site.css", 200), ("/api/v1/questions", 200), ("/nowhere", 404),
                             ("/test-boom", 500)):
            r = await client.get(path)
            assert r.status_code == status
            assert_security_headers(r, https=True)
        session = (await client.get("/login")).headers["set-cookie"]
        assert session.startswith("session=") and "; secure" in session.lower()
        plain = (await client.get("/test-cookie")).headers["set-cookie"]
        assert plain.startswith("hint=1") and plain.lower().count("secure") == 1


def test_the_policy_allows_nothing_inline_and_no_template_needs_it():
    assert "unsafe" not in CONTENT_SECURITY_POLICY
    assert "img-src 'self' data: https:" in CONTENT_SECURITY_POLICY  # never plain http images
    inline = re.compile(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+\s*=|javascript:", re.I)
    # templates/mail/ are mails, not pages: mail clients drop linked and <style> CSS, so their styles are inline.
    pages = [p for p in sorted((ROOT / "templates").rglob("*.html")) if "mail" not in p.relative_to(ROOT / "templates").parts[:1]]
    assert len(pages) > 20
    found = [f"{path.relative_to(ROOT)}: {m.group(0)}" for path in pages for m in inline.finditer(path.read_text(encoding="utf-8"))]
    assert found == []  # such things go into community/static/ (site.css, site.js, ask.js)


# ----- in a real browser ----------------------------------------------------------------------


class Watch:
    """Console messages of level warning or error, page errors, and CSP violation events of one page."""

    def __init__(self, page) -> None:
        self.problems: list[str] = []
        page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("response", lambda r: self.problems.append(f"{r.status} for {r.url}") if r.status >= 400 else None)
        self.page = page

    async def start(self) -> None:
        await self.page.add_init_script(
            "window.__violations = [];"
            "document.addEventListener('securitypolicyviolation', function (e) {"
            "  window.__violations.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || ''));"
            "});")

    async def visit(self, url: str) -> None:
        response = await self.page.goto(url)
        assert response.status == 200, url
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        await self.page.wait_for_load_state("load")
        for violation in await self.page.evaluate("window.__violations"):
            self.problems.append(f"{url}: CSP violation {violation}")


@pytest.mark.browser
async def test_main_pages_of_every_role_break_no_policy_and_the_ask_page_still_works(live_server, browser, users):
    url = live_server.url
    admin = await users("boss", 1, "admin")
    asker = await users("roamer", 50)
    helper = await users("helper", 50)
    solved = await questions.ask(asker, "Roaming data not working in France on my plan",
                                 "Mobile data stops as soon as I land in Paris although roaming is on.", "roaming france")
    answer = await questions.answer(helper, solved.id, "Turn on data roaming in Settings > Mobile data, then restart.")
    await acceptance.accept(asker, solved.id, answer.id)

    anonymous = await new_page(browser)
    watch = Watch(anonymous)
    await watch.start()
    for path in ("/", "/questions", f"/questions/{solved.id}", "/tags", "/login", "/signup", "/forgot",
                 "/search?q=roaming", f"/users/{asker.id}", "/privileges"):
        await watch.visit(url + path)

    page = await new_page(browser)
    boss = Watch(page)
    await boss.start()
    await log_in(page, url, "boss")
    for path in ("/", f"/questions/{solved.id}", "/inbox", "/support", "/insights", "/review", "/moderation/log",
                 f"/posts/{solved.id}/moderate", f"/posts/{solved.id}/revisions", f"/users/{helper.id}/suspend",
                 f"/posts/{answer.id}/edit", f"/users/{admin.id}", "/account"):
        await boss.visit(url + path)

    # The thread page's script: a vote goes through the API and the score changes without a reload.
    await boss.visit(url + f"/questions/{solved.id}")
    score = page.locator(f'.votes[data-post="{answer.id}"] .score')
    before = int(await score.inner_text())
    await page.locator(f'.votes[data-post="{answer.id}"] .vote.up').click()
    await expect(score).to_have_text(str(before + 1))  # (wait_for_function would need 'unsafe-eval')
    assert page.url.endswith(slugs.question_path(solved))

    # The ask page's script: typing a title shows similar questions found by the search API.
    await boss.visit(url + "/questions/ask")
    await page.get_by_label("Title").press_sequentially("Roaming data not working in France", delay=15)
    await page.locator("#similar").wait_for(state="visible")
    first = page.locator("#similar-list li").first
    assert "Solved" in await first.inner_text()
    assert re.search(r"Roaming data not working in France on my plan", await first.inner_text())
    for violation in await page.evaluate("window.__violations"):
        boss.problems.append(f"ask page: CSP violation {violation}")

    assert watch.problems == [] and boss.problems == [], watch.problems + boss.problems
