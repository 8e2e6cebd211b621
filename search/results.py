"""What a search returns, whichever backend answered it."""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup

PER_PAGE = 10
MAX_PAGE = 100  # deep pages cost more than they help; the last pages say "refine your search"


@dataclass
class Hit:
    question_id: int
    title: str
    snippet: Markup  # escaped text with <mark> around matched words
    state: str
    score: int
    answer_count: int
    tags: list[str]
    relevance: float = 0.0

    def as_json(self) -> dict:
        return {"question_id": self.question_id, "title": self.title, "snippet": str(self.snippet),
                "state": self.state, "score": self.score, "answer_count": self.answer_count, "tags": self.tags}


@dataclass
class SearchPage:
    items: list[Hit]
    total: int
    total_exact: bool = True
    page: int = 1
    per_page: int = PER_PAGE
    hints: list[str] = field(default_factory=list)
    suggestion: str | None = None  # "did you mean" query

    @property
    def hint(self) -> str | None:
        return " ".join(self.hints) or None

    @property
    def pages(self) -> int:
        return max(1, min(MAX_PAGE, -(-self.total // self.per_page)))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages and len(self.items) == self.per_page


def rerank_window(hits: list, quality_of, window: int = 50) -> list:
    """Multiply relevance by thread quality within fixed windows of the relevance order.

    Fixed windows keep pages stable (page 2 never repeats page 1) while solved and well-scored
    threads still rise among matches of similar relevance.
    """
    out: list = []
    for start in range(0, len(hits), window):
        block = hits[start:start + window]
        block.sort(key=lambda h: -h[1] * quality_of(h[0]))
        out += block
    return out
