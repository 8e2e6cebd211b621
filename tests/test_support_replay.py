"""Replay a real community's history through the sweeper.

The smallest Stack Exchange site in ../shared (conlang.meta) is loaded event by event with its
real timestamps; before each question or answer arrives the clock is set to that moment and the
sweeper runs. The tickets it makes must be exactly the questions whose first answer by someone
other than the asker came at or after the SLA deadline, or never, computed here from the XML.

Traps of the dump handled: the byte-order mark (the XML parser takes it), both tag formats
(`<a><b>` and `|a|b|`), post types other than questions and answers (skipped), answers whose
question is not in the dump (skipped), missing owners (deleted users: someone other than the
asker), and answers dated before their question (merged posts: they count as in time).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from community import db, questions, settings
from community.models import Post, User
from community.support import sweeper
from community.support.models import Ticket
from tests.conftest import require_datasets

SITE = "conlang.meta.stackexchange.com"
TAG_MINUTES = {"on-topic": 15, "challenge": 720}  # per-tag overrides exercised on real tags
DEFAULT_MINUTES = 60


@dataclass
class Row:
    id: int
    kind: str
    created: datetime
    owner: int | None
    parent: int | None
    tags: list[str]
    title: str


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)  # the dump's times are UTC, unmarked


def _tags(raw: str) -> list[str]:
    raw = raw or ""
    if raw.startswith("|"):
        return [t for t in raw.split("|") if t]
    return [t for t in raw.replace(">", "").split("<") if t]


def read_posts() -> list[Row]:
    path = require_datasets() / SITE / "Posts.xml"
    rows = []
    for el in ET.parse(path).getroot().iter("row"):
        a = el.attrib
        if a["PostTypeId"] not in ("1", "2"):
            continue
        rows.append(Row(int(a["Id"]), "question" if a["PostTypeId"] == "1" else "answer", _when(a["CreationDate"]),
                        int(a["OwnerUserId"]) if a.get("OwnerUserId") else None,
                        int(a["ParentId"]) if a.get("ParentId") else None, _tags(a.get("Tags", "")), a.get("Title", "")))
    return rows


def _by_someone_else(answer: Row, question: Row) -> bool:
    return answer.owner is None or answer.owner != question.owner


def expected_escalations(rows: list[Row]) -> set[int]:
    """Straight from the XML: questions with no other-person answer before their deadline."""
    qs = {r.id: r for r in rows if r.kind == "question"}
    first: dict[int, datetime] = {}
    for r in rows:
        if r.kind == "answer" and r.parent in qs and _by_someone_else(r, qs[r.parent]):
            first[r.parent] = min(first.get(r.parent, r.created), r.created)
    out = set()
    for q in qs.values():
        overrides = [TAG_MINUTES[t] for t in q.tags if t in TAG_MINUTES]
        deadline = q.created + timedelta(minutes=min(overrides) if overrides else DEFAULT_MINUTES)
        if q.id not in first or first[q.id] >= deadline:
            out.add(q.id)
    return out


async def test_replaying_a_real_site_escalates_exactly_the_late_questions(database, fake_clock):
    rows = read_posts()
    settings.override("sla.first_answer_minutes", DEFAULT_MINUTES)
    settings.override("sla.tag_minutes", TAG_MINUTES)
    owners = sorted({r.owner for r in rows if r.owner is not None})
    start = min(r.created for r in rows)
    await User.bulk_create([User(id=o, username=f"se{o}", email=f"se{o}@example.com", created_at=start) for o in owners])
    qs = {r.id: r for r in rows if r.kind == "question"}
    pk: dict[int, int] = {}  # dump id -> our post id
    waiting: dict[int, list[Row]] = {}  # answers dated before their question

    async def add_answer(a: Row) -> None:
        q = qs[a.parent]
        async with db.transaction() as conn:
            post = await Post.create(kind="answer", question_id=pk[q.id], author_id=a.owner, body="(imported)", body_html="",
                                     created_at=a.created, last_activity_at=a.created, using_db=conn)
            if _by_someone_else(a, q):
                await Post.filter(id=pk[q.id], first_answer_at=None).using_db(conn).update(first_answer_at=a.created)
            await questions.refresh_state(pk[q.id], conn)
            del post

    events = sorted((r for r in rows if r.kind == "question" or r.parent in qs), key=lambda r: (r.created, r.kind != "question"))
    for r in events:
        fake_clock.set(r.created)
        await sweeper.sweep()
        if r.kind == "question":
            post = await Post.create(kind="question", author_id=r.owner, title=r.title, body="(imported)", body_html="",
                                     tag_names=" ".join(r.tags), created_at=r.created, last_activity_at=r.created,
                                     external_id=f"se:{SITE}:{r.id}")
            pk[r.id] = post.id
            for a in waiting.pop(r.id, []):
                await add_answer(a)
        elif r.parent in pk:
            await add_answer(r)
        else:
            waiting.setdefault(r.parent, []).append(r)
    fake_clock.set(max(r.created for r in rows) + timedelta(days=365))
    await sweeper.sweep()

    expected = expected_escalations(rows)
    dump_id = {v: k for k, v in pk.items()}
    got = {dump_id[t.question_id] for t in await Ticket.all()}
    assert len(qs) == 54
    assert 0 < len(expected) < len(qs)  # the site has both fast and slow questions
    assert got == expected
    # Each ticket records the moment its SLA ran out.
    for t in await Ticket.all():
        q = qs[dump_id[t.question_id]]
        overrides = [TAG_MINUTES[x] for x in q.tags if x in TAG_MINUTES]
        assert t.sla_breached_at == q.created + timedelta(minutes=min(overrides) if overrides else DEFAULT_MINUTES)
