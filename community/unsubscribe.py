"""One-click unsubscribe (RFC 8058): the signed link a mail carries turns off exactly that mail's
kinds of notification, with no log-in and no form token (a mail client posts it unattended)."""

from __future__ import annotations

from community import db, mail_links, preferences
from community.errors import NotAllowed
from community.mail_links import Site
from community.models import User


async def target(site: Site, token: str) -> tuple[User, list[str]]:
    """The member and the kinds a link names (only kinds that still exist); a forged link is refused."""
    uid, kinds = mail_links.read_unsubscribe(site, token)
    kinds = [k for k in kinds if k in preferences.KINDS]
    user = await User.filter(id=uid).first() if -2**31 < uid < 2**31 else None
    if user is None or not kinds:
        raise NotAllowed("This unsubscribe link is not valid. Change your mail settings from your account instead.")
    return user, kinds


@db.retried
async def unsubscribe(site: Site, token: str) -> tuple[User, list[str]]:
    """Set the link's kinds to "never" for its member; the others stay as they were. Following a link
    twice changes nothing more."""
    user, kinds = await target(site, token)
    async with db.transaction() as conn:
        await preferences.put(user, dict.fromkeys(kinds, "never"), conn)
    return user, kinds


def labels(kinds: list[str]) -> list[str]:
    """What a member reads for each kind."""
    return [preferences.KINDS[k][0] for k in kinds if k in preferences.KINDS]
