"""Sign in with OpenID Connect against a real provider on localhost (tests/oidc_provider.py, Authlib's
server side): the whole code flow with PKCE, every refusal (a clear 400 page and no session), member
creation, usernames, email_verified, roles from a claim, no linking by email, linking from settings,
log-out through the provider's end-session endpoint, and SSO_ONLY."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from community import clock
from community.config import Config
from community.models import MemberSession, User, UserIdentity
from tests.conftest import login
from tests.oidc_provider import TestProvider, login_params

BASE = "http://127.0.0.1:8000"  # the forum's BASE_URL in these tests (Config's default)
FAILED = "Sign-in with Acme account did not work"


@pytest.fixture(scope="module")
def provider() -> Iterator[TestProvider]:
    p = TestProvider().start()
    p.client.redirect_uris = [f"{BASE}/login/oidc/acme/callback"]
    p.client.post_logout_redirect_uris = [f"{BASE}/"]
    yield p
    p.stop()


@pytest.fixture(autouse=True)
def fresh_provider(provider: TestProvider) -> Iterator[None]:
    provider.reset()
    provider.now = lambda: clock.now().timestamp()  # the provider's clock is the forum's (fake) one
    yield
    provider.reset()


def _config(tmp_path: Path, database_url: str, provider: TestProvider, **extra) -> Config:
    return Config(var_dir=tmp_path / "var", database_url=database_url, secret_key="test-secret",
                  index_dir=tmp_path / "index", demo_data=False, page_cache=False, run_indexer=False,
                  run_sweeper=False,
                  oidc_providers=[provider.settings(role_claim="groups", role_map={"agents": "staff", "mods": "moderator"})],
                  **extra)


@pytest.fixture
def config(tmp_path: Path, database_url: str, provider: TestProvider) -> Config:
    return _config(tmp_path, database_url, provider)


async def _client_for(config: Config) -> httpx.AsyncClient:
    from community.app import create_app

    app = create_app(config, manage_db=False, background=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.fixture
async def sso_client(tmp_path: Path, database_url: str, provider: TestProvider, database) -> AsyncIterator[httpx.AsyncClient]:
    client = await _client_for(_config(tmp_path, database_url, provider, sso_only=True))
    async with client:
        yield client


async def _to_provider(client: httpx.AsyncClient, provider: TestProvider, username: str, password: str = "secret-pass",
                       start: str = "/login/oidc/acme") -> str:
    """Start at the forum, sign in at the provider; returns the callback's path and query."""
    r = await client.get(start)
    assert r.status_code == 303, r.text
    return await _at_provider(r.headers["location"], provider, username, password)


async def _at_provider(authorize_url: str, provider: TestProvider, username: str, password: str = "secret-pass") -> str:
    assert authorize_url.startswith(provider.issuer + "/authorize?")
    async with httpx.AsyncClient() as http:
        page = await http.get(authorize_url)
        assert page.status_code == 200, page.text
        answer = await http.post(f"{provider.issuer}/authorize",
                                 data={**login_params(page.text), "username": username, "password": password})
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == f"{BASE}/login/oidc/acme/callback"
    return f"{back.path}?{back.query}"


async def _sign_in(client: httpx.AsyncClient, provider: TestProvider, username: str) -> httpx.Response:
    return await client.get(await _to_provider(client, provider, username))


async def _signed_in_as(client: httpx.AsyncClient) -> str | None:
    page = await client.get("/account")
    if page.status_code != 200:
        return None
    return re.search(r'Logged in as <a href="/users/\d+">([^<]+)</a>', page.text).group(1)


async def _live_sessions() -> int:
    return await MemberSession.filter(ended_at=None).count()


def _agent(provider: TestProvider, username: str = "alice", **claims) -> None:
    defaults = {"preferred_username": username, "name": f"{username.title()} Example", "email": f"{username}@acme.example",
                "email_verified": True, "groups": ["agents"]}
    provider.add_account(username, sub=f"acme-{username}", **{**defaults, **claims})


async def test_authorization_request_uses_pkce_state_and_nonce(client, provider):
    r = await client.get("/login/oidc/acme?next=/tags")
    assert r.status_code == 303
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32
    assert query["client_id"] == ["forum"] and query["scope"] == ["openid email profile"]
    assert query["redirect_uri"] == [f"{BASE}/login/oidc/acme/callback"]
    assert "code_verifier" not in r.headers["location"]


