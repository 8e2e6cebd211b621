"""Limits that stop abuse without locking people out (issue 12): log-in slows down per account and
address pair, X-Forwarded-For is honoured only from named proxies, write rate limits per member and
per address answer 429 with Retry-After, unknown names cost a password hash, and the daily
reputation cap counts net gains."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import httpx
import pytest

from community import accounts, clock, questions, ratelimit, reputation, settings, voting
from community.app import create_app
from community.config import Config
from community.errors import Invalid
from community.models import Comment, LoginFailure, Post, RateEvent, User
from search.models import DeflectionEvent
from tests.conftest import login, token_for

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
QUESTION = {"title": "My eSIM profile will not download", "body": "The QR code scans but the download never finishes.",
            "tags": ["esim"]}


def _from(app, ip: str, port: int = 40000) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, port)), base_url="http://test")


async def _token(c: httpx.AsyncClient, name: str, password: str = "password123") -> httpx.Response:
    return await c.post("/api/v1/tokens", json={"username": name, "password": password})


def _limited(r: httpx.Response, retry_after: int, message: str | None = None) -> str:
    assert r.status_code == 429, r.text
    assert r.headers["retry-after"] == str(retry_after)
    if r.headers["content-type"].startswith("application/json"):
        err = r.json()["error"]
        assert err["code"] == "rate_limited" and set(err) == {"code", "message", "field"}
        if message is not None:
            assert err["message"] == message
        return err["message"]
    return r.text


class VerifyCounter:
    """Stands in for the accounts' argon2 hasher: records each verified hash, answers as the real one."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.hashes: list[str] = []
        self.real = accounts._hasher
        monkeypatch.setattr(accounts, "_hasher", self)

    def hash(self, password: str) -> str:
        return self.real.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        self.hashes.append(password_hash)
        return self.real.verify(password_hash, password)


# Log-in: slow down the failing (account, address) pair; never lock the owner out.


async def test_failures_slow_down_the_failing_pair_and_the_owner_gets_in_from_elsewhere(app, users, fake_clock, monkeypatch):
    await users("sam")
    async with _from(app, "203.0.113.9") as attacker, _from(app, "198.51.100.4") as owner:
        for _ in range(5):  # five free failures
            assert (await _token(attacker, "sam", "wrong-password")).status_code == 422
        verified = VerifyCounter(monkeypatch)
        # The sixth try from that pair must wait 15 s, whatever the password: it is not even checked.
        _limited(await _token(attacker, "sam", "password123"), 15,
                 "Too many failed log-ins to this account from your address. Try again in 15 seconds, or reset your password.")
        assert verified.hashes == []
        # The owner, from an address that has not been failing, gets straight in.
        assert (await _token(owner, "sam")).status_code == 201
        # Another account from the attacker's address is not slowed down by sam's pair.
        await users("kim")
        assert (await _token(attacker, "kim")).status_code == 201

        # Waits double with each further failure, up to the ceiling.
        settings.override("limit.login_max_wait_seconds", 100)
        waits = []
        for _ in range(5):
            r = await _token(attacker, "sam")
            waits.append(int(r.headers["retry-after"]))
            fake_clock.advance(seconds=waits[-1])
            assert (await _token(attacker, "sam", "wrong-password")).status_code == 422
        assert waits == [15, 30, 60, 100, 100]
        _limited(await _token(attacker, "sam"), 100)
        fake_clock.advance(seconds=60)
        _limited(await _token(attacker, "sam"), 40)  # measured from the last failure

        # The form keeps the username and says when to try again.
        page = await attacker.get("/login")
        r = await attacker.post("/login", data={"username": "SAM", "password": "password123",
                                                "csrf_token": CSRF.search(page.text).group(1)})
        assert r.status_code == 429 and r.headers["retry-after"] == "40"
        assert "Try again in 40 seconds" in r.text and 'value="SAM"' in r.text

        # After the wait the right password goes through from that address too, and the pair starts afresh.
        fake_clock.advance(seconds=40)
        assert (await _token(attacker, "sam")).status_code == 201
        assert await LoginFailure.filter(key__startswith="pair:sam@").count() == 0
        assert (await _token(attacker, "sam", "wrong-password")).status_code == 422


