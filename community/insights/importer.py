"""Bring a Stack Exchange data dump into the forum: members, questions, answers, comments,
duplicate links and the reputation they earned, in constant memory and safe to run again.

Each file is streamed row by row (`iterparse` with the rows cleared as they go) and written in
batches, one transaction per batch. Every imported row carries `external_id = "se:<site>:<id>"`,
so a batch skips what an earlier run (finished or killed half way) already committed: running
twice adds nothing, and a restarted run ends with the same rows as an uninterrupted one.

Search: new and changed questions go into the search outbox in the same transaction as the rows,
so a running indexer catches up at its own pace (or run `python run.py reindex` afterwards).
"""

from __future__ import annotations

import os
import re
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from community import clock, db, reputation, settings, usernames
from community.errors import Invalid
from community.models import Comment, Post, ReputationEvent, Tag, User
from community.rendering import markdown, plain_text, sanitise
from search import outbox

BATCH_SIZE = 500
# Stack Exchange paid +5 for a question upvote until this day, +10 from then on.
QUESTION_UPVOTE_CHANGE = datetime(2019, 11, 13, tzinfo=timezone.utc)
QUESTION_UPVOTE_BEFORE = 5
ASSOCIATION_BONUS = 100
OTHER_POST_TYPES = {
    "3": "orphaned tag wiki",
    "4": "tag wiki excerpt",
    "5": "tag wiki",
    "6": "moderator nomination",
    "7": "wiki placeholder",
    "8": "privilege wiki",
}
VOTE_TYPES_WITHOUT_REPUTATION = {
    "4": "offensive", "5": "favourite", "6": "close vote", "7": "reopen vote", "10": "deletion",
    "11": "undeletion", "12": "spam", "13": "moderator attention", "15": "moderator review",
    "16": "approved edit (the editor is not in the dump)",
}
_TAGS_ANGLE = re.compile(r"<([^<>]+)>")
_SPACES = re.compile(r"\s+")

BatchHook = Callable[[str, int], Awaitable[None] | None]


def site_name(directory: Path) -> str:
    """`cardano.stackexchange.com` -> `cardano`, `bicycles.meta.stackexchange.com` -> `bicycles.meta`."""
    name = directory.resolve().name.lower()
    for suffix in (".stackexchange.com", ".com", ".net"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def parse_time(value: str | None) -> datetime | None:
    """Dump times are UTC without a zone: `2018-02-06T20:19:50.957`."""
    if not value:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)


def parse_tags(value: str | None) -> list[str]:
    """Both tag formats: `<a><b>` (dumps before 2024) and `|a|b|` (from 2024)."""
    if not value:
        return []
    names = _TAGS_ANGLE.findall(value) if "<" in value else value.split("|")
    out: list[str] = []
    for name in names:
        name = name.strip().lower()[:35]
        if name and name not in out:
            out.append(name)
    return out[:5]


def read_rows(path: Path, batch_size: int, advance: Callable[[int], None] | None = None) -> Iterator[list[dict[str, str]]]:
    """The `<row>` elements of one dump file as lists of attribute dicts, `batch_size` at a time.

    Memory stays flat: each row is cleared once copied, and the root forgets its children after
    every batch. The byte-order mark at the start of every dump file is handled by the parser.
    """
    with path.open("rb") as f:
        root = None
        batch: list[dict[str, str]] = []
        seen = 0
        for event, elem in ET.iterparse(f, events=("start", "end")):
            if root is None:
                root = elem
                continue
            if event != "end" or elem.tag != "row":
                continue
            batch.append(dict(elem.attrib))
            elem.clear()
            if len(batch) >= batch_size:
                root.clear()
                yield batch
                batch = []
                if advance is not None:
                    now = f.tell()
                    advance(now - seen)
                    seen = now
        if batch:
            yield batch
        if advance is not None:
            advance(max(0, os.path.getsize(path) - seen))


@dataclass
class Tally:
    """What happened to the rows of one kind."""

    imported: int = 0
    skipped: Counter[str] = field(default_factory=Counter)