async def test_first_sign_in_creates_the_member_with_role_from_the_claim(client, provider):
    _agent(provider, "alice")
    r = await _sign_in(client, provider, "alice")
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert await _signed_in_as(client) == "alice"
    user = await User.get(username="alice")
    assert user.role == "staff"  # groups: agents -> staff
    assert user.display_name == "Alice Example" and user.email == "alice@acme.example"
    assert user.email_confirmed_at == clock.now()  # email_verified: true
    assert user.password_hash is None
    identity = await UserIdentity.get(user_id=user.id)
    assert (identity.provider, identity.subject) == ("acme", "acme-alice")


async def test_later_sign_in_finds_the_member_by_subject_and_roles_follow_the_claim(client, provider, users):
    _agent(provider, "alice")
    await _sign_in(client, provider, "alice")
    first = await User.get(username="alice")
    client.cookies.clear()
    # At the provider the person changed name and address and left the agents group.
    account = provider.accounts["alice"]
    account.claims.update(preferred_username="alice.new", email="new@acme.example", groups=["customers"])
    r = await _sign_in(client, provider, "alice")
    assert r.status_code == 303
    assert await _signed_in_as(client) == "alice"
    assert await User.all().count() == 1
    again = await User.get(id=first.id)
    assert again.role == "member"  # the claim no longer maps to staff
    assert (await UserIdentity.get(user_id=first.id)).email == "new@acme.example"
    # Several mapped values: the highest role wins.
    account.claims["groups"] = ["mods", "agents"]
    client.cookies.clear()
    await _sign_in(client, provider, "alice")
    assert (await User.get(id=first.id)).role == "moderator"  # the highest mapped role wins


async def test_a_role_the_map_cannot_give_stays(client, provider, users):
    admin = await users("root", 1, "admin")
    await UserIdentity.create(user=admin, provider="acme", subject="acme-root", created_at=clock.now())
    _agent(provider, "root", groups=[])
    await _sign_in(client, provider, "root")
    assert await _signed_in_as(client) == "root"
    assert (await User.get(id=admin.id)).role == "admin"


async def test_username_is_made_valid_and_unique_and_unverified_email_stays_unconfirmed(client, provider, users):
    await users("bob")
    provider.add_account("bob", sub="acme-bob", preferred_username="Bob", name="Bob Two", email="bob@acme.example",
                         email_verified=False)
    r = await _sign_in(client, provider, "bob")
    assert r.status_code == 303
    new = await User.get(email="bob@acme.example")
    assert new.username == "Bob-2" and new.email_confirmed_at is None
    client.cookies.clear()
    provider.add_account("zoe", sub="acme-zoe", preferred_username="Zoë  <b>Smith</b>\u200b", email="zoe@acme.example",
                         email_verified="false")
    await _sign_in(client, provider, "zoe")
    zoe = await User.get(email="zoe@acme.example")
    assert zoe.username == "Zoe_Smith" and zoe.email_confirmed_at is None


async def test_an_address_of_a_password_member_is_never_linked_by_itself(client, provider, users):
    carol = await users("carol")  # carol@example.com, with a password
    provider.add_account("carol", sub="acme-carol", preferred_username="carol", email="CAROL@example.com", email_verified=False)
    r = await _sign_in(client, provider, "carol")
    assert r.status_code == 409
    assert FAILED in r.text and "Log in to it with your password" in r.text and "Sign-in methods" in r.text
    assert await _signed_in_as(client) is None and await _live_sessions() == 0
    # A verified address only offers linking with the account's password (tests/test_oidc_existing_accounts.py).
    provider.accounts["carol"].claims["email_verified"] = True
    r = await _sign_in(client, provider, "carol")
    assert r.status_code == 303 and r.headers["location"] == "/login/oidc/acme/existing"
    assert await _signed_in_as(client) is None and await _live_sessions() == 0
    assert await UserIdentity.all().count() == 0 and await User.all().count() == 1
    assert (await User.get(id=carol.id)).password_hash


