"""One answer to "may this user do this?": role, ownership, or a reputation threshold."""

from __future__ import annotations

from dataclasses import dataclass

from community import clock, settings
from community.errors import NotAllowed, NotAuthenticated
from community.models import User


@dataclass(frozen=True)
class Privilege:
    key: str  # settings name, e.g. "priv.upvote"
    title: str
    description: str

    @property
    def reputation(self) -> int:
        return int(settings.get(self.key))


PRIVILEGES: dict[str, Privilege] = {
    "upvote": Privilege("priv.upvote", "vote up", "Vote up questions and answers you find useful."),
    "flag": Privilege("priv.flag", "flag posts", "Bring spam, abuse and problems to moderators' attention."),
    "comment": Privilege("priv.comment", "comment everywhere", "Comment on any question or answer."),
    "downvote": Privilege("priv.downvote", "vote down", "Vote down posts that are not useful."),
    "review": Privilege("priv.review", "access review queues", "Review flagged posts, first posts and suggested edits."),
    "edit": Privilege("priv.edit", "edit any post", "Edit any question or answer without review."),
    "close": Privilege("priv.close", "cast close and reopen votes", "Vote to close or reopen questions."),
    "moderate": Privilege("priv.moderate", "moderator tools", "See deleted posts and moderation tools."),
}


# A member's role as pages name it.
ROLE_TITLES = {"member": "Member", "moderator": "Moderator", "staff": "Support agent", "admin": "Administrator"}


def role_title(role: str) -> str:
    return ROLE_TITLES.get(role, "Member")


# The privileges behind a thread's controls, in the words of the note that explains a disabled one.
CONTROL_NEEDS = {"upvote": "Vote up", "flag": "Flag posts", "comment": "Comment on others' posts", "downvote": "Vote down",
                 "close": "Vote to close"}


def has(user: User | None, name: str) -> bool:
    if user is None:
        return False
    if user.is_moderator:
        return True
    return user.reputation >= PRIVILEGES[name].reputation


def require_user(user: User | None) -> User:
    if user is None:
        raise NotAuthenticated()
    return user


def require_active(user: User | None) -> User:
    """A logged-in member who is not suspended."""
    user = require_user(user)
    _refuse_if_suspended(user, "you can read but not post or vote.")
    return user


def _refuse_if_suspended(user: User, what_is_left: str) -> None:
    if user.suspended_until is not None and user.suspended_until > clock.now():
        reason = f" Reason: {user.suspension_reason}" if user.suspension_reason else ""
        raise NotAllowed(f"Your account is suspended until {user.suspended_until:%Y-%m-%d %H:%M} UTC; {what_is_left}{reason}")


def require(user: User | None, name: str) -> User:
    user = require_active(user)
    if not has(user, name):
        p = PRIVILEGES[name]
        raise NotAllowed(
            f"You need the '{p.title}' privilege, which takes {p.reputation} reputation "
            f"(you have {user.reputation}).",
            field=name,
        )
    return user


def require_staff(user: User | None) -> User:
    user = require_user(user)
    if not user.is_staff:
        raise NotAllowed("Only support staff can do this.")
    return user


def require_agent(user: User | None) -> User:
    """Support staff who may work tickets (claim, reply, note, release, reassign, resolve): a
    suspended agent can still read the desk, but not act on it."""
    user = require_staff(user)
    _refuse_if_suspended(user, "you can read the desk but not claim, reply to, note, release, reassign or resolve tickets.")
    return user


def is_lead(user: User | None) -> bool:
    """A support lead (an admin): may release, reassign and resolve tickets other agents hold."""
    return user is not None and user.role == "admin"


def sees_private(viewer: User | None, member: User) -> bool:
    """Whether `viewer` may see what a member keeps to themselves (watched tags, mail settings):
    the member, or an admin."""
    return viewer is not None and (viewer.id == member.id or viewer.role == "admin")


def require_moderator(user: User | None) -> User:
    user = require_active(user)
    if not user.is_moderator:
        raise NotAllowed("Only moderators can do this.")
    return user


def is_admin(user: User | None) -> bool:
    """Whether the admin console's admin-only sections (settings, delivery, brand) are this member's."""
    return user is not None and user.role == "admin"


def require_admin(user: User | None, what: str = "do this") -> User:
    """The community's settings (its brand, its time zone) are an admin's."""
    user = require_active(user)
    if user.role != "admin":
        raise NotAllowed(f"Only admins can {what}.")
    return user


def require_over(actor: User | None, member: User, what: str) -> User:
    """A moderator acts on members and support agents (suspend, reset link, end sessions); on a
    moderator or an admin only an admin does, as with suspensions (moderation/members.py)."""
    actor = require_moderator(actor)
    if member.is_moderator and actor.role != "admin":
        raise NotAllowed(f"Only an admin can {what} a moderator or an admin.")
    return actor


def progress(user: User | None) -> list[dict]:
    rep = user.reputation if user else 0
    return [
        {"name": name, "title": p.title, "description": p.description, "reputation": p.reputation,
         "earned": has(user, name), "missing": max(0, p.reputation - rep)}
        for name, p in sorted(PRIVILEGES.items(), key=lambda kv: kv[1].reputation)
    ]


def missing(user: User | None, names: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    """Each of these privileges a member lacks, with the reputation it takes (nothing for anonymous readers)."""
    if user is None:
        return ()
    return tuple((name, PRIVILEGES[name].reputation) for name in names if not has(user, name))


def control_needs(user: User | None) -> list[dict[str, str]]:
    """What a member reads before using a control they may not use yet, nearest first, the first with
    what they have: "Vote up at 15 reputation; you have 1."."""
    lacking = sorted(missing(user, tuple(CONTROL_NEEDS)), key=lambda pair: pair[1])
    out = []
    for i, (name, reputation) in enumerate(lacking):
        have = f"; you have {user.reputation:,}" if i == 0 and user is not None else ""
        out.append({"name": name, "text": f"{CONTROL_NEEDS[name]} at {reputation:,} reputation{have}."})
    return out
