"""Members and their OpenID Connect identities (community.models.UserIdentity): the first sign-in
creates the member, later ones find them by (provider, subject) only, never by email; a password
member links a provider from their settings; roles follow a claim when the provider is set up to.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from tortoise.exceptions import IntegrityError

from community import accounts, clock, db, usernames
from community.errors import Conflict, Invalid, NotAllowed, NotFound
from community.models import ROLES, User, UserIdentity
from community.oidc_settings import ProviderSettings

# Which role wins when a member's claim values map to several.
_RANK = {role: i for i, role in enumerate(("member", "staff", "moderator", "admin"))}
assert set(_RANK) == set(ROLES)


class AccountExists(Conflict):
    """A sign-in's verified address belongs to members here who can link the identity by entering
    their forum password (`link_existing`); `user_ids` are those members."""

    def __init__(self, settings: ProviderSettings, email: str, user_ids: list[int]) -> None:
        super().__init__(f"An account with the address {email} already exists here: enter its forum password "
                         f"to link your {settings.label} to it.")
        self.email, self.user_ids = email, user_ids


def claimed_email(claims: dict[str, Any]) -> tuple[str, bool]:
    """The address the provider gave (when it looks like one) and whether the provider says it is verified."""
    email = claims.get("email")
    if not isinstance(email, str) or len(email) > 254 or not accounts.EMAIL_RE.match(email.strip()):
        return "", False
    verified = claims.get("email_verified")
    return email.strip(), verified is True or (isinstance(verified, str) and verified.lower() == "true")


def _claim(claims: dict[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def role_for(settings: ProviderSettings, claims: dict[str, Any], current: str) -> str | None:
    """The role the claim gives, or None when roles do not follow this provider's claim.

    The claim decides among the roles the map names and "member": a member whose values map to
    none is a member. A role the map cannot give (an admin made in the forum, when the map names no
    admin) stays as it is, so an identity provider that knows nothing of it cannot take it away.
    """
    if not settings.roles_follow_claim:
        return None
    values = _claim(claims, settings.role_claim)
    if isinstance(values, str):
        values = values.replace(",", " ").split()
    if not isinstance(values, list):
        values = []
    given = [settings.role_map[v] for v in values if isinstance(v, str) and v in settings.role_map]
    governed = set(settings.role_map.values()) | {"member"}
    if current not in governed:
        return None
    return max(given, key=_RANK.__getitem__) if given else "member"


def _base_name(claims: dict[str, Any], email: str) -> str:
    for raw in (claims.get("preferred_username"), claims.get("nickname"), email.split("@", 1)[0] if email else None,
                claims.get("name")):
        if isinstance(raw, str):
            base = usernames.from_display_name(raw)
            if base.lower().startswith("deleted-"):
                base = base[len("deleted-"):].strip("_.-")
            if base:
                return base
    return ""


def _candidates(base: str, subject: str) -> list[str]:
    """Usernames to try in turn: the preferred one, then with -2, -3 …, then with a short tag of the subject."""
    if len(base) < 3:
        base = f"{base}-member" if base else "member"
    tag = hashlib.sha256(subject.encode()).hexdigest()[:6]
    names = [base] + [usernames.with_suffix(base, f"-{n}") for n in range(2, 10)]
    names += [usernames.with_suffix(base, f"-{tag}"), usernames.with_suffix(base, f"-{secrets.token_hex(4)}")]
    return [n for n in names if accounts.USERNAME_RE.match(n)]


async def _taken_keys() -> set[str]:
    """The look-alike keys (`usernames.lookalike_keys`) of every username here, read as the importer
    reads them (community/insights/importer.py): a first sign-in happens once per member."""
    keys: set[str] = set()
    for row in await db.fetch('SELECT username FROM "user"', []):
        keys |= usernames.lookalike_keys(row["username"])
    return keys


async def _free_name(names: list[str]) -> list[str]:
    """Those of `names` that neither are nor look like (any letter case, Unicode confusables
    skeleton) a username taken here."""
    taken = await _taken_keys()
    free = []
    for name in names:
        keys = usernames.lookalike_keys(name)
        if not keys & taken:
            free.append(name)
    return free


async def find(provider: str, subject: str) -> User | None:
    """The member this identity belongs to (by provider and subject only)."""
    identity = await UserIdentity.filter(provider=provider, subject=subject).select_related("user").first()
    return identity.user if identity else None


async def sign_in(settings: ProviderSettings, claims: dict[str, Any]) -> tuple[User, bool]:
    """The member for a checked sign-in, created on the first one; (member, created).

    Nothing is linked by email alone. When the address belongs to a member here already: if the
    provider says it is verified and that member has a password and no identity at this provider,
    AccountExists (the caller asks for that account's password, `link_existing`); otherwise Conflict
    (the member links the provider from their settings after logging in with their password).
    """
    subject, now = claims["sub"], clock.now()
    email, verified = claimed_email(claims)
    user = await find(settings.name, subject)
    if user is not None:
        if user.deleted_at is not None:
            raise NotAllowed("The account this sign-in belongs to was deleted.")
        await UserIdentity.filter(provider=settings.name, subject=subject).update(last_used_at=now, email=email)
        role = role_for(settings, claims, user.role)
        if role is not None and role != user.role:
            user = await accounts.set_role(user.username, role)  # ends its other sessions: they log in under the new role
        return user, False
    if email:
        holders = await User.filter(email__iexact=email, deleted_at=None).order_by("id")
        if holders:
            linkable = await _linkable(settings, holders) if verified else []
            if linkable:
                raise AccountExists(settings, email, [u.id for u in linkable])
            raise Conflict(f"There is already an account here with the address {email}. Log in to it with your password, "
                           f"then link your {settings.label} from your account settings (Account → Sign-in methods).")
    role = role_for(settings, claims, "member") or "member"
    display = usernames.display_name(claims.get("name") if isinstance(claims.get("name"), str) else "")
    for name in await _free_name(_candidates(_base_name(claims, email), subject)):
        try:
            async with db.transaction() as conn:
                user = await User.create(username=name, email=email, password_hash=None, role=role,
                                         display_name=display if display != name else "", created_at=now,
                                         email_confirmed_at=now if email and verified else None, using_db=conn)
                await UserIdentity.create(user=user, provider=settings.name, subject=subject, email=email,
                                          created_at=now, last_used_at=now, using_db=conn)
            return user, True
        except IntegrityError:
            existing = await find(settings.name, subject)
            if existing is not None:  # the same person's other tab signed in at the same moment
                return existing, False
            continue  # the name was taken meanwhile: the next one
    raise Conflict("No free username could be made for you; please try again.")


async def identities(user: User) -> list[UserIdentity]:
    return await UserIdentity.filter(user_id=user.id).order_by("created_at", "id")


async def link(user: User, settings: ProviderSettings, claims: dict[str, Any]) -> UserIdentity:
    """Link a checked sign-in's identity to `user` (who re-entered their password before it started)."""
    subject, now = claims["sub"], clock.now()
    email, _ = claimed_email(claims)
    owner = await find(settings.name, subject)
    if owner is not None and owner.id != user.id:
        raise Conflict(f"That {settings.label} is already linked to another member here. Sign in with it to reach "
                       "that account, or unlink it there first.")
    if owner is not None:
        return await UserIdentity.get(provider=settings.name, subject=subject)
    if await UserIdentity.filter(user_id=user.id, provider=settings.name).exists():
        raise Conflict(f"Another {settings.label} is linked to your account already; unlink it first.")
    try:
        return await UserIdentity.create(user_id=user.id, provider=settings.name, subject=subject, email=email,
                                         created_at=now, last_used_at=now)
    except IntegrityError:
        raise Conflict(f"That {settings.label} was linked to another member at the same moment.") from None


async def check_link_password(user: User, password: Any) -> None:
    """Linking starts only after the member re-enters their password (counted like a password change)."""
    if not user.password_hash:
        raise Invalid("password", "Your account has no password, so linking cannot be confirmed. Set one with "
                                  "“Forgot your password?” on the log-in page first.")
    await accounts.check_current_password(user, password, field="password")


async def unlink(user: User, provider: str, passwords_count: bool) -> None:
    """Remove a linked provider, unless it is the last way the member can sign in.

    `passwords_count` is False under SSO_ONLY for members: their password no longer signs them in.
    """
    mine = await identities(user)
    if not any(i.provider == provider for i in mine):
        raise NotFound("That provider is not linked to your account.")
    other_ways = len(mine) - 1 + (1 if user.password_hash and passwords_count else 0)
    if other_ways < 1:
        raise Conflict("This is the only way you can sign in, so it stays linked. "
                       + ("Link another provider first." if not passwords_count
                          else "Set a password first (“Forgot your password?” on the log-in page), or link another provider."))
    await UserIdentity.filter(user_id=user.id, provider=provider).delete()


# An existing member links a provider at their first sign-in with it (the address matched, verified).

async def _linkable(settings: ProviderSettings, holders: list[User]) -> list[User]:
    """The members among `holders` who could link this provider with their password: they have one
    and no identity at this provider yet."""
    with_identity = set(await UserIdentity.filter(user_id__in=[u.id for u in holders], provider=settings.name)
                        .values_list("user_id", flat=True))
    return [u for u in holders if u.password_hash and u.id not in with_identity]


def kept_claims(settings: ProviderSettings, claims: dict[str, Any]) -> dict[str, Any]:
    """What of a checked sign-in's claims a pending link keeps (in the signed session, a few minutes):
    the subject, the address and whether it is verified, the names, and the role claim."""
    kept = {k: claims[k] for k in ("sub", "email", "email_verified", "preferred_username", "name") if k in claims}
    if settings.roles_follow_claim:
        value = _claim(claims, settings.role_claim)
        if value is not None:
            target = kept
            parts = settings.role_claim.split(".")
            for part in parts[:-1]:
                target = target.setdefault(part, {})
            target[parts[-1]] = value
    return kept


async def candidates(user_ids: list[int]) -> list[User]:
    """The members a pending link may go to, as they are now (still there, still with a password)."""
    return [u for u in await User.filter(id__in=user_ids, deleted_at=None).order_by("id") if u.password_hash]


async def link_existing(settings: ProviderSettings, claims: dict[str, Any], user_ids: list[int], username: Any,
                        password: Any, address: str) -> User:
    """The person who signed in at the provider shows they own the existing account with the same
    (verified) address by entering its forum password: the identity is linked to it and the member
    found by it, as at any later sign-in. The password is checked by `accounts.authenticate`, so wrong
    tries count and slow down as log-in's do; nothing is linked unless it is right."""
    holders = await candidates(user_ids)
    if not holders:
        raise Conflict("That account is no longer here, or has no password now. Sign in again to start over.")
    if len(holders) == 1:
        chosen = holders[0]
    else:
        wanted = username.strip().lower() if isinstance(username, str) else ""
        chosen = next((u for u in holders if u.username.lower() == wanted), None)
        if chosen is None:
            raise Invalid("username", "Choose which of your accounts to link.")
    if not isinstance(password, str) or not password:
        raise Invalid("password", "Enter the forum password of that account.")
    try:
        user = await accounts.authenticate(chosen.username, password, address)
    except Invalid as err:
        if err.field != "password":
            raise
        raise Invalid("password", f"That is not the forum password of {chosen.username}. Check it and try again; "
                                  "nothing was linked.") from None
    email, verified = claimed_email(claims)
    if not (verified and email and user.email.strip().lower() == email.lower()):
        raise Conflict("The account's address changed meanwhile, so it cannot be linked this way. Sign in again "
                       "to start over.")
    await link(user, settings, claims)
    user, _ = await sign_in(settings, claims)  # found by the identity now: last use noted, role from the claim
    return user
