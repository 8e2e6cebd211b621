"""The Stack Exchange importer on the real dumps: counts equal the XML's, a second run adds
nothing, a run killed half way and restarted ends with the same rows as an uninterrupted one,
reputation replayed from the votes matches the dump, and the SLA what-if equals the XML's figure."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from community import accounts, db
from community.errors import Invalid
from community.insights.importer import StackExchangeImport, import_dump, parse_tags, parse_time
from community.insights.periods import Period
from community.insights.whatif import sla_whatif
from tests.conftest import require_datasets

SMALL_SITES = ["conlang.meta.stackexchange.com", "french.meta.stackexchange.com", "bicycles.meta.stackexchange.com"]


class Killed(Exception):
    """Stands in for the process being killed in the middle of a batch."""


def xml_rows(path: Path) -> list[dict[str, str]]:
    return [dict(e.attrib) for _, e in ET.iterparse(path) if e.tag == "row"]


def xml_counts(site_dir: Path) -> dict[str, int]:
    posts = xml_rows(site_dir / "Posts.xml")
    questions = {p["Id"]: p for p in posts if p["PostTypeId"] == "1"}
    answers = {p["Id"]: p for p in posts if p["PostTypeId"] == "2" and p.get("ParentId") in questions}
    return {
        "questions": len(questions),
        "answers": len(answers),
        "accepted": sum(1 for q in questions.values()
                        if q.get("AcceptedAnswerId") in answers and answers[q["AcceptedAnswerId"]]["ParentId"] == q["Id"]),
        "comments": sum(1 for c in xml_rows(site_dir / "Comments.xml") if c["PostId"] in questions or c["PostId"] in answers),
        "users": len(xml_rows(site_dir / "Users.xml")),
        "duplicates": len({l["PostId"] for l in xml_rows(site_dir / "PostLinks.xml")
                           if l["LinkTypeId"] == "3" and l["PostId"] in questions and l["RelatedPostId"] in questions}),
    }


async def db_counts(site: str) -> dict[str, int]:
    like = f"se:{site}:%"

    async def one(sql: str) -> int:
        return int((await db.fetch(sql, [like]))[0]["n"])

    return {
        "questions": await one("SELECT COUNT(*) AS n FROM post WHERE kind = 'question' AND external_id LIKE ?"),
        "answers": await one("SELECT COUNT(*) AS n FROM post WHERE kind = 'answer' AND external_id LIKE ?"),
        "accepted": await one("SELECT COUNT(*) AS n FROM post WHERE accepted_answer_id IS NOT NULL AND external_id LIKE ?"),
        "comments": await one("SELECT COUNT(*) AS n FROM comment WHERE external_id LIKE ?"),
        "users": await one('SELECT COUNT(*) AS n FROM "user" WHERE external_id LIKE ?'),
        "duplicates": await one("SELECT COUNT(*) AS n FROM post WHERE closed_reason = 'duplicate' AND external_id LIKE ?"),
    }


async def table_sizes() -> dict[str, int]:
    out = {}
    for table in ("user", "post", "comment", "reputation_event", "tag", "post_tag", "search_outbox"):
        out[table] = int((await db.fetch(f'SELECT COUNT(*) AS n FROM "{table}"'))[0]["n"])
    return out


async def dump_tables() -> dict[str, list]:
    """Every imported row, with database ids replaced by external ids (PostgreSQL sequences are
    not transactional, so a rolled-back batch may leave gaps in ids; the rows must not differ)."""
    def text(rows: list[dict]) -> list:
        return sorted(tuple(str(v) for v in r.values()) for r in rows)

    return {
        "users": text(await db.fetch('SELECT external_id, username, email, password_hash, role, reputation, about, '
                                     'created_at, last_seen_at FROM "user"')),
        "posts": text(await db.fetch(
            "SELECT p.external_id, p.kind, q.external_id AS q, u.external_id AS author, p.title, p.body, p.body_html, "
            "p.score, p.created_at, p.edited_at, p.last_activity_at, p.tag_names, p.state, p.answer_count, "
            "acc.external_id AS accepted, p.first_answer_at, p.view_count, p.closed_reason, p.closed_at, "
            "dup.external_id AS duplicate_of, p.escalation_exempt FROM post p LEFT JOIN post q ON q.id = p.question_id "
            'LEFT JOIN "user" u ON u.id = p.author_id LEFT JOIN post acc ON acc.id = p.accepted_answer_id '
            "LEFT JOIN post dup ON dup.id = p.duplicate_of_id")),
        "post_tags": text(await db.fetch("SELECT p.external_id, t.name FROM post_tag pt JOIN post p ON p.id = pt.post_id "
                                         "JOIN tag t ON t.id = pt.tag_id")),
        "tags": text(await db.fetch("SELECT name, question_count FROM tag")),
        "comments": text(await db.fetch('SELECT c.external_id, p.external_id AS post, u.external_id AS author, c.body, '
                                        'c.body_html, c.created_at FROM comment c JOIN post p ON p.id = c.post_id '
                                        'LEFT JOIN "user" u ON u.id = c.author_id')),
        "ledger": text(await db.fetch('SELECT u.external_id, e.amount, e.reason, e.ref, p.external_id AS post, e.created_at, '
                                      'e.day FROM reputation_event e JOIN "user" u ON u.id = e.user_id '
                                      'LEFT JOIN post p ON p.id = e.post_id')),
        "outbox": text(await db.fetch("SELECT p.external_id FROM search_outbox o JOIN post p ON p.id = o.question_id")),
    }


async def wipe() -> None:
    for table in ("search_outbox", "post_tag", "comment", "reputation_event", "post", "tag", "user"):
        await db.execute(f'DELETE FROM "{table}"')


@pytest.mark.parametrize("site", SMALL_SITES)
async def test_import_counts_equal_the_xml_and_a_second_run_adds_nothing(database, site):
    site_dir = require_datasets() / site
    report = await import_dump(site_dir)
    name = report.site
    expected = xml_counts(site_dir)
    assert await db_counts(name) == expected
    assert report.tally("questions").imported == expected["questions"]
    assert report.tally("answers").imported == expected["answers"]

    before = await table_sizes()
    again = await import_dump(site_dir)
    assert await table_sizes() == before
    assert again.posts_imported == 0 and again.tally("users").imported == 0
    assert again.tally("questions").skipped["already imported"] == expected["questions"]


async def test_imported_rows_keep_dates_scores_bodies_and_cannot_log_in(database):
    site_dir = require_datasets() / "conlang.meta.stackexchange.com"
    await import_dump(site_dir)
    posts = {p["Id"]: p for p in xml_rows(site_dir / "Posts.xml")}
    first = posts["1"]
    row = (await db.fetch("SELECT * FROM post WHERE external_id = ?", ["se:conlang.meta:1"]))[0]
    assert int(row["score"]) == int(first["Score"])
    assert str(row["created_at"]).startswith(first["CreationDate"].replace("T", " ")[:19])
    assert row["title"] == first["Title"]
    assert row["tag_names"] == " ".join(parse_tags(first["Tags"]))
    accepted = (await db.fetch("SELECT external_id FROM post WHERE id = ?", [row["accepted_answer_id"]]))[0]
    assert accepted["external_id"] == f"se:conlang.meta:{first['AcceptedAnswerId']}"
    assert row["state"] == "solved"
    assert all("<script" not in r["body_html"] for r in await db.fetch("SELECT body_html FROM post"))

    users = await db.fetch('SELECT username, password_hash FROM "user" WHERE external_id IS NOT NULL')
    assert users and all(u["password_hash"] is None for u in users)
    with pytest.raises(Invalid, match="no password yet"):
        await accounts.authenticate(users[1]["username"], "anything-at-all")


@pytest.mark.parametrize("phase, batch", [("users", 2), ("questions", 1), ("answers", 2), ("accepted", 1),
                                          ("comments", 3), ("votes", 6)])
async def test_a_killed_run_restarted_equals_an_uninterrupted_one(database, phase, batch):
    site_dir = require_datasets() / "conlang.meta.stackexchange.com"
    await StackExchangeImport(site_dir, batch_size=40).run()
    uninterrupted = await dump_tables()
    await wipe()

    def kill(where: str, n: int) -> None:
        if (where, n) == (phase, batch):
            raise Killed()

    with pytest.raises(Killed):
        await StackExchangeImport(site_dir, batch_size=40, on_batch=kill).run()
    partial = await table_sizes()
    assert 0 < partial["user"] and partial["reputation_event"] < len(uninterrupted["ledger"])
    await StackExchangeImport(site_dir, batch_size=40).run()
    assert await dump_tables() == uninterrupted


async def test_reputation_replayed_from_cardano_votes_matches_the_dump(database):
    site_dir = require_datasets() / "cardano.stackexchange.com"
    report = await import_dump(site_dir)
    theirs = {f"se:cardano:{u['Id']}": int(u["Reputation"]) for u in xml_rows(site_dir / "Users.xml")}
    ours = {r["external_id"]: int(r["reputation"]) for r in await db.fetch('SELECT external_id, reputation FROM "user"')}
    exact = sum(1 for k, rep in theirs.items() if ours[k] == rep)
    bonus = sum(1 for k, rep in theirs.items() if ours[k] + 100 == rep)
    share = (exact + bonus) / len(theirs)
    print(f"\ncardano reputation replay: {exact} exact + {bonus} at +100 of {len(theirs)} = {100 * share:.1f}%")
    assert share >= 0.95
    assert (report.reputation_exact, report.reputation_plus_bonus, report.reputation_users) == (exact, bonus, len(theirs))
    # The cached totals are the ledger's: max(1, 1 + sum).
    wrong = await db.fetch('SELECT u.id FROM "user" u WHERE u.reputation <> (SELECT CASE WHEN 1 + COALESCE(SUM(e.amount), 0) < 1 '
                           'THEN 1 ELSE 1 + COALESCE(SUM(e.amount), 0) END FROM reputation_event e WHERE e.user_id = u.id)')
    assert wrong == []
    # No day's upvote gains exceed the cap.
    over = await db.fetch("SELECT user_id, day FROM reputation_event WHERE reason = 'upvoted' GROUP BY user_id, day "
                          "HAVING SUM(amount) > 200")
    assert over == []


def xml_whatif(site_dir: Path, sla: timedelta, period: Period, now: datetime) -> tuple[int, int, dict[str, int], dict[int, int]]:
    """The what-if straight from the XML: first answer by someone other than the asker at or after
    the deadline, or never (once the deadline has passed)."""
    posts = xml_rows(site_dir / "Posts.xml")
    questions = {p["Id"]: p for p in posts if p["PostTypeId"] == "1"}
    first: dict[str, datetime] = {}
    for a in posts:
        q = questions.get(a.get("ParentId", "")) if a["PostTypeId"] == "2" else None
        if q is None or a.get("OwnerUserId") == q.get("OwnerUserId"):
            continue  # the asker's own answer (two missing owners count as the same person, as refresh_state does)
        at = parse_time(a["CreationDate"])
        if q["Id"] not in first or at < first[q["Id"]]:
            first[q["Id"]] = at
    asked = escalated = 0
    per_day: dict[str, int] = {}
    hours: dict[int, int] = {}
    for q in questions.values():
        created = parse_time(q["CreationDate"])
        if not period.start <= created < period.end:
            continue
        asked += 1
        deadline = created + sla
        answered = first.get(q["Id"])
        if (answered is None and deadline <= now) or (answered is not None and answered >= deadline):
            escalated += 1
            per_day[created.date().isoformat()] = per_day.get(created.date().isoformat(), 0) + 1
            hours[deadline.hour] = hours.get(deadline.hour, 0) + 1
    return asked, escalated, per_day, hours


async def test_sla_whatif_on_an_imported_site_equals_the_xml(database, fake_clock):
    site_dir = require_datasets() / "french.meta.stackexchange.com"
    await import_dump(site_dir)
    period = Period(date(2010, 1, 1), date(2021, 12, 31))
    for minutes in (15, 60, 24 * 60):
        asked, escalated, per_day, hours = xml_whatif(site_dir, timedelta(minutes=minutes), period, fake_clock.now())
        w = await sla_whatif(period, minutes)
        assert (w.questions, w.would_escalate) == (asked, escalated)
        assert asked > 200 and 0 < escalated < asked
        assert {d["day"]: d["would_escalate"] for d in w.per_day if d["would_escalate"]} == per_day
        top = max(hours.values())
        assert w.busiest_hour["would_escalate"] == top
        assert w.busiest_hour["hour"] == min(h for h, n in hours.items() if n == top)
        assert w.agent_hours == round(escalated * 12 / 60, 1)


async def test_imported_history_past_its_sla_never_escalates_unless_asked(database, fake_clock):
    site_dir = require_datasets() / "conlang.meta.stackexchange.com"
    await import_dump(site_dir)
    rows = await db.fetch("SELECT COUNT(*) AS n, SUM(CASE WHEN escalation_exempt = ? THEN 1 ELSE 0 END) AS exempt "
                          "FROM post WHERE kind = 'question'", [True])
    assert int(rows[0]["n"]) == int(rows[0]["exempt"]) == 54
    await wipe()
    await import_dump(site_dir, escalate_open=True)
    rows = await db.fetch("SELECT COUNT(*) AS n FROM post WHERE kind = 'question' AND escalation_exempt = ?", [True])
    assert int(rows[0]["n"]) == 0


def test_site_name_and_missing_files(tmp_path):
    with pytest.raises(Invalid, match="no Users.xml"):
        StackExchangeImport(tmp_path)
    assert parse_time("2018-02-06T20:19:50.957") == datetime(2018, 2, 6, 20, 19, 50, 957000, tzinfo=timezone.utc)
