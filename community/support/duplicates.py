"""The staff desk's similar solved threads, and the two ways an agent answers a ticket with one:
an official reply that links to it, or resolving the ticket as a duplicate of it (which closes the
question as its duplicate, in the same transaction)."""

from __future__ import annotations

import re
import string
from typing import Any

from community import db, privileges, questions
from community.errors import Invalid, NotFound
from community.models import Post, User
from community.support import tickets
from community.support.models import Ticket
from moderation import closing
from search import related
from search.results import Hit

SHOWN = 5
_ID = re.compile(r"\s*[0-9]{1,12}\s*")
_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")


async def similar_solved(backend: Any, question: Post | None) -> list[Hit]:
    """The five threads most like the ticket's question that are solved (not the question itself)."""
    if question is None:
        return []
    return await related.similar_to(backend, question, SHOWN, solved_only=True)


def _question_id(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        n = value
    elif isinstance(value, str) and _ID.fullmatch(value):
        n = int(value)
    else:
        raise Invalid("question_id", "Choose the thread by its question id (a whole number).")
    if not 0 < n < 2**31:
        raise NotFound(f"There is no question {n}.", "question_id")
    return n


async def _original(t: Ticket, value: Any, conn: Any = None) -> Post:
    qid = _question_id(value)
    if qid == t.question_id:
        raise Invalid("question_id", "That is this ticket's own question; choose another thread.")
    original = await Post.filter(id=qid, kind="question").using_db(conn).first()
    if original is None or not original.visible:
        raise NotFound(f"There is no question {qid} to point to.", "question_id")
    return original


def _markdown_text(text: str) -> str:
    """Text that markdown shows as written (a title with [brackets] or *stars* in a link)."""
    return _PUNCTUATION.sub(r"\\\1", " ".join(text.split()))


def link_body(original: Post) -> str:
    link = f"[{_markdown_text(original.title)}](/questions/{original.id})"
    if original.state == "solved":
        return f"This was answered in {link} — that thread's accepted answer should solve it."
    return f"This is discussed in {link} — the answers there should help."


async def reply_with_link(user: User | None, ticket_id: Any, question_id: Any) -> Post:
    """An official reply on the ticket's thread pointing to another thread, with every rule of
    `tickets.reply` (claimed by another agent, resolved, ...)."""
    user = privileges.require_agent(user)
    t = await tickets.load(ticket_id)
    original = await _original(t, question_id)
    return await tickets.reply(user, t.id, link_body(original))


@db.retried
async def resolve_duplicate(user: User | None, ticket_id: Any, question_id: Any) -> Ticket:
    """Resolve the ticket as "duplicate" and close its question as a duplicate of `question_id`, in one
    transaction: the ticket first (with `resolve`'s rules, so closing finds no open ticket to mark
    "closed"), then the close, which refuses a question that is already closed."""
    user = privileges.require_agent(user)
    t = await tickets.load(ticket_id)
    async with db.transaction() as conn:
        question = await closing.lock_question(t.question_id, user, conn)  # the post first: the lock order
        original = await _original(t, question_id, conn)
        await tickets.resolve_in(user, t.id, "duplicate", conn, f"Duplicate of question {original.id}: {original.title}")
        await closing.close_as_duplicate_in(user, question, original.id,
                                            f"Support agent resolved ticket {t.id} as a duplicate", conn)
    await questions.bump_generation()
    return await tickets.load(t.id)