@pytest.mark.parametrize("knob, words", [
    ("wrong_nonce", "its nonce is wrong"),
    ("expired", "had expired"),
    ("bad_signature", "signature is not Acme account's"),
    ("wrong_audience", "meant for another application"),
    ("wrong_issuer", "was not issued by Acme account"),
])
async def test_a_bad_id_token_is_refused_with_a_clear_page_and_no_session(client, provider, knob, words):
    _agent(provider, "alice")
    provider.misbehave.add(knob)
    r = await _sign_in(client, provider, "alice")
    assert r.status_code == 400
    text = html.unescape(r.text)
    assert FAILED in text and words in text and "Please try again" in text
    assert 'href="/login/oidc/acme"' in r.text
    assert await _signed_in_as(client) is None and await _live_sessions() == 0
    assert await User.all().count() == 0


async def test_clock_skew_within_a_minute_is_tolerated(client, provider):
    _agent(provider, "alice")
    provider.now = lambda: clock.now().timestamp() + 50  # the provider's clock runs 50 s ahead
    r = await _sign_in(client, provider, "alice")
    assert r.status_code == 303 and await _signed_in_as(client) == "alice"


async def test_hs256_signed_with_the_client_secret_is_accepted(client, provider):
    _agent(provider, "alice")
    provider.misbehave.add("hs256")
    r = await _sign_in(client, provider, "alice")
    assert r.status_code == 303 and await _signed_in_as(client) == "alice"


async def test_wrong_state_is_refused_before_the_code_is_used(client, provider):
    _agent(provider, "alice")
    back = await _to_provider(client, provider, "alice")
    forged = re.sub(r"state=[^&]+", "state=forged", back)
    r = await client.get(forged)
    assert r.status_code == 400 and "state is wrong" in r.text and FAILED in r.text
    assert await _live_sessions() == 0
    assert len(provider.codes) == 1  # the code was never sent to the provider
    # The right answer no longer works either: a callback is used once.
    r = await client.get(back)
    assert r.status_code == 400 and "did not start a sign-in" in r.text
    assert await _signed_in_as(client) is None and await User.all().count() == 0


async def test_a_replayed_code_is_refused(client, provider):
    _agent(provider, "alice")
    back = await _to_provider(client, provider, "alice")
    assert (await client.get(back)).status_code == 303
    used_code = parse_qs(urlsplit(back).query)["code"][0]
    client.cookies.clear()
    # The same callback again (another browser, or the back button): no sign-in of this browser to finish.
    r = await client.get(back)
    assert r.status_code == 400 and FAILED in r.text
    # A fresh sign-in whose answer carries the code that was already used: the provider refuses it.
    r = await client.get("/login/oidc/acme")
    state = parse_qs(urlsplit(r.headers["location"]).query)["state"][0]
    r = await client.get(f"/login/oidc/acme/callback?code={used_code}&state={state}")
    assert r.status_code == 400 and "did not accept the sign-in code" in r.text
    assert await _signed_in_as(client) is None and await _live_sessions() == 1  # the first sign-in's only


async def test_the_provider_saying_no_is_a_clear_page(client, provider):
    r = await client.get("/login/oidc/acme")
    state = parse_qs(urlsplit(r.headers["location"]).query)["state"][0]
    r = await client.get(f"/login/oidc/acme/callback?error=access_denied&error_description=You+said+no&state={state}")
    assert r.status_code == 400 and "You said no" in r.text and await _live_sessions() == 0


async def test_an_unreachable_provider_is_a_readable_page(tmp_path, database_url, database, provider):
    down = {"name": "down", "label": "Down Corp", "issuer": "http://127.0.0.1:9", "client_id": "forum"}
    config = Config(var_dir=tmp_path / "var", database_url=database_url, secret_key="s", demo_data=False,
                    page_cache=False, oidc_providers=[down])
    async with await _client_for(config) as client:
        r = await client.get("/login/oidc/down")
        assert r.status_code == 503
        assert "Sign-in with Down Corp did not work: its discovery document could not be reached" in r.text
        assert (await client.get("/login/oidc/nobody")).status_code == 404


