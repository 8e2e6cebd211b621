"""Accounts: sign-up, log-in and log-out through pages and API, tokens, login rate limits,
password resets by email through a real local SMTP server, and the shell commands."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from datetime import datetime, timezone
from email import message_from_bytes, policy
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller

from community import accounts
from community.config import ROOT
from community.errors import NotAllowed
from community.models import ApiToken, LoginFailure, User
from tests.conftest import login, token_for

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _csrf(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return CSRF.search(page.text).group(1)


# Pages: sign up, log out, log in.


async def test_sign_up_log_out_and_log_in_through_the_pages(client):
    token = await _csrf(client, "/signup")
    r = await client.post("/signup", data={"username": "nia", "email": "nia@example.com", "password": "correct horse",
                                           "csrf_token": token, "next": "/questions/ask"})
    assert r.status_code == 303 and r.headers["location"] == "/questions/ask"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    user = await User.get(username="nia")
    assert user.password_hash.startswith("$argon2id$") and "correct horse" not in user.password_hash
    assert user.role == "member" and user.reputation == 1

    home = await client.get("/")
    assert 'href="/users/%d">nia' % user.id in home.text and "Log out" in home.text

    r = await client.post("/logout", data={"csrf_token": CSRF.search(home.text).group(1)})
    assert r.status_code == 303
    r = await client.get("/inbox")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert "Log in" in (await client.get("/")).text

    token = await _csrf(client, "/login")
    r = await client.post("/login", data={"username": "nia", "password": "wrong password", "csrf_token": token, "next": "/"})
    assert r.status_code == 422
    assert "do not match" in r.text and 'value="nia"' in r.text  # the form keeps the username
    for elsewhere in ("//evil.example", "/\\evil.example", "https://evil.example", "/\t/evil.example"):
        r = await client.post("/login", data={"username": "NIA", "password": "correct horse", "csrf_token": token, "next": elsewhere})
        assert r.status_code == 303 and r.headers["location"] == "/", elsewhere  # no open redirect
        token = await _csrf(client, "/login")
    assert (await client.get("/inbox")).status_code == 200


async def test_sign_up_page_refuses_a_taken_name_and_keeps_the_text(client, users):
    await users("taken")
    token = await _csrf(client, "/signup")
    r = await client.post("/signup", data={"username": "Taken", "email": "me@example.com", "password": "password123", "csrf_token": token})
    assert r.status_code == 409 and "is taken" in r.text and 'value="me@example.com"' in r.text
    assert await User.all().count() == 1


async def test_log_out_and_log_in_need_the_csrf_token(client, users):
    await users("nia")
    await login(client, "nia")
    r = await client.post("/logout", data={"csrf_token": "forged"})
    assert r.status_code == 403 and "This form has expired" in r.text
    assert (await client.get("/inbox")).status_code == 200  # still logged in


# API: users, tokens, revocation.


async def test_api_sign_up_token_and_revocation(client):
    r = await client.post("/api/v1/users", json={"username": "omar", "email": "omar@example.com", "password": "password123"})
    assert r.status_code == 201
    body = r.json()
    assert body["username"] == "omar" and body["reputation"] == 1 and "password" not in str(body).lower()

    r = await client.post("/api/v1/tokens", json={"username": "omar", "password": "nope-nope"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "password"

    headers = await token_for(client, "omar")
    assert (await client.get("/api/v1/me", headers=headers)).json()["username"] == "omar"
    token = headers["Authorization"][7:]
    assert token not in str([t.digest for t in await ApiToken.all()])  # only a digest is stored

    second = await token_for(client, "omar")
    r = await client.delete("/api/v1/tokens/current", headers=headers)
    assert r.status_code == 204
    r = await client.get("/api/v1/me", headers=headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"
    r = await client.post("/api/v1/questions", headers=headers,
                          json={"title": "Still logged in after revoking?", "body": "This should not be posted at all.", "tags": ["x"]})
    assert r.status_code == 401
    assert (await client.get("/api/v1/me", headers=second)).status_code == 200  # other tokens keep working
    r = await client.get("/api/v1/me", headers={"Authorization": "Bearer made-up"})
    assert r.status_code == 401


# Rate limits, with the fake clock.


def _client_from(app, ip: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 40000)), base_url="http://test")


async def test_failures_from_many_addresses_never_lock_the_owner_out(app, users, fake_clock):
    """Failures count per account and address pair (more in tests/test_limits.py): five wrong passwords
    from five addresses leave the owner free to log in, and a sixth from one of them only has to wait."""
    await users("sam")
    for n in range(5):
        async with _client_from(app, f"10.0.0.{n}") as c:
            r = await c.post("/api/v1/tokens", json={"username": "sam", "password": "wrong-password"})
            assert r.status_code == 422
            assert r.json()["error"]["message"] == "That username and password do not match. Check them and try again."
    async with _client_from(app, "10.0.1.1") as c:
        assert (await c.post("/api/v1/tokens", json={"username": "sam", "password": "password123"})).status_code == 201
    async with _client_from(app, "10.0.0.0") as c:
        for _ in range(4):
            assert (await c.post("/api/v1/tokens", json={"username": "sam", "password": "wrong-password"})).status_code == 422
        r = await c.post("/api/v1/tokens", json={"username": "sam", "password": "password123"})
        assert r.status_code == 429 and r.headers["retry-after"] == "15"
        assert r.json()["error"]["code"] == "rate_limited" and "Try again in 15 seconds" in r.json()["error"]["message"]
        fake_clock.advance(seconds=15)
        assert (await c.post("/api/v1/tokens", json={"username": "sam", "password": "password123"})).status_code == 201


async def test_failures_across_accounts_slow_an_address_down_for_a_while(app, users, fake_clock):
    await users("victim")
    async with _client_from(app, "192.0.2.7") as c:
        for n in range(20):  # twenty different accounts guessed from one address
            r = await c.post("/api/v1/tokens", json={"username": f"guess{n}", "password": "wrong-password"})
            assert r.status_code == 422
        r = await c.post("/api/v1/tokens", json={"username": "victim", "password": "password123"})
        assert r.status_code == 429 and r.headers["retry-after"] == "15"
    async with _client_from(app, "192.0.2.8") as other:
        assert (await other.post("/api/v1/tokens", json={"username": "victim", "password": "password123"})).status_code == 201
    fake_clock.advance(seconds=15)
    async with _client_from(app, "192.0.2.7") as c:
        assert (await c.post("/api/v1/tokens", json={"username": "victim", "password": "password123"})).status_code == 201
    assert await LoginFailure.filter(key="ip:192.0.2.7").count() == 20


# Password reset through a real SMTP server.


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []
        self.config = None

    async def deliver(self) -> None:
        """Run the outbox's sender once (POST /forgot only queues the mail)."""
        from community import mail

        await mail.deliver_due(mail.Transport.from_config(self.config))

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_inbox(config):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    config.smtp_url = f"smtp://127.0.0.1:{controller.port}"
    config.base_url = "http://forum.test"
    inbox.config = config
    yield inbox
    controller.stop()


