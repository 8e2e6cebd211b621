"""In-process domain events, so rooms react to each other's writes without importing handlers.

Subscribers run inside the writer's transaction (they receive `conn`), so a reaction such as
resolving a support ticket commits or rolls back together with the write that caused it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

Subscriber = Callable[..., Awaitable[None]]
_subscribers: dict[str, list[Subscriber]] = defaultdict(list)

# Event names and their keyword arguments (all also receive conn=):
#   question_asked(question)            answer_posted(question, answer)
#   answer_accepted(question, answer, by)   answer_unaccepted(question, answer)
#   post_edited(post, editor, before)   comment_posted(post, comment)
#   vote_cast(post, voter, value, before)   (value and before: 1, -1 or 0; cast, changed or taken back)
#   post_visibility_changed(post)       (held, hidden, deleted, or shown again: post.hidden, post.deleted_at)


def subscribe(name: str, fn: Subscriber) -> None:
    if fn not in _subscribers[name]:
        _subscribers[name].append(fn)


async def emit(name: str, **kwargs: Any) -> None:
    for fn in list(_subscribers[name]):
        await fn(**kwargs)