async def test_an_address_failing_across_accounts_slows_down_and_the_admin_gets_in_from_elsewhere(app, users, fake_clock):
    await users("victim")
    await users("boss", role="admin")
    async with _from(app, "192.0.2.7") as c:
        for n in range(20):  # twenty different accounts guessed from one address
            assert (await _token(c, f"guess{n}", "wrong-password")).status_code == 422
        _limited(await _token(c, "victim"), 15,
                 "Too many failed log-ins from your address. Try again in 15 seconds, or reset your password.")
        _limited(await _token(c, "boss"), 15)
    async with _from(app, "192.0.2.8") as clean:
        assert (await _token(clean, "boss")).status_code == 201
        assert (await _token(clean, "victim")).status_code == 201
    fake_clock.advance(seconds=15)
    async with _from(app, "192.0.2.7") as c:
        assert (await _token(c, "victim")).status_code == 201  # slowed down, never locked
    # Failures older than the window are forgotten (and pruned).
    fake_clock.advance(hours=1, seconds=1)
    assert await ratelimit.prune() == 20 * 2
    assert await LoginFailure.all().count() == 0


async def test_unknown_names_and_accounts_without_a_password_cost_a_hash_too(database, users, monkeypatch):
    await users("ana")
    await User.create(username="imported", email="imported@example.com", created_at=clock.now())  # no password
    verified = VerifyCounter(monkeypatch)
    for name, message in (("nobody-by-this-name", "do not match"), ("ana", "do not match"),
                          ("imported", "no password yet")):
        with pytest.raises(Invalid, match=message):
            await accounts.authenticate(name, "wrong-password", "198.51.100.1")
    assert len(verified.hashes) == 3  # one argon2 verification for each, known or not
    dummy = verified.hashes[0]
    assert dummy.startswith("$argon2id$") and verified.hashes[2] == dummy
    assert verified.hashes[1] == (await User.get(username="ana")).password_hash
    # The dummy hash matches no password, not even an empty-looking one.
    assert accounts._verify(None, "password123") is False


# Client addresses: X-Forwarded-For only from the proxies named in FORWARDED_ALLOW_IPS.


def test_forwarded_allow_ips_is_read_from_the_environment():
    assert Config.from_env({"FORWARDED_ALLOW_IPS": " 10.0.0.1, 10.1.0.0/16 "}).forwarded_allow_ips == "10.0.0.1, 10.1.0.0/16"
    assert Config.from_env({}).forwarded_allow_ips == ""


