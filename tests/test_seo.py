"""Found from web search: slugged question addresses and their redirects, the thread page's
canonical link, description, Open Graph tags and QAPage JSON-LD, /sitemap.xml and /robots.txt."""

from __future__ import annotations

import html
import json
import re
from xml.etree import ElementTree

import pytest
from starlette.routing import Route

from community import acceptance, questions, seo, slugs, voting
from community.models import Post
from moderation import closing
from tests.conftest import login

BODY = "Since the update my phone says the eSIM is not activated. I restarted twice and scanned the QR code again."
LD_JSON = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


# ----- slugs --------------------------------------------------------------------------------------

@pytest.mark.parametrize("title, slug", [
    ("eSIM not activating on iPhone", "esim-not-activating-on-iphone"),
    ("Café déjà vu: réseau 4G à Zürich?", "cafe-deja-vu-reseau-4g-a-zurich"),
    ("😀 eSIM 🚀 works now 👍🏽", "esim-works-now"),
    ("Can’t connect to Wi-Fi calling", "cant-connect-to-wi-fi-calling"),
    ("Straße ohne Netz", "strasse-ohne-netz"),
    ("Роуминг в Турции", "rouming-v-turtsii"),
    ("漫游 roaming", "man-you-roaming"),
    ("😀🚀👍", "question"),
    ("   ", "question"),
    ("", "question"),
    ("Close", "close-question"),  # an action's name would be read as the action
    ("Watch", "watch-question"),
    ("</script><b>hi</b>", "script-b-hi-b"),
])
def test_slug_from_the_title(title, slug):
    assert slugs.slugify(title) == slug


def test_long_titles_are_cut_between_words():
    title = "Why does my phone keep dropping from 5G to 4G when I travel between the city centre and the suburbs every day"
    slug = slugs.slugify(title)
    assert slug == "why-does-my-phone-keep-dropping-from-5g-to-4g-when-i-travel-between-the-city"
    assert len(slug) <= slugs.MAX_LENGTH and title.lower().replace(" ", "-").startswith(slug + "-")
    assert slugs.slugify("x" * 300) == "x" * slugs.MAX_LENGTH  # one endless word is cut inside
    assert slugs.question_path({"id": 7, "title": "Top-up failed"}) == "/questions/7/top-up-failed"
    assert slugs.question_path(7, "Top-up failed") == "/questions/7/top-up-failed"


def test_every_action_under_a_question_is_a_reserved_word(app):
    actions = {r.path.rsplit("/", 1)[1] for r in app.router.routes
               if isinstance(r, Route) and re.fullmatch(r"/questions/\{question_id\}/[^{}/]+", r.path)}
    assert {"answers", "accept", "watch", "close", "reopen", "escalate", "de-escalate"} <= actions
    assert actions <= slugs.RESERVED


# ----- addresses ----------------------------------------------------------------------------------

async def test_bare_id_and_wrong_slug_move_to_the_canonical_address(client, users):
    asker = await users("asker")
    q = await questions.ask(asker, "eSIM not activating on iPhone", BODY, ["esim"])
    canonical = f"/questions/{q.id}/esim-not-activating-on-iphone"
    for old in (f"/questions/{q.id}", f"/questions/{q.id}/esim", f"/questions/{q.id}/ESIM-not-activating-on-iphone",
                f"/questions/00{q.id}/esim-not-activating-on-iphone"):
        r = await client.get(old)
        assert (r.status_code, r.headers["location"]) == (301, canonical), old
    r = await client.get(f"/questions/{q.id}?page=2")
    assert (r.status_code, r.headers["location"]) == (301, canonical + "?page=2")
    page = await client.get(canonical)
    assert page.status_code == 200 and "<h1>eSIM not activating on iPhone</h1>" in page.text

    # An edited title gives a new address; the old one moves there.
    await questions.edit(asker, q.id, "eSIM stuck on activating after iOS update", BODY, ["esim"])
    r = await client.get(canonical)
    assert (r.status_code, r.headers["location"]) == (301, f"/questions/{q.id}/esim-stuck-on-activating-after-ios-update")

    # What nobody may see gives away no title: not found, whichever address.
    await Post.filter(id=q.id).update(hidden=True)
    for path in (f"/questions/{q.id}", f"/questions/{q.id}/anything"):
        assert (await client.get(path)).status_code == 404
    assert (await client.get("/questions/999999/no-such-thing")).status_code == 404
    assert (await client.get("/questions/abc/no-such-thing")).status_code == 404