async def test_log_out_ends_the_session_and_goes_through_the_providers_end_session(client, provider):
    _agent(provider, "alice")
    await _sign_in(client, provider, "alice")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', (await client.get("/account")).text).group(1)
    r = await client.post("/logout", data={"csrf_token": csrf})
    assert r.status_code == 303
    leave = urlsplit(r.headers["location"])
    assert f"{leave.scheme}://{leave.netloc}{leave.path}" == f"{provider.issuer}/end-session"
    query = parse_qs(leave.query)
    assert query["post_logout_redirect_uri"] == [f"{BASE}/"] and query["client_id"] == ["forum"]
    assert await _signed_in_as(client) is None and await _live_sessions() == 0
    async with httpx.AsyncClient() as http:
        back = await http.get(r.headers["location"])
    assert back.status_code == 302 and back.headers["location"] == f"{BASE}/"
    assert provider.ended and provider.ended[0]["sub"] == "acme-alice"  # the provider checked our id_token_hint


async def test_log_out_without_an_end_session_endpoint_comes_home(client, provider):
    provider.with_end_session = False
    _agent(provider, "alice")
    await _sign_in(client, provider, "alice")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', (await client.get("/account")).text).group(1)
    r = await client.post("/logout", data={"csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/"


async def test_linking_from_settings_needs_the_password(client, provider, users):
    dave = await users("dave")
    csrf = await login(client, "dave")
    page = await client.get("/account/sign-in")
    assert page.status_code == 200 and "Link Acme account" in page.text
    r = await client.post("/account/sign-in/acme/link", data={"csrf_token": csrf, "password": "wrong-password"})
    assert r.status_code == 422 and "not your current password" in r.text
    r = await client.post("/account/sign-in/acme/link", data={"csrf_token": csrf, "password": ""})
    assert r.status_code == 422
    assert await UserIdentity.all().count() == 0
    provider.add_account("dave.w", sub="acme-dave", preferred_username="dave.w", email="dave.w@acme.example",
                         email_verified=True)
    r = await client.post("/account/sign-in/acme/link", data={"csrf_token": csrf, "password": "password123"})
    assert r.status_code == 303
    back = await _at_provider(r.headers["location"], provider, "dave.w")
    r = await client.get(back)
    assert r.status_code == 303 and r.headers["location"] == "/account/sign-in?done=linked"
    identity = await UserIdentity.get(provider="acme", subject="acme-dave")
    assert identity.user_id == dave.id
    page = await client.get("/account/sign-in")
    assert "Unlink Acme account" in page.text and "dave.w@acme.example" in page.text
    # Signing in with the provider now reaches dave, not a new member.
    client.cookies.clear()
    await _sign_in(client, provider, "dave.w")
    assert await _signed_in_as(client) == "dave" and await User.all().count() == 1
    # dave still has a password, so the provider can be unlinked.
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', (await client.get("/account/sign-in")).text).group(1)
    r = await client.post("/account/sign-in/acme/unlink", data={"csrf_token": csrf})
    assert r.status_code == 303 and await UserIdentity.all().count() == 0


async def test_the_last_way_to_sign_in_cannot_be_unlinked(client, provider):
    _agent(provider, "alice")
    await _sign_in(client, provider, "alice")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', (await client.get("/account/sign-in")).text).group(1)
    r = await client.post("/account/sign-in/acme/unlink", data={"csrf_token": csrf})
    assert r.status_code == 409 and "only way you can sign in" in r.text
    assert await UserIdentity.all().count() == 1


async def test_an_identity_linked_to_someone_else_is_not_moved(client, provider, users):
    _agent(provider, "alice")
    await _sign_in(client, provider, "alice")
    client.cookies.clear()
    await users("erin")
    csrf = await login(client, "erin")
    r = await client.post("/account/sign-in/acme/link", data={"csrf_token": csrf, "password": "password123"})
    r = await client.get(await _at_provider(r.headers["location"], provider, "alice"))
    assert r.status_code == 409 and "already linked to another member" in r.text
    assert (await UserIdentity.get(subject="acme-alice")).user_id == (await User.get(username="alice")).id


async def test_the_log_in_page_offers_the_provider(client):
    page = await client.get("/login?next=/tags")
    assert 'href="/login/oidc/acme?next=/tags"' in page.text and "Sign in with Acme account" in page.text
    assert 'name="password"' in page.text and 'href="/signup"' in page.text


async def test_sso_only_hides_sign_up_and_passwords_but_admins_keep_their_log_in(sso_client, provider, users):
    await users("member1")
    await users("boss", 1, "admin")
    page = await sso_client.get("/login")
    assert "Sign in with Acme account" in page.text
    assert 'name="password"' not in page.text and 'href="/signup"' not in page.text
    for path in ("/signup", "/forgot"):
        r = await sso_client.get(path)
        assert r.status_code == 403 and "Sign in with Acme account" in r.text, path
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', (await sso_client.get("/admin/login")).text).group(1)
    r = await sso_client.post("/login", data={"csrf_token": csrf, "username": "member1", "password": "password123"})
    assert r.status_code == 403 and await _live_sessions() == 0
    r = await sso_client.post("/api/v1/users", json={"username": "newbie", "email": "n@example.com", "password": "password123"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_allowed"
    r = await sso_client.post("/api/v1/tokens", json={"username": "member1", "password": "password123"})
    assert r.status_code == 403
    # The emergency log-in: members are refused, admins come in.
    r = await sso_client.post("/admin/login", data={"csrf_token": csrf, "username": "member1", "password": "password123"})
    assert r.status_code == 422 and "for administrators only" in r.text and await _live_sessions() == 0
    r = await sso_client.post("/admin/login", data={"csrf_token": csrf, "username": "boss", "password": "password123"})
    assert r.status_code == 303
    assert await _signed_in_as(sso_client) == "boss"
    sso_client.cookies.clear()
    assert (await sso_client.post("/api/v1/tokens", json={"username": "boss", "password": "password123"})).status_code == 201
    # Members still sign in with the provider.
    sso_client.cookies.clear()
    _agent(provider, "alice")
    r = await sso_client.get(await _to_provider(sso_client, provider, "alice"))
    assert r.status_code == 303 and await _signed_in_as(sso_client) == "alice"
    account = await sso_client.get("/account")
    assert "Change password" not in account.text and "Sign-in methods" in account.text


def test_a_malformed_oidc_providers_value_stops_the_start_with_a_clear_message():
    for raw, words in [("[{", "not valid JSON"), ('{"name": "acme"}', "JSON list"),
                       ('[{"name": "acme", "label": "A", "client_id": "x"}]', '"issuer" is missing'),
                       ('[{"name": "acme", "label": "A", "client_id": "x", "issuer": "https://id.example", '
                        '"role_map": {"agents": "boss"}}]', "roles are member, moderator, staff, admin"),
                       ('[{"name": "acme", "label": "A", "client_id": "x", "issuer": "https://id.example", "scopes": "email"}]',
                        'must include "openid"')]:
        with pytest.raises(ValueError, match="OIDC_PROVIDERS") as caught:
            Config.from_env({"OIDC_PROVIDERS": raw})
        assert words in str(caught.value), raw
    ok = Config.from_env({"OIDC_PROVIDERS": '[{"name": "acme", "label": "Acme", "client_id": "x", "issuer": "https://id.example"}]',
                          "SSO_ONLY": "1"})
    assert ok.sso_only and ok.oidc_providers[0].scopes == "openid email profile"


async def test_a_member_who_signs_in_only_through_the_provider_deletes_their_account_without_a_password(client, provider):
    _agent(provider, "dana", groups=[])
    await _sign_in(client, provider, "dana")
    page = await client.get("/account")
    assert 'id="delete_password"' not in page.text  # they have no password to give
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = await client.post("/account/delete", data={"csrf_token": csrf, "confirm": "no"})
    assert r.status_code == 422 and "delete" in r.text
    r = await client.post("/account/delete", data={"csrf_token": csrf, "confirm": "delete"})
    assert r.status_code in (200, 303), r.text
    assert not await UserIdentity.filter(subject="acme-dana").exists()  # the provider's account no longer leads here
    assert await User.filter(username="dana").count() == 0
    assert await User.filter(deleted_at__isnull=False).count() == 1
    # Signing in again makes a new, empty account rather than reviving the deleted one.
    await _sign_in(client, provider, "dana")
    assert await _signed_in_as(client) == "dana"
    assert await User.filter(username="dana", deleted_at=None).count() == 1