@dataclass
class ImportReport:
    site: str
    sections: dict[str, Tally] = field(default_factory=dict)
    reputation_users: int = 0
    reputation_exact: int = 0
    reputation_plus_bonus: int = 0
    seconds: float = 0.0
    post_seconds: float = 0.0

    def tally(self, name: str) -> Tally:
        return self.sections.setdefault(name, Tally())

    @property
    def posts_imported(self) -> int:
        return sum(self.tally(k).imported for k in ("questions", "answers"))

    @property
    def reputation_match_share(self) -> float:
        if not self.reputation_users:
            return 0.0
        return (self.reputation_exact + self.reputation_plus_bonus) / self.reputation_users

    def table(self) -> str:
        """The closing summary: imported and skipped rows per kind, and why they were skipped."""
        lines = [f"{'':16} {'imported':>9} {'skipped':>8}  why skipped", "-" * 76]
        for name, t in self.sections.items():
            reasons = sorted(((k, v) for k, v in t.skipped.items() if v), key=lambda kv: (-kv[1], kv[0]))
            first = f"{reasons[0][1]} {reasons[0][0]}" if reasons else ""
            lines.append(f"{name:16} {t.imported:>9} {sum(t.skipped.values()):>8}  {first}")
            for reason, n in reasons[1:]:
                lines.append(f"{'':37}{n} {reason}")
        if self.reputation_users:
            lines.append("-" * 76)
            lines.append(
                f"Reputation replayed from the votes matches the dump for {self.reputation_exact} of "
                f"{self.reputation_users} members exactly and for {self.reputation_plus_bonus} more at "
                f"+{ASSOCIATION_BONUS} (association bonus): {100 * self.reputation_match_share:.1f}%.")
        if self.post_seconds:
            lines.append(f"Posts: {self.posts_imported} in {self.post_seconds:.1f} s "
                         f"({self.posts_imported / self.post_seconds:,.0f} posts/s); whole import {self.seconds:.1f} s.")
        return "\n".join(lines)


