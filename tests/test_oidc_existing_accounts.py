"""A first sign-in with the provider whose verified address belongs to a password member here
(community/oidc.py `existing`, community/oidc_accounts.py `link_existing`), with and without SSO_ONLY:
the page asks for that account's forum password; the right one links the identity and signs in, a
wrong one links nothing and counts as a failed log-in (the usual slow-down); the identity waits in
the signed session, never in the form, for ten minutes; an unverified address never offers it.
And usernames made from preferred_username never look like one already taken (community/usernames.py)."""

from __future__ import annotations

import html
import re

import httpx
import pytest

from community import accounts, usernames
from community.models import LoginFailure, User, UserIdentity
from tests.oidc_provider import TestProvider
from tests.test_oidc import (  # noqa: F401 (fixtures)
    FAILED, _live_sessions, _sign_in, _signed_in_as, _to_provider, config, fresh_provider, provider, sso_client,
)

EXISTING = "/login/oidc/acme/existing"
OFFER = "An account with this address (Carol@Example.com) already exists here: enter its forum password to link it"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _carol_at_provider(provider: TestProvider, verified: object = True) -> None:
    provider.add_account("carol", sub="acme-carol", preferred_username="carol.b", name="Carol B",
                         email="Carol@Example.com", email_verified=verified, groups=["agents"])


async def _offered(client: httpx.AsyncClient, provider: TestProvider) -> str:
    """Sign in at the provider as carol; the forum sends the browser to the link page. Returns its CSRF."""
    r = await _sign_in(client, provider, "carol")
    assert r.status_code == 303 and r.headers["location"] == EXISTING, r.text
    page = await client.get(EXISTING)
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert OFFER in text and 'value="carol"' in text and 'name="password"' in text
    assert "acme-carol" not in page.text  # the identity is not in the form: it waits in the session
    assert await _signed_in_as(client) is None and await _live_sessions() == 0
    assert await UserIdentity.all().count() == 0
    return CSRF.search(page.text).group(1)


async def _links_with_the_password(client: httpx.AsyncClient, provider: TestProvider) -> None:
    carol = await User.get(username="carol")
    csrf = await _offered(client, provider)
    r = await client.post(EXISTING, data={"csrf_token": csrf, "password": "wrong-password"})
    assert r.status_code == 422
    assert "That is not the forum password of carol" in html.unescape(r.text) and OFFER in html.unescape(r.text)
    assert await UserIdentity.all().count() == 0 and await _live_sessions() == 0
    assert await LoginFailure.filter(key__startswith="pair:carol@").count() == 1  # counted as a failed log-in

    r = await client.post(EXISTING, data={"csrf_token": csrf, "password": "password123"})
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert await _signed_in_as(client) == "carol"
    identity = await UserIdentity.get(provider="acme", subject="acme-carol")
    assert identity.user_id == carol.id and identity.email == "Carol@Example.com"
    assert (await User.get(id=carol.id)).role == "staff"  # found by the identity: roles follow the claim as ever
    assert await User.all().count() == 1
    assert (await client.get(EXISTING)).status_code == 400  # used once

    # From now on the provider's sign-in reaches carol directly.
    client.cookies.clear()
    r = await _sign_in(client, provider, "carol")
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert await _signed_in_as(client) == "carol" and await User.all().count() == 1


async def test_a_password_member_links_the_provider_at_its_first_sign_in(client, provider, users):
    await users("carol")  # carol@example.com, password123
    _carol_at_provider(provider)
    await _links_with_the_password(client, provider)


async def test_under_sso_only_the_password_still_links_though_it_no_longer_logs_in(sso_client, provider, users):
    await users("carol")
    _carol_at_provider(provider)
    csrf = CSRF.search((await sso_client.get("/admin/login")).text).group(1)
    r = await sso_client.post("/login", data={"csrf_token": csrf, "username": "carol", "password": "password123"})
    assert r.status_code == 403  # the password log-in is off for members
    sso_client.cookies.clear()
    page = await _sign_in(sso_client, provider, "carol")
    assert page.headers["location"] == EXISTING
    offered = await sso_client.get(EXISTING)
    assert 'href="/forgot"' not in offered.text  # no way there under SSO_ONLY
    sso_client.cookies.clear()
    await _links_with_the_password(sso_client, provider)


async def test_wrong_passwords_slow_down_as_log_in_does_and_link_nothing(client, provider, users, fake_clock):
    await users("carol")
    _carol_at_provider(provider)
    csrf = await _offered(client, provider)
    for _ in range(5):  # limit.login_failures_per_pair
        r = await client.post(EXISTING, data={"csrf_token": csrf, "password": "guess-again"})
        assert r.status_code == 422
    r = await client.post(EXISTING, data={"csrf_token": csrf, "password": "password123"})
    assert r.status_code == 429 and "Too many failed log-ins" in html.unescape(r.text)
    assert int(r.headers["retry-after"]) > 0
    assert await UserIdentity.all().count() == 0 and await _live_sessions() == 0
    fake_clock.advance(seconds=int(r.headers["retry-after"]))
    r = await client.post(EXISTING, data={"csrf_token": csrf, "password": "password123"})
    assert r.status_code == 303 and await _signed_in_as(client) == "carol"


