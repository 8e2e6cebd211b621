"""The scale benchmark's generator (bench/scale_data.py): the rows it hands to COPY agree with each
other the way the application's own writes would leave them, and a seed gives the same forum."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import scale_data  # noqa: E402

COLUMNS = scale_data.COLUMNS


@pytest.fixture(scope="module")
def text() -> scale_data.Text:
    return scale_data.read_text()


def _forum(text: scale_data.Text, questions: int, seed: int) -> tuple[scale_data.Plan, dict[str, list[tuple]]]:
    plan = scale_data.plan(questions, seed, text)
    chunks = scale_data.Chunks(plan, text)
    rows: dict[str, list[tuple]] = {}
    for first in range(1, questions + 1, 150):
        for table, part in chunks.chunk(first, min(questions, first + 149)).items():
            rows.setdefault(table, []).extend(part)
    return plan, rows


def _as_dicts(table: str, rows: list[tuple]) -> list[dict]:
    return [dict(zip(COLUMNS[table], r)) for r in rows]


def test_rows_agree_with_each_other(text: scale_data.Text) -> None:
    plan, rows = _forum(text, 400, seed=3)
    posts = {p["id"]: p for p in _as_dicts("post", rows["post"])}
    questions = {i: p for i, p in posts.items() if p["kind"] == "question"}
    answers = [p for p in posts.values() if p["kind"] == "answer"]
    assert sorted(questions) == list(range(1, 401))
    assert 1.5 < len(answers) / len(questions) < 2.7  # about two answers a question
    per_question = Counter(a["question_id"] for a in answers)
    for q in questions.values():
        assert q["answer_count"] == per_question.get(q["id"], 0)
        assert q["state"] == ("unanswered" if not q["answer_count"] else "solved" if q["accepted_answer_id"] else "answered")
        if q["accepted_answer_id"]:
            assert posts[q["accepted_answer_id"]]["question_id"] == q["id"]
        assert q["tag_names"] and q["body_html"].startswith("<p>")
    votes = _as_dicts("vote", rows["vote"])
    assert len({(v["post_id"], v["voter_id"]) for v in votes}) == len(votes)  # one vote per member and post
    assert all(v["voter_id"] != posts[v["post_id"]]["author_id"] for v in votes)
    score = Counter()
    for v in votes:
        score[v["post_id"]] += v["value"]
    assert all(p["score"] == score.get(i, 0) for i, p in posts.items())
    tags = Counter(t for _, t in rows["post_tag"])
    assert tags.most_common(1)[0][1] > 10 * max(1, tags.get(200, 0))  # a Zipf spread: the first tag dwarfs the 200th
    assert [row[3] for row in scale_data.tags(plan)][:5] == [tags.get(i, 0) for i in range(1, 6)]
    search = _as_dicts("scale_search_text", rows["scale_search_text"])
    assert [s["question_id"] for s in search] == sorted(questions)
    assert all(s["state"] == questions[s["question_id"]]["state"] for s in search)
    ledger = {r[1]: r[2] for r in scale_data.ledger(plan)}
    assert all(rep == 1 + ledger.get(i + 1, 0) for i, rep in enumerate(plan.reputations))
    reps = sorted(plan.reputations)
    assert reps[len(reps) // 2] <= 10 and reps[-1] > 1000  # heavy-tailed: most members have little, a few a lot


def test_a_seed_gives_the_same_forum(text: scale_data.Text) -> None:
    _, one = _forum(text, 120, seed=5)
    _, again = _forum(text, 120, seed=5)
    _, other = _forum(text, 120, seed=6)
    assert one == again
    assert one["post"] != other["post"]