def _link_path(inbox: Inbox) -> str:
    body = inbox.messages[-1].get_content()
    return re.search(r"http://forum\.test(/reset/\S+)", body).group(1)


async def _ask_for_reset(client: httpx.AsyncClient, identifier: str) -> httpx.Response:
    token = await _csrf(client, "/forgot")
    return await client.post("/forgot", data={"identifier": identifier, "csrf_token": token})


async def test_password_reset_mail_link_works_once(client, users, smtp_inbox):
    await users("lena")
    r = await _ask_for_reset(client, "LENA@example.com")
    assert r.status_code == 200
    await smtp_inbox.deliver()
    assert len(smtp_inbox.messages) == 1
    mail = smtp_inbox.messages[0]
    assert mail["To"] == "lena@example.com" and mail["Subject"] == "Reset your password"
    path = _link_path(smtp_inbox)

    page = await client.get(path)
    assert page.status_code == 200 and "Choose a new password for lena" in page.text
    token = CSRF.search(page.text).group(1)
    r = await client.post(path, data={"password": "short", "csrf_token": token})
    assert r.status_code == 422 and "at least 8 characters" in r.text
    r = await client.post(path, data={"password": "a brand new secret", "csrf_token": token})
    assert r.status_code == 303  # logged in with the new password
    assert (await client.get("/inbox")).status_code == 200

    again = await client.get(path)
    assert again.status_code == 403 and "already been used" in again.text
    r = await client.post(path, data={"password": "another new secret", "csrf_token": CSRF.search(again.text).group(1)})
    assert r.status_code == 403
    assert (await accounts.authenticate("lena", "a brand new secret")).username == "lena"


async def test_password_reset_link_expires_after_an_hour(client, users, smtp_inbox, fake_clock):
    await users("lena")
    await _ask_for_reset(client, "lena")
    await smtp_inbox.deliver()
    path = _link_path(smtp_inbox)
    fake_clock.advance(minutes=59)
    assert (await client.get(path)).status_code == 200
    fake_clock.advance(minutes=1, seconds=1)
    r = await client.get(path)
    assert r.status_code == 403 and "expired" in r.text
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    r = await client.get(tampered)
    assert r.status_code == 403 and "not valid" in r.text


async def test_reset_request_for_an_unknown_member_says_the_same_and_sends_nothing(client, smtp_inbox):
    r = await _ask_for_reset(client, "nobody@example.com")
    await smtp_inbox.deliver()
    assert r.status_code == 200 and smtp_inbox.messages == []
    r = await _ask_for_reset(client, "   ")
    assert r.status_code == 422 and "username or email" in r.text


# The shell commands, run as a real subprocess against the test database.


def _run_py(database_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret", "VAR_DIR": str(tmp_path / "cli-var"),
           "DEMO_DATA": "0", "BASE_URL": "http://forum.test"}
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


async def test_create_user_and_reset_link_from_the_shell(database, tmp_path, fake_clock):
    for role in ("staff", "moderator"):
        done = _run_py(database, tmp_path, "create-user", "--username", f"agent-{role}", "--password", "desk password", "--role", role)
        assert done.returncode == 0, done.stderr
        assert f"Created {role} agent-{role}" in done.stdout
        user = await User.get(username=f"agent-{role}")
        assert user.role == role and user.password_hash.startswith("$argon2id$")
    done = _run_py(database, tmp_path, "create-user", "--username", "agent-staff", "--password", "desk password")
    assert done.returncode != 0 and "is taken" in done.stderr
    assert await User.filter(username="agent-staff").count() == 1

    done = _run_py(database, tmp_path, "reset-link", "agent-staff")
    assert done.returncode == 0, done.stderr
    token = re.fullmatch(r"http://forum\.test/reset/(\S+)\n", done.stdout).group(1)
    fake_clock.set(datetime.now(timezone.utc))  # the command stamped the link with the real clock
    assert (await accounts.user_for_reset(token, "test-secret")).username == "agent-staff"
    await accounts.reset_password(token, "test-secret", "chosen by the agent")
    with pytest.raises(NotAllowed):
        await accounts.user_for_reset(token, "test-secret")

    done = _run_py(database, tmp_path, "reset-link", "nobody")
    assert done.returncode != 0 and "No member is called 'nobody'" in done.stderr
