"""The composer's server side: POST /api/v1/preview renders exactly what a post stores; the ask page
shows every field's error at once; a body over the limit comes back in the page with the text kept;
the forms carry the composer progressively (they still post without it)."""

from __future__ import annotations

import html
import re

from community import openapi
from community.models import Comment, Post
from community.questions import BODY_MAX
from tests.conftest import login, token_for
from tests.test_uploads import jpeg_with_gps

BODY = """**eSIM** not activating after *switching* phones.

- Settings > Mobile data
- `*#06#` shows the EID

> Activation failed (error 33)

See [the help page](https://example.com/esim) and ask @helper. <script>alert(1)</script>
"""


async def _preview(client, headers, body):
    return await client.post("/api/v1/preview", headers=headers, json={"body": body})


async def test_the_preview_is_exactly_what_the_post_stores(client, users):
    await users("asker", 200)
    await users("helper", 200)
    auth = await token_for(client, "asker")
    up = await client.post("/api/v1/uploads", headers=auth, files={"file": ("eid.jpg", jpeg_with_gps((120, 80)), "image/jpeg")})
    body = BODY + f"\n![EID screen](/uploads/{up.json()['name']})\n"
    r = await _preview(client, auth, body)
    assert r.status_code == 200, r.text
    shown = r.json()["html"]
    assert "<strong>eSIM</strong>" in shown and "<em>switching</em>" in shown and "<blockquote>" in shown
    assert '<a href="/users/' in shown and "<script" not in shown  # @helper linked, the script gone
    assert 'width="120" height="80"' in shown
    q = await client.post("/api/v1/questions", headers=auth, json={"title": "eSIM not activating after a phone switch",
                                                                   "body": body, "tags": ["esim"]})
    assert q.status_code == 201, q.text
    assert (await Post.get(id=q.json()["id"])).body_html == shown
    a = await client.post(f"/api/v1/questions/{q.json()['id']}/answers", headers=auth, json={"body": body})
    assert (await Post.get(id=a.json()["id"])).body_html == shown
    comment = "Same for me with **dual SIM** and @helper"
    c = await client.post(f"/api/v1/posts/{q.json()['id']}/comments", headers=auth, json={"body": comment})
    assert (await Comment.get(id=c.json()["id"])).body_html == (await _preview(client, auth, comment)).json()["html"]


async def test_the_preview_takes_members_and_the_usual_limits(client, users):
    await users("writer", 1)
    auth = await token_for(client, "writer")
    assert (await _preview(client, {}, "hello")).status_code == 401
    r = await _preview(client, auth, "x" * (BODY_MAX + 1))
    assert r.status_code == 422 and r.json()["error"]["field"] == "body"
    assert f"Keep it to {BODY_MAX} characters (it has {BODY_MAX + 1})" in r.json()["error"]["message"]
    r = await _preview(client, auth, 42)
    assert r.status_code == 422 and r.json()["error"]["field"] == "body"
    assert (await _preview(client, auth, "")).json() == {"html": ""}  # nothing typed yet: no minimum while typing
    assert (await _preview(client, auth, "x" * 70_000)).status_code == 413
    csrf = await login(client, "writer")
    assert (await _preview(client, {}, "**hi**")).status_code == 403  # a browser session must send its CSRF token
    r = await _preview(client, {"X-CSRF-Token": csrf}, "**hi**")
    assert r.json() == {"html": "<p><strong>hi</strong></p>\n"}
    assert openapi.PATHS["/api/v1/preview"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"] == {
        "body": {"type": "string"}}
    assert "multipart/form-data" in openapi.PATHS["/api/v1/uploads"]["post"]["requestBody"]["content"]


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


async def test_the_ask_page_shows_every_fields_error_at_once(client, users):
    await users("asker", 200)
    csrf = await login(client, "asker")
    r = await client.post("/questions/ask", data={"csrf_token": csrf, "title": "Help", "body": "broken", "tags": "BAD TAG!"})
    assert r.status_code == 422
    page = r.text
    for field, words in (("title", "at least 15 characters"), ("body", "at least 20 characters"), ("tags", "may use only")):
        error = re.search(rf'<p class="field-error" id="{field}-error" role="alert">([^<]*)</p>', page)
        assert error and words in html.unescape(error.group(1)), (field, page[:3000])
    assert 'value="Help"' in page and ">broken</textarea>" in page and 'value="BAD TAG!"' in page
    assert await Post.all().count() == 0


async def test_a_body_over_the_limit_comes_back_in_the_page_with_everything_kept(client, users):
    await users("asker", 200)
    auth = await token_for(client, "asker")
    csrf = await login(client, "asker")
    title = "Call log export stops halfway through"
    for body in ("log line\n" * 3400, "журнал " * 4300):  # over 30,000 characters; the second is 150 KB once form-encoded
        r = await client.post("/questions/ask", data={"csrf_token": csrf, "title": title, "body": body, "tags": "calls"})
        assert r.status_code == 422
        assert "<h1>Ask the community</h1>" in r.text  # the normal page, not a bare refusal
        assert f'value="{title}"' in r.text and html.escape(body.strip()[:2000]) in r.text
        assert f"Keep it to {BODY_MAX} characters (it has {len(body.strip())})" in r.text
        assert 'value="calls"' in r.text
    q = await client.post("/api/v1/questions", headers=auth,
                          json={"title": title, "body": "It stops at about half of the calls every time.", "tags": ["calls"]})
    qid = q.json()["id"]
    long_answer = "step " * 6001
    r = await client.post(f"/questions/{qid}/answers", data={"csrf_token": csrf, "body": long_answer})
    assert r.status_code == 422 and html.escape(long_answer.strip()[:3000]) in r.text
    assert f"Keep it to {BODY_MAX} characters" in r.text
    r = await client.post(f"/posts/{qid}/edit", data={"csrf_token": csrf, "title": title, "body": long_answer, "tags": "calls"})
    assert r.status_code == 422 and html.escape(long_answer.strip()[:3000]) in r.text and f'value="{title}"' in r.text
    # A valid post of 30,000 characters in any script gets through the request size limit.
    r = await client.post("/questions/ask", data={"csrf_token": csrf, "title": title + " again", "body": "ж" * BODY_MAX, "tags": "calls"},
                          follow_redirects=False)
    assert r.status_code == 303, r.text[:500]


async def test_the_forms_carry_the_composer_and_still_post_without_it(client, users):
    await users("asker", 200)
    csrf = await login(client, "asker")
    ask = (await client.get("/questions/ask")).text
    assert 'data-draft="ask"' in ask and re.search(r'<textarea id="body" name="body"[^>]* data-composer', ask)
    assert '<script src="/static/composer.js" defer></script>' in ask and 'href="/static/composer.css"' in ask
    assert 'method="post" action="/questions/ask"' in ask  # a plain form: without JavaScript it posts as before
    r = await client.post("/questions/ask", data={"csrf_token": csrf, "title": "Voicemail greeting resets every week",
                                                  "body": "My custom greeting goes back to the default.", "tags": "voicemail"})
    assert r.status_code == 303
    qid = int(re.search(r"/questions/(\d+)", r.headers["location"]).group(1))
    thread = (await client.get(f"/questions/{qid}", follow_redirects=True)).text
    assert f'data-draft="answer-{qid}" data-draft-done="#answer-"' in thread and "/static/composer.js" in thread
    edit = (await client.get(f"/posts/{qid}/edit")).text
    assert f'data-draft="edit-{qid}"' in edit and "data-composer" in edit and "/static/composer.js" in edit
    for name in ("composer.js", "composer.css"):
        assert (await client.get(f"/static/{name}")).status_code == 200
