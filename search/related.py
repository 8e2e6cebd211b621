"""Threads like an existing question: the staff desk's similar solved threads and the close form's
likely originals. Both ask the search backend's `similar` (hybrid or lexical, solved first) with the
question's own title and the start of its body, and keep the backend's order.
"""

from __future__ import annotations

from typing import Any

from community.models import Post
from search.documents import plain_text
from search.results import Hit

BODY_CHARS = 1000  # the start of the body says what the question is about; the rest costs time
WINDOW = 20  # asked of the backend, so that enough are left after the filters below


async def similar_to(backend: Any, question: Post, limit: int = 5, *, solved_only: bool = False) -> list[Hit]:
    """Up to `limit` threads similar to `question`: never the question itself, nor one that is
    hidden, deleted or closed as a duplicate (the index may lag a moment behind such a change)."""
    hits = await backend.similar(question.title, plain_text(question.body_html)[:BODY_CHARS], max(WINDOW, limit))
    hits = [h for h in hits if h.question_id != question.id and (not solved_only or h.state == "solved")]
    if not hits:
        return []
    rows = await Post.filter(id__in=[h.question_id for h in hits], kind="question", hidden=False,
                             deleted_at=None).values_list("id", "closed_reason")
    usable = {pid for pid, closed in rows if closed != "duplicate"}
    return [h for h in hits if h.question_id in usable][:limit]