async def test_the_identity_cannot_be_steered_to_another_account(client, provider, users):
    await users("carol")
    dave = await users("dave")
    await User.filter(id=dave.id).update(password_hash=accounts.hash_password("daves-own-secret"))
    _carol_at_provider(provider)
    csrf = await _offered(client, provider)
    # dave's name and password in the form: the link is for carol's account only.
    r = await client.post(EXISTING, data={"csrf_token": csrf, "username": "dave", "password": "daves-own-secret"})
    assert r.status_code == 422 and "not the forum password of carol" in html.unescape(r.text)
    assert await UserIdentity.all().count() == 0 and await _live_sessions() == 0


async def test_the_wait_ends_after_ten_minutes(client, provider, users, fake_clock):
    await users("carol")
    _carol_at_provider(provider)
    csrf = await _offered(client, provider)
    fake_clock.advance(minutes=11)
    r = await client.post(EXISTING, data={"csrf_token": csrf, "password": "password123"})
    assert r.status_code == 400 and FAILED in r.text and "within 10 minutes" in r.text
    assert await UserIdentity.all().count() == 0 and await _live_sessions() == 0


async def test_without_a_sign_in_waiting_there_is_nothing_to_link(client, provider, users):
    await users("carol")
    r = await client.get(EXISTING)
    assert r.status_code == 400 and "no sign-in waiting to be linked" in r.text
    csrf = CSRF.search(r.text)
    token = csrf.group(1) if csrf else CSRF.search((await client.get("/login")).text).group(1)
    r = await client.post(EXISTING, data={"csrf_token": token, "password": "password123"})
    assert r.status_code == 400 and await UserIdentity.all().count() == 0 and await _live_sessions() == 0


@pytest.mark.parametrize("verified", [False, "false", None])
async def test_an_unverified_address_is_never_offered(client, provider, users, verified):
    await users("carol")
    _carol_at_provider(provider, verified)
    r = await _sign_in(client, provider, "carol")
    assert r.status_code == 409
    assert FAILED in r.text and "Log in to it with your password" in r.text
    assert (await client.get(EXISTING)).status_code == 400
    assert await UserIdentity.all().count() == 0 and await _live_sessions() == 0 and await User.all().count() == 1


async def test_a_member_with_an_identity_at_the_provider_already_is_not_offered(client, provider, users):
    from community import clock

    carol = await users("carol")
    await UserIdentity.create(user=carol, provider="acme", subject="acme-carol-old", created_at=clock.now())
    _carol_at_provider(provider)
    r = await _sign_in(client, provider, "carol")
    assert r.status_code == 409 and FAILED in r.text
    assert await UserIdentity.filter(subject="acme-carol").count() == 0 and await _live_sessions() == 0


async def test_several_accounts_with_the_address_ask_which(client, provider, users):
    carol = await users("carol")
    other = await users("carol2")
    await User.filter(id=other.id).update(email="carol@example.com")
    _carol_at_provider(provider)
    r = await _sign_in(client, provider, "carol")
    assert r.headers["location"] == EXISTING
    page = await client.get(EXISTING)
    assert "Which account is yours?" in page.text
    assert 'name="username" value="carol"' in page.text and 'name="username" value="carol2"' in page.text
    csrf = CSRF.search(page.text).group(1)
    r = await client.post(EXISTING, data={"csrf_token": csrf, "username": "nobody", "password": "password123"})
    assert r.status_code == 422 and "Choose which of your accounts" in r.text
    r = await client.post(EXISTING, data={"csrf_token": csrf, "username": "carol2", "password": "password123"})
    assert r.status_code == 303 and await _signed_in_as(client) == "carol2"
    assert (await UserIdentity.get(subject="acme-carol")).user_id == other.id != carol.id


# ---- usernames from preferred_username --------------------------------------------------------------

async def test_a_look_alike_preferred_username_gets_a_distinct_valid_name(client, provider, users):
    await users("alice")
    made = []
    for i, wanted in enumerate(["\u0430lice", "aIice", "a1ice", "ALICE"]):  # Cyrillic а; capital I; digit 1; capitals
        provider.add_account(f"p{i}", sub=f"acme-p{i}", preferred_username=wanted, email=f"p{i}@acme.example",
                             email_verified=True)
        client.cookies.clear()
        r = await _sign_in(client, provider, f"p{i}")
        assert r.status_code == 303, r.text
        made.append((await UserIdentity.get(subject=f"acme-p{i}").prefetch_related("user")).user.username)
    assert made == ["alice-2", "aIice-3", "a1ice-4", "ALICE-5"]
    every = await User.all().values_list("username", flat=True)
    for name in every:
        assert accounts.USERNAME_RE.match(name), name
        others = set().union(*(usernames.lookalike_keys(n) for n in every if n != name))
        assert not usernames.lookalike_keys(name) & others, name
