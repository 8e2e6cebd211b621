"""What a member's profile shows of their activity: posts per week as a small bar chart, and the tags
they are known for (by the score of their answers there, then by how often they post there)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from community import clock, db

WEEKS = 26
RECENT = 500  # top tags: of a member's latest questions and latest answers, this many of each
CHART_WIDTH, CHART_HEIGHT = 260, 48


@dataclass(frozen=True)
class Week:
    start: str  # ISO day the week starts (Monday)
    questions: int
    answers: int
    x: int  # the bar's place in the chart
    height: int  # the bar's height in the chart (0: no posts)

    @property
    def total(self) -> int:
        return self.questions + self.answers


@dataclass(frozen=True)
class TopTag:
    name: str
    posts: int
    score: int


async def weekly(user_id: int) -> list[Week]:
    """Questions and answers per week over the last WEEKS weeks, oldest first, with bar sizes."""
    today = clock.now().date()
    first = today - timedelta(days=today.weekday() + 7 * (WEEKS - 1))
    # Only the chart's weeks: a range of the (author_id, kind, created_at) index (migration 0012).
    since = datetime.combine(first, datetime.min.time(), tzinfo=timezone.utc)
    rows = await db.fetch(
        "SELECT kind, created_at FROM post WHERE author_id = ? AND kind IN ('question', 'answer') AND created_at >= ? "
        "AND deleted_at IS NULL AND hidden = ? LIMIT 5000", [user_id, since, False])
    counts = [[0, 0] for _ in range(WEEKS)]
    for r in rows:
        created = r["created_at"]
        day = (created if isinstance(created, datetime) else datetime.fromisoformat(str(created))).date()
        i = (day - first).days // 7
        if 0 <= i < WEEKS:
            counts[i][0 if r["kind"] == "question" else 1] += 1
    peak = max((q + a for q, a in counts), default=0) or 1
    step = CHART_WIDTH // WEEKS
    return [Week(str(first + timedelta(days=7 * i)), q, a, i * step, round((q + a) / peak * (CHART_HEIGHT - 2)))
            for i, (q, a) in enumerate(counts)]


async def top_tags(user_id: int, limit: int = 5) -> list[TopTag]:
    """The tags of the questions a member asked or answered, by their answers' score there, then posts:
    of their latest RECENT questions and RECENT answers (two ranges of the (author_id, kind, created_at)
    index), so a member with tens of thousands of posts costs what one with a thousand does."""
    mine = ("SELECT * FROM (SELECT id, question_id, kind, score FROM post WHERE author_id = ? AND kind = '{kind}' "
            "AND deleted_at IS NULL AND hidden = ? ORDER BY created_at DESC LIMIT ?) {alias}")
    rows = await db.fetch(
        "SELECT t.name AS name, COUNT(*) AS posts, "
        "SUM(CASE WHEN p.kind = 'answer' THEN p.score ELSE 0 END) AS score "
        f"FROM ({mine.format(kind='question', alias='q')} UNION ALL {mine.format(kind='answer', alias='a')}) p "
        "JOIN post_tag pt ON pt.post_id = COALESCE(p.question_id, p.id) JOIN tag t ON t.id = pt.tag_id "
        "GROUP BY t.name ORDER BY score DESC, posts DESC, t.name LIMIT ?",
        [user_id, False, RECENT, user_id, False, RECENT, limit])
    return [TopTag(r["name"], int(r["posts"]), int(r["score"] or 0)) for r in rows]