class StackExchangeImport:
    """One import of one site's dump directory. `on_batch(phase, n)` runs inside each batch's
    transaction just before it commits (the progress hook; tests use it to kill a run half way)."""

    def __init__(self, directory: str | Path, *, escalate_open: bool = False, batch_size: int = BATCH_SIZE,
                 progress: bool = False, on_batch: BatchHook | None = None) -> None:
        self.directory = Path(directory)
        for required in ("Users.xml", "Posts.xml"):
            if not (self.directory / required).is_file():
                raise Invalid("directory", f"{self.directory} has no {required}: point at an unpacked Stack Exchange dump.")
        self.site = site_name(self.directory)
        if len(f"se:{self.site}:vote:{10**10}") > 64:
            raise Invalid("directory", f"The site name {self.site!r} is too long to tag imported rows with.")
        self.escalate_open = escalate_open
        self.batch_size = max(1, int(batch_size))
        self.progress = progress
        self.on_batch = on_batch
        self.report = ImportReport(self.site)
        self.started = clock.now()
        # Community-wiki posts earn no reputation from votes cast after they became wiki; few posts are.
        self._wiki_since: dict[str, datetime] = {}
        self._policy: Any = None
        self._taken_keys: set[str] | None = None  # look-alike keys of every username (community.usernames)

    # ----- plumbing -------------------------------------------------------------------------

    def ext(self, se_id: str | int) -> str:
        return f"se:{self.site}:{se_id}"

    def _rows(self, filename: str, label: str) -> Iterator[list[dict[str, str]]]:
        path = self.directory / filename
        if not self.progress:
            yield from read_rows(path, self.batch_size)
            return
        from tqdm import tqdm

        with tqdm(total=os.path.getsize(path), unit="B", unit_scale=True, desc=f"{label:<16}", leave=True) as bar:
            yield from read_rows(path, self.batch_size, bar.update)

    async def _batch_done(self, phase: str, number: int) -> None:
        if self.on_batch is not None:
            result = self.on_batch(phase, number)
            if result is not None:
                await result

    @staticmethod
    def _marks(n: int) -> str:
        return ", ".join("?" * n)

    async def _map(self, table: str, external_ids: list[str], conn: Any, columns: str = "id") -> dict[str, dict]:
        """Rows of `table` by external id, for the ids given (one query)."""
        wanted = sorted(set(external_ids))
        if not wanted:
            return {}
        rows = await db.fetch(
            f'SELECT external_id, {columns} FROM "{table}" WHERE external_id IN ({self._marks(len(wanted))})',
            wanted, conn)
        return {r["external_id"]: r for r in rows}

    # ----- the run ----------------------------------------------------------------------------

    async def run(self) -> ImportReport:
        began = time.perf_counter()
        await self._users()
        posts_began = time.perf_counter()
        await self._questions()
        await self._answers()
        self.report.post_seconds = time.perf_counter() - posts_began
        await self._accepted_answers()
        if (self.directory / "PostLinks.xml").is_file():
            await self._duplicates()
        if (self.directory / "Comments.xml").is_file():
            await self._comments()
        await self._tag_counts()
        if (self.directory / "Votes.xml").is_file():
            await self._votes()
        await self._reputation_totals()
        for name, why in (("PostHistory.xml", "revision history is not imported (the current text is)"),
                          ("Badges.xml", "the forum has no badges")):
            if (self.directory / name).is_file():
                await self._count_only(name, why)
        from community.questions import bump_generation

        await bump_generation()
        self.report.seconds = time.perf_counter() - began
        return self.report

    # ----- members ----------------------------------------------------------------------------

    async def _users(self) -> None:
        tally = self.report.tally("users")
        for n, batch in enumerate(self._rows("Users.xml", "Users.xml"), 1):
            async with db.transaction() as conn:
                existing = await self._map("user", [self.ext(r["Id"]) for r in batch], conn)
                fresh = [r for r in batch if self.ext(r["Id"]) not in existing]
                tally.skipped["already imported"] += len(batch) - len(fresh)
                names = await self._usernames(fresh, conn)
                users = [
                    User(username=names[r["Id"]], display_name=usernames.display_name(r.get("DisplayName")),
                         email="", password_hash=None, role="member",
                         reputation=1, about=self._about(r.get("AboutMe")),
                         created_at=parse_time(r.get("CreationDate")) or self.started,
                         last_seen_at=parse_time(r.get("LastAccessDate")), external_id=self.ext(r["Id"]))
                    for r in fresh
                ]
                if users:
                    await db.insert_many(users, conn)
                tally.imported += len(users)
                await self._batch_done("users", n)

    @staticmethod
    def _about(value: str | None) -> str:
        if not value:
            return ""
        return _SPACES.sub(" ", plain_text(sanitise(value))).strip()[:2000]

    async def _usernames(self, rows: list[dict[str, str]], conn: Any) -> dict[str, str]:
        """Display names become usernames by sign-up's rules (`community.usernames`): markup
        stripped, written in the letters sign-up allows, and a name that looks like one already
        taken (same confusables skeleton, any letter case) gets the member's dump id appended.
        Depends only on what is committed, so reruns choose alike.

        The look-alike keys of every member are read once per run (`_taken_keys`) and kept in
        memory; only the names chosen are checked against the database, for members who signed
        up meanwhile."""
        if not rows:
            return {}
        if self._taken_keys is None:
            self._taken_keys = set()
            for row in await db.fetch('SELECT username FROM "user"', [], conn):
                self._taken_keys |= usernames.lookalike_keys(row["username"])
        taken = self._taken_keys
        wanted: dict[str, list[str]] = {}
        site = usernames.from_display_name(f"se-{self.site}") or "se"
        for r in rows:
            base, suffix = usernames.from_display_name(r.get("DisplayName")), f"-{r['Id']}"
            if len(base) >= 3:
                first = [base, usernames.with_suffix(base, suffix)]
            else:  # "Bo" -> "Bo-3"; nothing left of the name -> "user3"
                first = [usernames.with_suffix(base, suffix) if base else usernames.with_suffix("user", r["Id"])]
            wanted[r["Id"]] = [*first, usernames.with_suffix(site, suffix)]
        out: dict[str, str] = {}
        pending = list(wanted)
        while pending:
            chosen: dict[str, str] = {}
            for se_id in pending:
                candidates = wanted[se_id]
                choice = next((c for c in candidates if not usernames.lookalike_keys(c) & taken), None)
                n = 2
                while choice is None:
                    extra = usernames.with_suffix(candidates[0], f"-{se_id}-{n}")
                    choice = extra if not usernames.lookalike_keys(extra) & taken else None
                    n += 1
                taken |= usernames.lookalike_keys(choice)
                chosen[se_id] = choice
            # Names are ASCII, so UPPER folds them alike on both databases; the expression index on it
            # (community/0004) serves this look-up, in short lists (PostgreSQL scans every member for long ones).
            names = sorted(set(chosen.values()))
            found: set[str] = set()
            for i in range(0, len(names), 50):
                chunk = names[i:i + 50]
                found.update(r["username"].upper() for r in await db.fetch(
                    f'SELECT username FROM "user" WHERE UPPER(CAST(username AS VARCHAR)) IN '
                    f'({", ".join(["UPPER(?)"] * len(chunk))})', chunk, conn))
            pending = [se_id for se_id, name in chosen.items() if name.upper() in found]
            out.update((se_id, name) for se_id, name in chosen.items() if name.upper() not in found)
        return out

    # ----- questions and answers ----------------------------------------------------------------

    def _past_sla(self, asked_at: datetime, tags: list[str], now: datetime) -> bool:
        """Had this question's first-answer SLA already run out when it arrived? The support room's
        policy decides (per-tag SLAs, business hours); without that room, the plain setting does."""
        if self._policy is None:
            try:
                from community.support import policy
            except ImportError:
                self._policy = False
            else:
                self._policy = policy.current()
        if self._policy:
            return self._policy.is_due(asked_at, tags, now)
        per_tag = settings.get("sla.tag_minutes") or {}
        minutes = [int(per_tag[t]) for t in tags if t in per_tag]
        sla = min(minutes) if minutes else int(settings.get("sla.first_answer_minutes"))
        return asked_at + timedelta(minutes=sla) <= now

    def _remember_wiki(self, row: dict[str, str]) -> None:
        since = parse_time(row.get("CommunityOwnedDate"))
        if since is not None:
            self._wiki_since[row["Id"]] = since

    async def _tag_ids(self, names: set[str], conn: Any) -> dict[str, int]:
        if not names:
            return {}
        wanted = sorted(names)
        rows = await db.fetch(f"SELECT id, name FROM tag WHERE name IN ({self._marks(len(wanted))})", wanted, conn)
        found = {r["name"]: int(r["id"]) for r in rows}
        missing = [Tag(name=n) for n in wanted if n not in found]
        if missing:
            await Tag.bulk_create(missing, using_db=conn)
            rows = await db.fetch(f"SELECT id, name FROM tag WHERE name IN ({self._marks(len(wanted))})", wanted, conn)
            found = {r["name"]: int(r["id"]) for r in rows}
        return found

    async def _questions(self) -> None:
        tally, others = self.report.tally("questions"), self.report.tally("other posts")
        for n, batch in enumerate(self._rows("Posts.xml", "Posts (questions)"), 1):
            rows = []
            for r in batch:
                kind = r.get("PostTypeId")
                if kind == "1":
                    rows.append(r)
                    self._remember_wiki(r)
                elif kind != "2":
                    others.skipped[f"post type {kind}: {OTHER_POST_TYPES.get(kind, 'not a question or answer')}"] += 1
            if not rows:
                continue
            async with db.transaction() as conn:
                existing = await self._map("post", [self.ext(r["Id"]) for r in rows], conn)
                fresh = [r for r in rows if self.ext(r["Id"]) not in existing]
                tally.skipped["already imported"] += len(rows) - len(fresh)
                owners = await self._map("user", [self.ext(r["OwnerUserId"]) for r in fresh if r.get("OwnerUserId")], conn)
                tags = {r["Id"]: parse_tags(r.get("Tags")) for r in fresh}
                tag_ids = await self._tag_ids({t for names in tags.values() for t in names}, conn)
                now = clock.now()
                posts = []
                for r in fresh:
                    created = parse_time(r["CreationDate"])
                    owner = owners.get(self.ext(r["OwnerUserId"])) if r.get("OwnerUserId") else None
                    body = sanitise(r.get("Body") or "")
                    closed_at = parse_time(r.get("ClosedDate"))
                    exempt = not self.escalate_open and self._past_sla(created, tags[r["Id"]], now)
                    posts.append(Post(
                        kind="question", author_id=owner["id"] if owner else None, title=(r.get("Title") or "")[:300],
                        body=body, body_html=body, score=int(r.get("Score") or 0), created_at=created,
                        edited_at=parse_time(r.get("LastEditDate")),
                        last_activity_at=parse_time(r.get("LastActivityDate")) or created,
                        tag_names=" ".join(tags[r["Id"]])[:200], view_count=int(r.get("ViewCount") or 0),
                        closed_reason="closed" if closed_at else None, closed_at=closed_at,
                        external_id=self.ext(r["Id"]), escalation_exempt=exempt,
                    ))
                if posts:
                    await db.insert_many(posts, conn)
                    ids = await self._map("post", [p.external_id for p in posts], conn)
                    links = [(int(ids[self.ext(r["Id"])]["id"]), tag_ids[t]) for r in fresh for t in tags[r["Id"]]]
                    for i in range(0, len(links), 400):
                        chunk = links[i:i + 400]
                        await db.execute("INSERT INTO post_tag (post_id, tag_id) VALUES " + ", ".join(["(?, ?)"] * len(chunk)),
                                         [v for pair in chunk for v in pair], conn)
                    await outbox.enqueue_many([int(ids[p.external_id]["id"]) for p in posts], conn)
                tally.imported += len(posts)
                await self._batch_done("questions", n)

    async def _answers(self) -> None:
        tally = self.report.tally("answers")
        for n, batch in enumerate(self._rows("Posts.xml", "Posts (answers)"), 1):
            rows = [r for r in batch if r.get("PostTypeId") == "2"]
            for r in rows:
                self._remember_wiki(r)
            if not rows:
                continue
            async with db.transaction() as conn:
                existing = await self._map("post", [self.ext(r["Id"]) for r in rows], conn)
                fresh = [r for r in rows if self.ext(r["Id"]) not in existing]
                tally.skipped["already imported"] += len(rows) - len(fresh)
                parents = await self._map("post", [self.ext(r.get("ParentId", "")) for r in fresh], conn, "id, kind")
                owners = await self._map("user", [self.ext(r["OwnerUserId"]) for r in fresh if r.get("OwnerUserId")], conn)
                posts = []
                for r in fresh:
                    parent = parents.get(self.ext(r.get("ParentId", "")))
                    if parent is None or parent["kind"] != "question":
                        tally.skipped["its question is not in the dump"] += 1
                        continue
                    created = parse_time(r["CreationDate"])
                    owner = owners.get(self.ext(r["OwnerUserId"])) if r.get("OwnerUserId") else None
                    body = sanitise(r.get("Body") or "")
                    posts.append(Post(
                        kind="answer", question_id=int(parent["id"]), author_id=owner["id"] if owner else None,
                        body=body, body_html=body, score=int(r.get("Score") or 0), created_at=created,
                        edited_at=parse_time(r.get("LastEditDate")),
                        last_activity_at=parse_time(r.get("LastActivityDate")) or created,
                        external_id=self.ext(r["Id"]),
                    ))
                if posts:
                    await db.insert_many(posts, conn)
                    touched = sorted({p.question_id for p in posts})
                    await self._refresh_questions(touched, conn)
                    await outbox.enqueue_many(touched, conn)
                tally.imported += len(posts)
                await self._batch_done("answers", n)

    async def _refresh_questions(self, question_ids: list[int], conn: Any) -> None:
        """Answer count, first answer by someone other than the asker, and state, from the rows
        (the rule of `questions.refresh_state`, in two set-based statements)."""
        marks = self._marks(len(question_ids))
        await db.execute(
            "UPDATE post SET "
            "answer_count = (SELECT COUNT(*) FROM post a WHERE a.question_id = post.id AND a.kind = 'answer' "
            "  AND a.deleted_at IS NULL AND a.hidden = ?), "
            "first_answer_at = (SELECT MIN(a.created_at) FROM post a WHERE a.question_id = post.id AND a.kind = 'answer' "
            "  AND COALESCE(a.author_id, 0) <> COALESCE(post.author_id, 0)) "
            f"WHERE id IN ({marks})", [False, *question_ids], conn)
        await db.execute(
            "UPDATE post SET state = CASE "
            "WHEN accepted_answer_id IS NOT NULL AND EXISTS (SELECT 1 FROM post a WHERE a.id = post.accepted_answer_id "
            "  AND a.question_id = post.id AND a.deleted_at IS NULL AND a.hidden = ?) THEN 'solved' "
            "WHEN EXISTS (SELECT 1 FROM post a WHERE a.question_id = post.id AND a.kind = 'answer' AND a.deleted_at IS NULL "
            "  AND a.hidden = ? AND COALESCE(a.author_id, 0) <> COALESCE(post.author_id, 0)) THEN 'answered' "
            f"ELSE 'unanswered' END WHERE id IN ({marks})", [False, False, *question_ids], conn)

    async def _accepted_answers(self) -> None:
        tally = self.report.tally("accepted")
        for n, batch in enumerate(self._rows("Posts.xml", "Posts (accepted)"), 1):
            rows = [r for r in batch if r.get("PostTypeId") == "1" and r.get("AcceptedAnswerId")]
            if not rows:
                continue
            async with db.transaction() as conn:
                questions = await self._map("post", [self.ext(r["Id"]) for r in rows], conn, "id, accepted_answer_id")
                answers = await self._map("post", [self.ext(r["AcceptedAnswerId"]) for r in rows], conn, "id, question_id")
                changed: list[tuple[int, int]] = []
                for r in rows:
                    q, a = questions.get(self.ext(r["Id"])), answers.get(self.ext(r["AcceptedAnswerId"]))
                    if q is None:
                        tally.skipped["its question was not imported"] += 1
                    elif a is None or a["question_id"] != q["id"]:
                        tally.skipped["the accepted answer is not in the dump"] += 1
                    elif q["accepted_answer_id"] == a["id"]:
                        tally.skipped["already imported"] += 1
                    else:
                        changed.append((int(q["id"]), int(a["id"])))
                if changed:
                    await db.execute(
                        "WITH v (qid, aid) AS (VALUES " + ", ".join(["(CAST(? AS INTEGER), CAST(? AS INTEGER))"] * len(changed))
                        + ") UPDATE post SET accepted_answer_id = v.aid FROM v WHERE post.id = v.qid",
                        [n for pair in changed for n in pair], conn)
                    await self._refresh_questions([q for q, _ in changed], conn)
                    await outbox.enqueue_many([q for q, _ in changed], conn)
                tally.imported += len(changed)
                await self._batch_done("accepted", n)

    async def _duplicates(self) -> None:
        """PostLinks type 3: `PostId` was closed as a duplicate of `RelatedPostId`."""
        tally = self.report.tally("duplicate links")
        for n, batch in enumerate(self._rows("PostLinks.xml", "PostLinks.xml"), 1):
            rows = []
            for r in batch:
                if r.get("LinkTypeId") == "3":
                    rows.append(r)
                else:
                    tally.skipped["related link (not kept)"] += 1
            if not rows:
                continue
            async with db.transaction() as conn:
                posts = await self._map("post", [self.ext(r[k]) for r in rows for k in ("PostId", "RelatedPostId")], conn,
                                        "id, kind, closed_reason, closed_at, duplicate_of_id")
                changed = []
                for r in rows:
                    dup, original = posts.get(self.ext(r["PostId"])), posts.get(self.ext(r["RelatedPostId"]))
                    if dup is None or original is None or dup["kind"] != "question" or original["kind"] != "question":
                        tally.skipped["a question of the pair is not in the dump"] += 1
                        continue
                    if dup["closed_reason"] == "duplicate" and dup["duplicate_of_id"] == original["id"]:
                        tally.skipped["already imported"] += 1
                        continue
                    closed_at = dup["closed_at"] or parse_time(r.get("CreationDate"))
                    changed.append((int(dup["id"]), int(original["id"]), closed_at))
                    dup["closed_reason"], dup["duplicate_of_id"] = "duplicate", original["id"]
                for dup_id, original_id, closed_at in changed:
                    await db.execute("UPDATE post SET closed_reason = ?, duplicate_of_id = ?, closed_at = ? WHERE id = ?",
                                     ["duplicate", original_id, _as_datetime(closed_at), dup_id], conn)
                if changed:
                    await outbox.enqueue_many([c[0] for c in changed], conn)
                tally.imported += len(changed)
                await self._batch_done("duplicates", n)

    async def _comments(self) -> None:
        tally = self.report.tally("comments")
        for n, batch in enumerate(self._rows("Comments.xml", "Comments.xml"), 1):
            async with db.transaction() as conn:
                existing = await self._map("comment", [self.ext(r["Id"]) for r in batch], conn)
                fresh = [r for r in batch if self.ext(r["Id"]) not in existing]
                tally.skipped["already imported"] += len(batch) - len(fresh)
                posts = await self._map("post", [self.ext(r.get("PostId", "")) for r in fresh], conn)
                owners = await self._map("user", [self.ext(r["UserId"]) for r in fresh if r.get("UserId")], conn)
                comments = []
                for r in fresh:
                    post = posts.get(self.ext(r.get("PostId", "")))
                    if post is None:
                        tally.skipped["its post is not imported (deleted, or a tag wiki)"] += 1
                        continue
                    owner = owners.get(self.ext(r["UserId"])) if r.get("UserId") else None
                    text = r.get("Text") or ""
                    comments.append(Comment(post_id=int(post["id"]), author_id=owner["id"] if owner else None, body=text,
                                            body_html=markdown(text), created_at=parse_time(r["CreationDate"]),
                                            external_id=self.ext(r["Id"])))
                if comments:
                    await db.insert_many(comments, conn)
                tally.imported += len(comments)
                await self._batch_done("comments", n)

    async def _tag_counts(self) -> None:
        async with db.transaction() as conn:
            await db.execute("UPDATE tag SET question_count = (SELECT COUNT(*) FROM post_tag pt WHERE pt.tag_id = tag.id)",
                             [], conn)

    # ----- reputation -------------------------------------------------------------------------

    async def _votes(self) -> None:
        """Replay the votes into the reputation ledger with Stack Exchange's rules of the time:
        the amounts and the daily cap are the community's settings, except question upvotes
        before 2019-11-13 (+5). The cap works as `reputation.grant` does: the day's upvote gains
        are trimmed to `rep.daily_vote_cap`, counting what the ledger already holds for that day."""
        tally = self.report.tally("votes")
        cap = int(settings.get("rep.daily_vote_cap"))
        for n, batch in enumerate(self._rows("Votes.xml", "Votes.xml"), 1):
            async with db.transaction() as conn:
                refs = [f"se:{self.site}:vote:{r['Id']}" for r in batch]
                done = {r["ref"] for r in await db.fetch(
                    f"SELECT DISTINCT ref FROM reputation_event WHERE ref IN ({self._marks(len(refs))})", refs, conn)}
                posts = await self._post_owners([r.get("PostId", "") for r in batch], conn)
                offerers = await self._map("user", [self.ext(r["UserId"]) for r in batch if r.get("VoteTypeId") == "8" and r.get("UserId")], conn)
                grants: list[tuple[int, int, str, str, int | None, datetime]] = []
                for r, ref in zip(batch, refs):
                    if ref in done:
                        tally.skipped["already imported"] += 1
                        continue
                    reason = self._replay(r, ref, posts, offerers, grants)
                    if reason:
                        tally.skipped[reason] += 1
                    else:
                        tally.imported += 1
                await self._write_grants(grants, cap, conn)
                await self._batch_done("votes", n)

    async def _post_owners(self, se_ids: list[str], conn: Any) -> dict[str, dict]:
        wanted = sorted({self.ext(i) for i in se_ids if i})
        if not wanted:
            return {}
        rows = await db.fetch(
            "SELECT p.external_id, p.id, p.kind, p.author_id, q.author_id AS asker_id FROM post p "
            f"LEFT JOIN post q ON q.id = p.question_id WHERE p.external_id IN ({self._marks(len(wanted))})", wanted, conn)
        return {r["external_id"]: r for r in rows}

    def _replay(self, r: dict[str, str], ref: str, posts: dict[str, dict], offerers: dict[str, dict],
                grants: list[tuple[int, int, str, str, int | None, datetime]]) -> str | None:
        """Add the ledger entries one vote earns to `grants`; return why it earns none, if it doesn't."""
        kind, when = r.get("VoteTypeId", ""), parse_time(r.get("CreationDate"))
        if when is None:
            return "no date"
        post = posts.get(self.ext(r.get("PostId", "")))
        if kind == "8":  # bounty offered: the offerer pays whether or not the post survives
            offerer = offerers.get(self.ext(r.get("UserId", "")))
            if offerer is None:
                return "bounty offered by a member not in the dump"
            grants.append((int(offerer["id"]), -int(r.get("BountyAmount") or 0), "bounty_offered", ref, post["id"] if post else None, when))
            return None
        if kind in VOTE_TYPES_WITHOUT_REPUTATION:
            return f"{VOTE_TYPES_WITHOUT_REPUTATION[kind]} (no reputation)"
        if kind not in ("1", "2", "3", "9"):
            return f"vote type {kind} (no reputation)"
        if post is None:
            return "vote on a post not in the dump (deleted)"
        if post["author_id"] is None:
            return "the post has no owner (deleted account)"
        wiki = self._wiki_since.get(post["external_id"].rsplit(":", 1)[1])
        if wiki is not None and when >= wiki and kind in ("2", "3"):
            return "vote on a community wiki post"
        author, pid = int(post["author_id"]), int(post["id"])
        if kind == "2":
            if post["kind"] == "question":
                amount = QUESTION_UPVOTE_BEFORE if when < QUESTION_UPVOTE_CHANGE else int(settings.get("rep.question_upvoted"))
            else:
                amount = int(settings.get("rep.answer_upvoted"))
            grants.append((author, amount, reputation.CAPPED_REASON, ref, pid, when))
        elif kind == "3":
            grants.append((author, int(settings.get("rep.post_downvoted")), "downvoted", ref, pid, when))
        elif kind == "9":
            grants.append((author, int(r.get("BountyAmount") or 0), "bounty_awarded", ref, pid, when))
        else:  # accepted: nothing for accepting your own answer
            asker = post["asker_id"]
            if post["kind"] != "answer" or asker is None or int(asker) == author:
                return "accepted own answer, or no asker (no reputation)"
            grants.append((author, int(settings.get("rep.answer_accepted")), "accepted", ref, pid, when))
            grants.append((int(asker), int(settings.get("rep.asker_accepts")), "accepts", ref, pid, when))
        return None

    async def _write_grants(self, grants: list[tuple[int, int, str, str, int | None, datetime]], cap: int, conn: Any) -> None:
        if not grants:
            return
        capped = [(g[0], g[5].date()) for g in grants if g[2] == reputation.CAPPED_REASON]
        gained: dict[tuple[int, str], int] = {}
        if capped:
            users, days = sorted({u for u, _ in capped}), sorted({d for _, d in capped})
            rows = await db.fetch(
                "SELECT user_id, day, SUM(amount) AS total FROM reputation_event WHERE reason = ? "
                f"AND user_id IN ({self._marks(len(users))}) AND day IN ({self._marks(len(days))}) GROUP BY user_id, day",
                [reputation.CAPPED_REASON, *users, *days], conn)
            gained = {(int(r["user_id"]), str(r["day"])[:10]): int(r["total"]) for r in rows}
        events = []
        for user_id, amount, reason, ref, post_id, when in grants:
            day = when.date()
            if reason == reputation.CAPPED_REASON and amount > 0:
                key = (user_id, day.isoformat())
                amount = max(0, min(amount, cap - gained.get(key, 0)))
                gained[key] = gained.get(key, 0) + amount
            events.append(ReputationEvent(user_id=user_id, amount=amount, reason=reason, ref=ref, post_id=post_id,
                                          created_at=when, day=day))
        await db.insert_many(events, conn)

    async def _reputation_totals(self) -> None:
        """Cached totals from the ledger, then how many match the dump's own figures."""
        async with db.transaction() as conn:
            await reputation.recompute_all(conn)
        report = self.report
        for batch in self._rows("Users.xml", "Reputation check"):
            mine = await self._map("user", [self.ext(r["Id"]) for r in batch], None, "reputation")
            for r in batch:
                row = mine.get(self.ext(r["Id"]))
                if row is None or not r.get("Reputation"):
                    continue
                theirs, ours = int(r["Reputation"]), int(row["reputation"])
                report.reputation_users += 1
                if ours == theirs:
                    report.reputation_exact += 1
                elif ours + ASSOCIATION_BONUS == theirs:
                    report.reputation_plus_bonus += 1

    async def _count_only(self, filename: str, why: str) -> None:
        tally = self.report.tally(filename.removesuffix(".xml").lower())
        for batch in self._rows(filename, filename):
            tally.skipped[why] += len(batch)


def _as_datetime(value: Any) -> datetime | None:
    """Raw SQL hands back text on SQLite and datetimes on PostgreSQL."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


async def import_dump(directory: str | Path, **options: Any) -> ImportReport:
    return await StackExchangeImport(directory, **options).run()


__all__ = ["ImportReport", "StackExchangeImport", "import_dump", "parse_tags", "parse_time", "read_rows", "site_name"]
