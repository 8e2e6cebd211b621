"""Thread documents straight from a Stack Exchange data dump (Posts.xml, PostLinks.xml).

A small reader of the search room's own, for relevance tests and the benchmark corpus: it builds
the same `ThreadDoc`s the indexer builds from the database, without importing anything into it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from search.documents import ThreadDoc, plain_text

SITE_ID_STRIDE = 10_000_000  # question ids from several sites: site number * stride + the dump's id


@dataclass
class Link:
    post_id: int  # for duplicates: the duplicate
    related_id: int  # for duplicates: the original
    kind: int  # 1 linked, 3 duplicate


def link_pairs(links: list[Link], known, kind: int) -> list[tuple[int, int]]:
    """(post, related) question ids of the links of this kind between two different questions
    that are both in `known`: for duplicates, (duplicate, original)."""
    return [(link.post_id, link.related_id) for link in links
            if link.kind == kind and link.post_id in known and link.related_id in known and link.post_id != link.related_id]


def _rows(path: Path) -> Iterator[dict[str, str]]:
    for _, el in ET.iterparse(path, events=("end",)):
        if el.tag == "row":
            yield dict(el.attrib)
            el.clear()


def _tags(raw: str) -> list[str]:
    raw = raw or ""
    if raw.startswith("|"):
        return [t for t in raw.split("|") if t]
    return [t for t in raw.replace("<", " ").replace(">", " ").split() if t]


def _when(raw: str | None) -> datetime | None:
    if not raw:
        return None
    return datetime.fromisoformat(raw).replace(tzinfo=timezone.utc)


def read_site(site_dir: Path, site_number: int = 0) -> tuple[list[ThreadDoc], list[Link]]:
    """Every question of one site as a thread document (ids offset by site_number * SITE_ID_STRIDE)."""
    offset = site_number * SITE_ID_STRIDE
    questions: dict[int, dict[str, str]] = {}
    answers: dict[int, list[dict[str, str]]] = {}
    for row in _rows(site_dir / "Posts.xml"):
        kind = row.get("PostTypeId")
        if kind == "1":
            questions[int(row["Id"])] = row
        elif kind == "2" and row.get("ParentId"):
            answers.setdefault(int(row["ParentId"]), []).append(row)
    docs = []
    for qid, q in questions.items():
        thread_answers = answers.get(qid, [])
        accepted = q.get("AcceptedAnswerId")
        state = "solved" if accepted and any(a["Id"] == accepted for a in thread_answers) else (
            "answered" if thread_answers else "unanswered")
        docs.append(ThreadDoc(
            question_id=offset + qid, title=q.get("Title", ""), body=plain_text(q.get("Body", "")),
            answers="\n".join(plain_text(a.get("Body", "")) for a in thread_answers), tags=_tags(q.get("Tags", "")),
            author=(q.get("OwnerDisplayName") or "").lower().replace(" ", ""),
            author_id=int(q["OwnerUserId"]) if q.get("OwnerUserId", "").lstrip("-").isdigit() else None,
            answerers=sorted({f"#{a['OwnerUserId']}" for a in thread_answers if a.get("OwnerUserId")}),
            state=state, score=int(q.get("Score", "0")), answer_count=len(thread_answers),
            created_at=_when(q.get("CreationDate")), last_activity_at=_when(q.get("LastActivityDate")),
        ))
    links = []
    path = site_dir / "PostLinks.xml"
    if path.exists():
        for row in _rows(path):
            links.append(Link(offset + int(row["PostId"]), offset + int(row["RelatedPostId"]), int(row["LinkTypeId"])))
    return docs, links


def read_all(root: Path) -> tuple[list[ThreadDoc], list[Link]]:
    """Every site under the datasets folder, in a stable order."""
    docs: list[ThreadDoc] = []
    links: list[Link] = []
    for n, site in enumerate(sorted(p for p in root.iterdir() if (p / "Posts.xml").exists()), start=1):
        d, links_ = read_site(site, n)
        docs += d
        links += links_
    return docs, links
