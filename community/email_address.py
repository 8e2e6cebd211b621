"""A member's email address: the confirmation mail (sign-up, asked for again, or for a new address),
confirming through its signed link, and changing the address, which is confirmed before any mail
goes to it (the old one keeps working until then)."""

from __future__ import annotations

from typing import Any

from community import accounts, clock, db, mail, mail_links, ratelimit
from community.errors import Conflict, Invalid, NotAllowed
from community.mail_links import Site
from community.models import OutgoingMail, User

NO_MAIL = "This forum does not send mail yet, so an address cannot be confirmed. Ask an administrator."


def to_confirm(user: User) -> str:
    """The address a confirmation mail would confirm: the new one waiting, else the current one when it
    is not confirmed or mail to it bounces; "" when there is nothing to confirm."""
    if user.pending_email:
        return user.pending_email
    if user.email_confirmed_at is None or user.email_bouncing_at is not None:
        return user.email
    return ""


async def send_confirmation(user: User, site: Site, conn: Any = None, *, to: str | None = None) -> OutgoingMail:
    """Queue a mail whose signed link (expiring after mail_links.CONFIRM_MAX_AGE) confirms `to`: by
    default the address waiting to be confirmed, else the member's address."""
    email = to or user.pending_email or user.email
    days = mail_links.CONFIRM_MAX_AGE // 86400
    link = mail_links.confirm_url(site, user.id, email)
    if email != user.email:
        what = (f"Open this link within {days} days to make {email} the address of your account "
                f"{user.username}:\n{link}\n\nUntil then, mail keeps going to your current address.\n\n")
    else:
        what = f"Open this link within {days} days to confirm {email} for your account {user.username}:\n{link}\n\n"
    text = f"Hello {user.username},\n\n{what}If you did not ask for this, ignore this message.\n"
    return await mail.queue(email, "Confirm your email address", text, "confirm_email", conn, user_id=user.id)


@db.retried
async def send_again(user: User, site: Site, *, address: str | None = None, mail_on: bool = True) -> str:
    """The member asks for the confirmation mail again (rate limited); returns the address it goes to."""
    email = to_confirm(user)
    if not email:
        raise Conflict(f"{user.email} is already confirmed; there is nothing to confirm.", "email")
    if not mail_on:
        raise Invalid("email", NO_MAIL)
    async with db.transaction() as conn:
        await ratelimit.spend("confirmation", user, address, conn)
        await send_confirmation(user, site, conn, to=email)
    return email


def _new_address(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid("new_email", "Enter the new email address.")
    email = value.strip()
    if len(email) > 254 or not accounts.EMAIL_RE.match(email):
        raise Invalid("new_email", "Enter an email address like name@example.com.")
    return email


async def change(user: User, new_email: Any, password: Any, site: Site, *, address: str | None = None,
                 mail_on: bool = True) -> str:
    """Ask to change the member's address: it waits in `pending_email` and a confirmation mail goes to
    it; the current address, when confirmed, is told that a change was asked for. Asking for the
    current address again cancels a change that waits. Returns "sent", or "cancelled" for that."""
    email = _new_address(new_email)
    await accounts.check_current_password(user, password, "email_password")
    if email == user.email:
        if not user.pending_email:
            raise Invalid("new_email", f"{email} is already your address.")
        await User.filter(id=user.id).update(pending_email="")
        user.pending_email = ""
        return "cancelled"
    if not mail_on:
        raise Invalid("new_email", NO_MAIL)
    await _ask_change(user, email, site, address)
    return "sent"


@db.retried
async def _ask_change(user: User, email: str, site: Site, address: str | None) -> None:
    async with db.transaction() as conn:
        await ratelimit.spend("confirmation", user, address, conn)
        await User.filter(id=user.id).using_db(conn).update(pending_email=email)
        user.pending_email = email
        await send_confirmation(user, site, conn, to=email)
        if user.email_confirmed_at is not None:
            await mail.queue(user.email, "Your email address is being changed", _notice(user, email, site), "email_change",
                             conn, user_id=user.id)


def _notice(user: User, email: str, site: Site) -> str:
    return (f"Hello {user.username},\n\nSomeone logged in to your account asked to change its email address to "
            f"{email}. Nothing changes until a link we sent to that address is opened; until then mail keeps "
            "coming here.\n\nIf this was not you, change your password now (that logs everyone else out):\n"
            f"{site.url('/account')}\n")


async def confirm(site: Site, token: str) -> tuple[User, bool]:
    """Follow a confirmation link: the address it names is confirmed (a new address replaces the old
    one), and a bounce recorded against it is forgotten, since the link reached its mailbox. Returns
    the member and whether their address changed. A forged, expired or outdated link is refused."""
    uid, email = mail_links.read_confirm(site, token)
    user = await User.filter(id=uid).first()
    if user is None:
        raise NotAllowed("This confirmation link is not valid. Send a new one from your account page.")
    confirmed = {"email_confirmed_at": clock.now(), "email_bouncing_at": None, "email_bounce_reason": ""}
    # Conditional updates: a change asked for meanwhile makes this link outdated rather than wrong.
    changed = bool(user.pending_email == email
                   and await User.filter(id=uid, pending_email=email).update(email=email, pending_email="", **confirmed))
    if not changed and not (user.email == email and await User.filter(id=uid, email=email).update(**confirmed)):
        raise NotAllowed("This link is for an address your account no longer uses. Send a new one from your account page.")
    return await User.get(id=uid), changed


async def confirm_new_member(user: User, config: Any) -> None:
    """After sign-up (page or API): the confirmation mail, when this forum sends mail at all (like a
    password reset, a mail queued with no mail server configured would never leave)."""
    if config.smtp_url:
        await send_confirmation(user, Site.from_config(config))