async def test_action_addresses_answer_as_before(client, users):
    asker = await users("asker")
    mod = await users("mod", 1, "moderator")
    q = await questions.ask(asker, "Close this account", BODY, ["esim"])
    await Post.filter(id=q.id).update(title="Close")  # as imported: its slug must not be an action's name
    q = await Post.get(id=q.id)
    assert slugs.question_path(q) == f"/questions/{q.id}/close-question"
    # GET of a POST-only action: still "method not allowed", not the thread.
    for action in ("answers", "accept", "watch", "reopen"):
        r = await client.get(f"/questions/{q.id}/{action}")
        assert r.status_code == 405, action
    # Reserved names without a route under /questions/ stay not found (they live under /posts/).
    for action in ("edit", "revisions", "flag"):
        assert (await client.get(f"/questions/{q.id}/{action}")).status_code == 404, action

    await login(client, "mod")
    close = await client.get(f"/questions/{q.id}/close")
    assert close.status_code == 200 and f'action="/questions/{q.id}/close"' in close.text
    escalate = await client.get(f"/questions/{q.id}/escalate")
    assert escalate.status_code == 200 and f'action="/questions/{q.id}/escalate"' in escalate.text
    assert f'href="/questions/{q.id}/close-question"' in escalate.text  # links to the thread use its slug
    assert (await client.get(f"/questions/{q.id}/de-escalate")).status_code == 200

    csrf = await login(client, "asker")
    r = await client.post(f"/questions/{q.id}/answers", data={"body": "Answering my own question with the fix I found.", "csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"].startswith(f"/questions/{q.id}#answer-")
    thread = await client.get(r.headers["location"], follow_redirects=True)
    assert thread.url.path == f"/questions/{q.id}/close-question" and "Answering my own question" in thread.text


async def test_lists_link_threads_by_their_slug(client, users):
    asker = await users("asker")
    q = await questions.ask(asker, "Roaming in Türkiye costs too much", BODY, ["roaming"])
    path = f"/questions/{q.id}/roaming-in-turkiye-costs-too-much"
    assert f'<a href="{path}">' in (await client.get("/questions")).text
    assert f'<a href="{path}">' in (await client.get("/tags/roaming")).text
    assert f'<a href="{path}">' in (await client.get(f"/users/{asker.id}")).text


# ----- the thread page's head ---------------------------------------------------------------------

def _structured(page: str) -> dict:
    found = LD_JSON.findall(page)
    assert len(found) == 1
    return json.loads(found[0])


def _meta(page: str, attr: str, name: str) -> str:
    found = re.findall(rf'<meta {attr}="{re.escape(name)}" content="([^"]*)">', page)
    assert len(found) == 1, name
    return html.unescape(found[0])


async def test_thread_head_has_canonical_description_open_graph_and_qa_page(app, client, users, fake_clock):
    asker = await users("asker")
    helpers = [await users(n) for n in ("ann", "ben", "cat")]
    voters = [await users(f"voter{i}", 20) for i in range(2)]
    long_body = BODY + " " + "The carrier app only shows a spinning wheel and then an error about the profile. " * 3
    q = await questions.ask(asker, "eSIM not activating on iPhone", long_body, ["esim"])
    fake_clock.advance(minutes=5)
    answers = [await questions.answer(h, q.id, f"Answer from **{h.username}**: delete the profile & scan the code again.") for h in helpers]
    for v in voters:
        await voting.vote(v, answers[2].id, 1)
    await voting.vote(voters[0], q.id, 1)
    await acceptance.accept(asker, q.id, answers[0].id)
    await Post.filter(id=answers[1].id).update(hidden=True)  # moderators look at it: no search engine sees it

    base = app.state.config.base_url.rstrip("/")
    url = f"{base}/questions/{q.id}/esim-not-activating-on-iphone"
    page = (await client.get(f"/questions/{q.id}", follow_redirects=True)).text
    assert f'<link rel="canonical" href="{url}">' in page

    summary = _meta(page, "name", "description")
    assert summary.startswith("Since the update my phone says the eSIM is not activated.")
    assert len(summary) <= seo.DESCRIPTION_LENGTH and summary.endswith("…") and seo.plain_text(q.body_html).startswith(summary[:-1])
    assert _meta(page, "property", "og:title") == "eSIM not activating on iPhone"
    assert _meta(page, "property", "og:description") == summary
    assert _meta(page, "property", "og:url") == url
    assert _meta(page, "property", "og:type") == "website"
    assert _meta(page, "property", "og:site_name") == seo.SITE_NAME

    data = _structured(page)
    assert data["@context"] == "https://schema.org" and data["@type"] == "QAPage"
    question = data["mainEntity"]
    assert question["@type"] == "Question" and question["name"] == "eSIM not activating on iPhone"
    assert question["text"] == seo.plain_text(q.body_html) and question["text"].startswith("Since the update")
    assert (question["answerCount"], question["upvoteCount"]) == (2, 1)
    assert question["dateCreated"] == "2026-01-05T09:00:00+00:00"
    assert question["author"] == {"@type": "Person", "name": "asker", "url": f"{base}/users/{asker.id}"}
    accepted = question["acceptedAnswer"]
    assert accepted == {"@type": "Answer", "text": "Answer from ann: delete the profile & scan the code again.", "upvoteCount": 0,
                        "url": f"{url}#answer-{answers[0].id}", "dateCreated": "2026-01-05T09:05:00+00:00",
                        "author": {"@type": "Person", "name": "ann", "url": f"{base}/users/{helpers[0].id}"}}
    suggested = question["suggestedAnswer"]
    assert [(a["url"], a["upvoteCount"], a["author"]["name"]) for a in suggested] == [(f"{url}#answer-{answers[2].id}", 2, "cat")]
    # schema.org's required properties for a QAPage's question and answers.
    for answer in [accepted, *suggested]:
        assert {"text", "upvoteCount", "url"} <= answer.keys()
    assert {"name", "text", "answerCount"} <= question.keys()

    # A member's page carries the same head.
    await login(client, "ben")
    assert _structured((await client.get(url)).text) == data


async def test_a_title_cannot_end_the_structured_data(client, users):
    asker = await users("asker")
    title = 'Help </script><script src="/x.js"></script> & <!-- "quotes"'
    q = await questions.ask(asker, title, BODY + " </script><script>alert(1)</script>", ["esim"])
    page = (await client.get(f"/questions/{q.id}", follow_redirects=True)).text
    start = page.index('<script type="application/ld+json">')
    block = page[start:page.index("</script>", start)]
    assert "<" not in block[1:] and ">" not in block.split(">", 1)[1]  # nothing inside can open or close an element
    data = _structured(page)
    assert data["mainEntity"]["name"] == title
    assert '<script src="/x.js">' not in page
    assert _meta(page, "property", "og:title") == title


async def test_hidden_and_duplicate_threads_ask_not_to_be_indexed(client, users):
    asker = await users("asker")
    mod = await users("mod", 1, "moderator")
    original = await questions.ask(asker, "How do I set up voicemail on my phone", BODY, ["voicemail"])
    dupe = await questions.ask(asker, "Setting up voicemail does not work for me", BODY, ["voicemail"])
    await closing.vote(mod, dupe.id, "close", "duplicate", f"http://test/questions/{original.id}/how-do-i-set-up-voicemail-on-my-phone")
    page = (await client.get(f"/questions/{dupe.id}", follow_redirects=True)).text
    assert '<meta name="robots" content="noindex">' in page and not LD_JSON.search(page)
    assert f'href="{slugs.question_path(original)}">How do I set up voicemail on my phone</a>' in page  # to the original
    page = (await client.get(f"/questions/{original.id}", follow_redirects=True)).text
    assert "noindex" not in page and _structured(page)["mainEntity"]["answerCount"] == 0

    await Post.filter(id=original.id).update(hidden=True)
    await login(client, "mod")
    page = (await client.get(f"/questions/{original.id}", follow_redirects=True)).text
    assert "This post is hidden" in page and '<meta name="robots" content="noindex">' in page


# ----- sitemap and robots.txt ---------------------------------------------------------------------

def _urls(xml: str) -> list[tuple[str, str]]:
    root = ElementTree.fromstring(xml.encode())
    assert root.tag == f"{SITEMAP}urlset"
    return [(u.findtext(f"{SITEMAP}loc"), u.findtext(f"{SITEMAP}lastmod")) for u in root.findall(f"{SITEMAP}url")]


async def _forum(users, fake_clock) -> tuple[list[Post], list[Post]]:
    """Nine questions with answers between them: six listed, a hidden, a deleted and a duplicate not."""
    asker = await users("asker", 100)
    helper = await users("helper")
    mod = await users("mod", 1, "moderator")
    made = []
    for i in range(9):
        made.append(await questions.ask(asker, f"Question {i}: my top-up did not arrive", BODY, ["top-up"]))
        await questions.answer(helper, made[-1].id, f"Answer {i}: wait ten minutes and restart the phone.")
        fake_clock.advance(minutes=7)
    await Post.filter(id=made[1].id).update(hidden=True)
    await Post.filter(id=made[4].id).update(deleted_at=fake_clock.now())
    await closing.vote(mod, made[6].id, "close", "duplicate", made[0].id)
    await closing.vote(mod, made[7].id, "close", "off_topic")  # closed for another reason: still listed
    hidden = [made[1], made[4], made[6]]
    return [q for q in made if q not in hidden], hidden


async def test_sitemap_lists_every_visible_question_once(app, client, users, fake_clock):
    listed, left_out = await _forum(users, fake_clock)
    base = app.state.config.base_url.rstrip("/")
    r = await client.get("/sitemap.xml")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    urls = _urls(r.text)
    assert [loc for loc, _ in urls] == [base + slugs.question_path(q) for q in listed]
    answered = {q.id: (await Post.filter(question_id=q.id).first()).created_at for q in listed}
    assert [lastmod for _, lastmod in urls] == [answered[q.id].isoformat(timespec="seconds") for q in listed]
    assert not any(f"/questions/{q.id}/" in r.text for q in left_out)


async def test_a_large_forum_gets_a_sitemap_index_of_files(app, client, users, fake_clock, monkeypatch):
    listed, left_out = await _forum(users, fake_clock)
    monkeypatch.setattr(seo, "SITEMAP_IDS", 4)  # post ids per file; 18 posts (questions and answers) make 5 files
    base = app.state.config.base_url.rstrip("/")
    index = ElementTree.fromstring((await client.get("/sitemap.xml")).text.encode())
    assert index.tag == f"{SITEMAP}sitemapindex"
    files = [s.findtext(f"{SITEMAP}loc") for s in index.findall(f"{SITEMAP}sitemap")]
    assert files == [f"{base}/sitemap-questions-{n}.xml" for n in range(1, 6)]
    seen = []
    for f in files:
        r = await client.get(f.removeprefix(base))
        assert r.status_code == 200
        urls = _urls(r.text)
        assert len(urls) <= 4
        seen += [loc for loc, _ in urls]
    assert seen == [base + slugs.question_path(q) for q in listed]  # each once, in id order
    assert (await client.get("/sitemap-questions-6.xml")).status_code == 404
    assert (await client.get("/sitemap-questions-0.xml")).status_code == 404
    assert (await client.get(f"/sitemap-questions-{10**30}.xml")).status_code == 404


async def test_robots_txt_keeps_private_areas_out_and_names_the_sitemap(app, client):
    r = await client.get("/robots.txt")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    lines = r.text.splitlines()
    assert lines[:2] == ["User-agent: *", "Allow: /"]
    for path in ("/search", "/api/", "/support", "/admin", "/account", "/inbox", "/review", "/posts/"):
        assert f"Disallow: {path}" in lines
    assert not any(line in ("Disallow: /", "Disallow: /questions", "Disallow: /users/") for line in lines)
    assert f"Sitemap: {app.state.config.base_url.rstrip('/')}/sitemap.xml" in lines