async def _sign_up(c: httpx.AsyncClient, name: str, forwarded: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return await c.post("/api/v1/users", headers=headers,
                        json={"username": name, "email": f"{name}@example.com", "password": "password123"})


async def test_x_forwarded_for_from_an_unlisted_peer_does_not_change_the_counted_address(app, fake_clock):
    settings.override("limit.signups_per_hour_per_address", 2)
    async with _from(app, "127.0.0.1") as local:  # by default no proxy is trusted, loopback neither
        assert (await _sign_up(local, "one", "203.0.113.1")).status_code == 201
        assert (await _sign_up(local, "two", "203.0.113.2")).status_code == 201
        _limited(await _sign_up(local, "three", "203.0.113.3"), 3600)
    assert await RateEvent.filter(key="signup:ip:127.0.0.1").count() == 2
    assert await RateEvent.filter(key__startswith="signup:ip:203.").count() == 0


async def test_x_forwarded_for_from_a_listed_proxy_names_the_client(config, database, fake_clock):
    settings.override("limit.signups_per_hour_per_address", 2)
    app = create_app(dataclasses.replace(config, forwarded_allow_ips="10.0.0.1"), manage_db=False, background=False)
    async with _from(app, "10.0.0.1") as proxy:
        for n in range(4):  # four clients behind the proxy, one sign-up each
            assert (await _sign_up(proxy, f"behind{n}", f"203.0.113.{n}")).status_code == 201
        assert (await _sign_up(proxy, "again", "203.0.113.0")).status_code == 201
        _limited(await _sign_up(proxy, "thrice", "203.0.113.0"), 3600)
    async with _from(app, "10.0.0.2") as stranger:  # not listed: its header is ignored
        for n in range(2):
            assert (await _sign_up(stranger, f"stranger{n}", f"203.0.113.{50 + n}")).status_code == 201
        _limited(await _sign_up(stranger, "stranger2", "203.0.113.99"), 3600)
    assert await RateEvent.filter(key="signup:ip:10.0.0.2").count() == 2
    assert await RateEvent.filter(key="signup:ip:203.0.113.0").count() == 2
    assert await RateEvent.filter(key="signup:ip:10.0.0.1").count() == 0


# Write rate limits.


async def test_a_member_posting_questions_in_a_burst_is_told_when_to_try_again(client, users, fake_clock):
    await users("busy", 115)
    headers = await token_for(client, "busy")
    for n in range(10):  # the default limit: ten an hour, here one every five minutes
        r = await client.post("/api/v1/questions", headers=headers, json={**QUESTION, "title": f"{QUESTION['title']} {n}"})
        assert r.status_code == 201, r.text
        fake_clock.advance(minutes=5)
    r = await client.post("/api/v1/questions", headers=headers, json=QUESTION)
    _limited(r, 600, "You have posted 10 questions in the last hour; you can post again in 10 minutes.")
    assert await Post.filter(kind="question").count() == 10
    fake_clock.advance(minutes=9, seconds=59)
    _limited(await client.post("/api/v1/questions", headers=headers, json=QUESTION), 1,
             "You have posted 10 questions in the last hour; you can post again in 1 second.")
    fake_clock.advance(seconds=1)  # the first question is an hour old
    assert (await client.post("/api/v1/questions", headers=headers, json=QUESTION)).status_code == 201
    _limited(await client.post("/api/v1/questions", headers=headers, json=QUESTION), 300)


async def test_the_ask_page_keeps_the_text_and_says_when_to_try_again(client, users, fake_clock):
    settings.override("limit.questions_per_hour", 1)
    await users("asker", 115)
    csrf = await login(client, "asker")
    form = {"title": "Roaming stopped working in Spain", "body": "No data since I landed, calls work fine.",
            "tags": "roaming", "csrf_token": csrf}
    assert (await client.post("/questions/ask", data=form)).status_code == 303
    fake_clock.advance(minutes=20)
    r = await client.post("/questions/ask", data={**form, "title": "Second question I typed with care"})
    assert r.status_code == 429 and r.headers["retry-after"] == str(40 * 60)
    assert "You have posted 1 question in the last hour; you can post again in 40 minutes." in r.text
    assert 'value="Second question I typed with care"' in r.text and "No data since I landed" in r.text


async def test_answers_and_comments_are_limited_on_the_thread_page_and_the_api(client, users, fake_clock):
    settings.override("limit.answers_per_hour", 1)
    settings.override("limit.comments_per_hour", 2)
    asker = await users("asker", 115)
    await users("helper", 115)
    q = await questions.ask(asker, QUESTION["title"], QUESTION["body"], "esim")
    api = await token_for(client, "helper")  # before the log-in: a cookie session's API calls need the CSRF header
    csrf = await login(client, "helper")
    body = "Turn on Wi-Fi calling and try the download again over Wi-Fi."
    assert (await client.post(f"/questions/{q.id}/answers", data={"body": body, "csrf_token": csrf})).status_code == 303
    r = await client.post(f"/questions/{q.id}/answers", data={"body": body + " Again!", "csrf_token": csrf})
    assert r.status_code == 429 and r.headers["retry-after"] == "3600"
    assert "You have posted 1 answer in the last hour; you can post again in 60 minutes." in r.text
    assert body + " Again!" in r.text

    for n in range(2):
        r = await client.post(f"/posts/{q.id}/comments", data={"body": f"Which phone model is it? ({n})", "csrf_token": csrf})
        assert r.status_code == 303
    r = await client.post(f"/posts/{q.id}/comments", data={"body": "A third comment kept for later", "csrf_token": csrf})
    assert r.status_code == 429 and r.headers["retry-after"] == "3600"
    assert "you can comment again in 60 minutes" in r.text and "A third comment kept for later" in r.text
    r = await client.post(f"/api/v1/posts/{q.id}/comments", json={"body": "Through the API this time"},
                          headers=api)
    _limited(r, 3600, "You have posted 2 comments in the last hour; you can comment again in 60 minutes.")
    assert await Comment.filter(post_id=q.id).count() == 2


async def test_one_address_is_limited_across_members_but_staff_and_internal_writes_are_not(app, users, fake_clock):
    settings.override("limit.questions_per_hour_per_address", 3)
    for name in ("ann", "ben"):
        await users(name, 115)
    await users("mod", 1, "moderator")
    async with _from(app, "198.51.100.20") as c:
        ann, ben, mod = [await token_for(c, n) for n in ("ann", "ben", "mod")]
        for headers in (ann, ann, ben):
            assert (await c.post("/api/v1/questions", headers=headers, json=QUESTION)).status_code == 201
        _limited(await c.post("/api/v1/questions", headers=ben, json=QUESTION), 3600,
                 "3 questions have been posted from your network address in the last hour; you can post again in 60 minutes.")
        for _ in range(12):  # moderators are not limited, per member nor per address
            assert (await c.post("/api/v1/questions", headers=mod, json=QUESTION)).status_code == 201
    async with _from(app, "198.51.100.21") as other:
        assert (await other.post("/api/v1/questions", headers=ben, json=QUESTION)).status_code == 201
    # Writes that do not come from a request (demo data, imports) are not counted.
    ann_row = await User.get(username="ann")
    before = await RateEvent.all().count()
    for _ in range(12):
        await questions.ask(ann_row, QUESTION["title"], QUESTION["body"], "esim")
    assert await RateEvent.all().count() == before


async def test_anonymous_sign_ups_from_one_address_stop_at_the_limit(app, fake_clock):
    async with _from(app, "203.0.113.60") as c:
        for n in range(10):
            assert (await _sign_up(c, f"new{n}")).status_code == 201
        _limited(await _sign_up(c, "new10"), 3600,
                 "10 accounts have been created from your network address in the last hour; you can sign up again in 60 minutes.")
        page = await c.get("/signup")
        r = await c.post("/signup", data={"username": "formuser", "email": "formuser@example.com", "password": "password123",
                                         "csrf_token": CSRF.search(page.text).group(1)})
        assert r.status_code == 429 and r.headers["retry-after"] == "3600"
        assert "you can sign up again in 60 minutes" in r.text and 'value="formuser"' in r.text
    assert await User.filter(username__startswith="new").count() == 10
    assert not await User.filter(username="formuser").exists()


async def test_anonymous_deflection_reports_cannot_forge_the_figures(client, users, fake_clock):
    asker = await users("asker", 115)
    q = await questions.ask(asker, QUESTION["title"], QUESTION["body"], "esim")
    for _ in range(30):
        assert (await client.post("/api/v1/deflections", json={"question_id": q.id})).status_code == 201
    _limited(await client.post("/api/v1/deflections", json={"question_id": q.id}), 3600,
             "30 'solved my problem' reports have been sent from your network address in the last hour; "
             "you can send more in 60 minutes.")
    assert await DeflectionEvent.filter(kind="solved_my_problem").count() == 30


async def test_votes_are_limited_per_member(client, users, fake_clock):
    settings.override("limit.votes_per_hour", 3)
    asker = await users("asker", 115)
    await users("voter", 200)
    posts = [await questions.ask(asker, f"{QUESTION['title']} {n}", QUESTION["body"], "esim") for n in range(2)]
    headers = await token_for(client, "voter")
    for post, value in ((posts[0], 1), (posts[0], 0), (posts[1], 1)):
        assert (await client.post(f"/api/v1/posts/{post.id}/vote", headers=headers, json={"value": value})).status_code == 200
    # Repeating a standing vote changes nothing and counts nothing.
    assert (await client.post(f"/api/v1/posts/{posts[1].id}/vote", headers=headers, json={"value": 1})).status_code == 200
    _limited(await client.post(f"/api/v1/posts/{posts[0].id}/vote", headers=headers, json={"value": 1}), 3600,
             "You have cast 3 votes in the last hour; you can vote again in 60 minutes.")


async def test_flags_are_limited_per_member_on_the_api_and_the_flag_page(client, users, fake_clock):
    settings.override("limit.flags_per_hour", 2)
    asker = await users("asker", 115)
    await users("flagger", 200)
    posts = [await questions.ask(asker, f"{QUESTION['title']} {n}", QUESTION["body"], "esim") for n in range(4)]
    headers = await token_for(client, "flagger")
    for post in posts[:2]:
        r = await client.post(f"/api/v1/posts/{post.id}/flags", headers=headers, json={"reason": "off_topic"})
        assert r.status_code == 201, r.text
    _limited(await client.post(f"/api/v1/posts/{posts[2].id}/flags", headers=headers, json={"reason": "off_topic"}),
             3600, "You have raised 2 flags in the last hour; you can flag again in 60 minutes.")
    csrf = await login(client, "flagger")
    r = await client.post(f"/posts/{posts[3].id}/flag", data={"reason": "moderator", "message": "This is a duplicate of my other question",
                                                             "csrf_token": csrf})
    page = _limited(r, 3600)
    assert "you can flag again in 60 minutes" in page and "This is a duplicate of my other question" in page
    fake_clock.advance(minutes=61)
    r = await client.post(f"/api/v1/posts/{posts[2].id}/flags", headers=headers, json={"reason": "off_topic"})
    assert r.status_code == 201


async def test_old_counts_are_pruned(database, fake_clock):
    now = clock.now()
    await RateEvent.bulk_create([RateEvent(key="question:user:1", at=now - timedelta(minutes=m)) for m in (1, 59, 61, 200)])
    await LoginFailure.bulk_create([LoginFailure(key="ip:x", at=now - timedelta(minutes=m)) for m in (5, 70)])
    assert await ratelimit.prune() == 3
    assert sorted(e.at for e in await RateEvent.all()) == [now - timedelta(minutes=59), now - timedelta(minutes=1)]
    assert await LoginFailure.all().count() == 1


def test_waits_in_words():
    assert [ratelimit.in_words(s) for s in (0.2, 1, 59, 60, 61, 3600, 7199, 7200, 7201)] == [
        "1 second", "1 second", "59 seconds", "1 minute", "2 minutes", "60 minutes", "120 minutes", "2 hours", "3 hours"]


# The daily reputation cap counts net gains.


async def test_upvotes_taken_back_give_the_daily_cap_back(database, users, fake_clock):
    asker = await users("asker", 115)
    newbie = await users("newbie")
    q = await questions.ask(asker, QUESTION["title"], QUESTION["body"], "esim")
    answer = await questions.answer(newbie, q.id, "Turn on Wi-Fi calling and try the download again over Wi-Fi.")
    voter = await users("voter", 15)
    for _ in range(21):
        await voting.vote(voter, answer.id, 1)
        await voting.vote(voter, answer.id, 0)
    assert await reputation.gained_today(newbie.id, clock.now().date(), None) == 0
    assert (await User.get(id=newbie.id)).reputation == 1

    # Real upvotes from 21 members still stop at the cap (200 = 20 upvotes of 10).
    for n in range(21):
        await voting.vote(await users(f"fan{n}", 15), answer.id, 1)
    assert await reputation.gained_today(newbie.id, clock.now().date(), None) == settings.get("rep.daily_vote_cap") == 200
    assert (await User.get(id=newbie.id)).reputation == 201
    # Taking one of them back frees room for the next one today.
    await voting.vote(await User.get(username="fan0"), answer.id, 0)
    assert (await User.get(id=newbie.id)).reputation == 191
    await voting.vote(voter, answer.id, 1)
    assert (await User.get(id=newbie.id)).reputation == 201
