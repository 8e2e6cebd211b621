"""The importer on a tiny hand-made dump that holds every trap of the format at once: byte-order
marks, both tag formats, missing owners, votes on deleted posts, post types other than questions
and answers, an answer whose question is gone, and a question still inside its SLA."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from community import db
from community.insights.importer import import_dump, parse_tags

BOM = "\ufeff"


def write(directory: Path, name: str, root: str, rows: list[str]) -> None:
    body = "\n".join(f"  <row {r} />" for r in rows)
    (directory / name).write_text(f'{BOM}<?xml version="1.0" encoding="utf-8"?>\n<{root}>\n{body}\n</{root}>\n', encoding="utf-8")


def make_dump(tmp_path: Path) -> Path:
    site = tmp_path / "tiny.stackexchange.com"
    site.mkdir()
    write(site, "Users.xml", "users", [
        'Id="1" Reputation="21" CreationDate="2020-01-01T00:00:00.000" DisplayName="Ada"',
        'Id="2" Reputation="16" CreationDate="2020-01-01T00:00:00.000" DisplayName="ada"',  # same name, other case
        'Id="3" Reputation="1" CreationDate="2020-01-02T00:00:00.000" DisplayName="Bo" AboutMe="&lt;p&gt;Hi &lt;b&gt;there&lt;/b&gt;&lt;/p&gt;"',
        'Id="4" Reputation="1" CreationDate="2020-01-02T00:00:00.000" DisplayName="Élise"',
        'Id="5" Reputation="1" CreationDate="2020-01-02T00:00:00.000" DisplayName="Élise"',  # SQLite's LOWER keeps É
    ])
    write(site, "Posts.xml", "posts", [
        'Id="10" PostTypeId="1" AcceptedAnswerId="11" CreationDate="2020-02-01T10:00:00.000" Score="3" '
        'Body="&lt;p&gt;Hello&lt;script&gt;alert(1)&lt;/script&gt;&lt;/p&gt;" OwnerUserId="1" '
        'LastActivityDate="2020-02-01T12:00:00.000" Title="Old format tags" Tags="&lt;esim&gt;&lt;roaming&gt;"',
        'Id="11" PostTypeId="2" ParentId="10" CreationDate="2020-02-01T10:30:00.000" Score="2" Body="&lt;p&gt;Answer&lt;/p&gt;" OwnerUserId="2"',
        'Id="12" PostTypeId="1" CreationDate="2020-02-02T10:00:00.000" Score="0" Body="&lt;p&gt;x&lt;/p&gt;" '
        'Title="New format tags, no owner" Tags="|billing|esim|"',
        'Id="13" PostTypeId="4" CreationDate="2020-02-02T10:00:00.000" Score="0" Body="excerpt"',
        'Id="14" PostTypeId="6" CreationDate="2020-02-02T10:00:00.000" Score="0" Body="nomination" OwnerUserId="3"',
        'Id="15" PostTypeId="2" ParentId="999" CreationDate="2020-02-03T10:00:00.000" Score="0" Body="orphan" OwnerUserId="3"',
        'Id="16" PostTypeId="1" CreationDate="2026-01-05T08:50:00.000" Score="0" Body="&lt;p&gt;fresh&lt;/p&gt;" '
        'OwnerUserId="3" Title="Asked ten minutes before the import" Tags="&lt;sim&gt;"',
        'Id="17" PostTypeId="1" CreationDate="2020-03-01T10:00:00.000" Score="0" Body="&lt;p&gt;dup&lt;/p&gt;" '
        'OwnerUserId="3" Title="A duplicate" Tags="&lt;esim&gt;"',
    ])
    write(site, "Votes.xml", "votes", [
        'Id="1" PostId="10" VoteTypeId="2" CreationDate="2020-02-01T00:00:00.000"',   # question upvote before 2019-11-13? no: +10
        'Id="2" PostId="11" VoteTypeId="2" CreationDate="2020-02-01T00:00:00.000"',   # +10 to user 2
        'Id="3" PostId="11" VoteTypeId="1" CreationDate="2020-02-01T00:00:00.000"',   # accepted: +15 user 2, +2 user 1
        'Id="4" PostId="5000" VoteTypeId="2" CreationDate="2020-02-01T00:00:00.000"',  # a deleted post
        'Id="5" PostId="12" VoteTypeId="2" CreationDate="2020-02-02T00:00:00.000"',   # a post with no owner
        'Id="6" PostId="10" VoteTypeId="5" UserId="3" CreationDate="2020-02-02T00:00:00.000"',  # favourite
        'Id="7" PostId="10" VoteTypeId="3" CreationDate="2020-02-03T00:00:00.000"',   # -2 to user 1
    ])
    write(site, "Comments.xml", "comments", [
        'Id="1" PostId="10" Score="0" Text="Have you tried **restarting**?" CreationDate="2020-02-01T10:05:00.000" UserId="3"',
        'Id="2" PostId="13" Score="0" Text="on a tag wiki" CreationDate="2020-02-01T10:05:00.000" UserId="3"',
        'Id="3" PostId="11" Score="0" Text="from a deleted account" CreationDate="2020-02-01T10:06:00.000" UserDisplayName="gone"',
    ])
    write(site, "PostLinks.xml", "postlinks", [
        'Id="1" CreationDate="2020-03-02T00:00:00.000" PostId="17" RelatedPostId="10" LinkTypeId="3"',
        'Id="2" CreationDate="2020-03-02T00:00:00.000" PostId="12" RelatedPostId="10" LinkTypeId="1"',
    ])
    return site


async def test_every_trap_of_the_format(database, fake_clock, tmp_path):
    report = await import_dump(make_dump(tmp_path))
    assert report.site == "tiny"
    users = {r["external_id"]: r for r in await db.fetch('SELECT external_id, username, display_name, reputation, about, password_hash FROM "user"')}
    assert users["se:tiny:1"]["username"] == "Ada"
    assert users["se:tiny:2"]["username"] == "ada-2"  # the name was taken in another letter case
    assert users["se:tiny:3"]["about"] == "Hi there"
    # Sign-up's letters: the accent goes from the username and stays in the display name.
    assert (users["se:tiny:4"]["username"], users["se:tiny:5"]["username"]) == ("Elise", "Elise-5")
    assert users["se:tiny:4"]["display_name"] == users["se:tiny:5"]["display_name"] == "Élise"
    assert users["se:tiny:3"]["username"] == "Bo-3"  # shorter than sign-up allows: the dump id is added
    assert (users["se:tiny:1"]["reputation"], users["se:tiny:2"]["reputation"], users["se:tiny:3"]["reputation"]) == (
        1 + 10 + 2 - 2, 1 + 10 + 15, 1)

    posts = {r["external_id"]: r for r in await db.fetch("SELECT * FROM post")}
    assert set(posts) == {"se:tiny:10", "se:tiny:11", "se:tiny:12", "se:tiny:16", "se:tiny:17"}
    q = posts["se:tiny:10"]
    assert q["tag_names"] == "esim roaming" and posts["se:tiny:12"]["tag_names"] == "billing esim"
    assert "<script" not in q["body_html"] and "Hello" in q["body_html"]
    assert q["state"] == "solved" and int(q["answer_count"]) == 1
    assert str(q["first_answer_at"]).startswith("2020-02-01 10:30:00")
    assert posts["se:tiny:12"]["author_id"] is None and posts["se:tiny:12"]["state"] == "unanswered"
    dup = posts["se:tiny:17"]
    assert dup["closed_reason"] == "duplicate" and dup["duplicate_of_id"] == q["id"]
    assert str(dup["closed_at"]).startswith("2020-03-02")
    # Old questions are past their SLA at import time; the one asked ten minutes ago is not.
    exempt = {k: bool(v["escalation_exempt"]) for k, v in posts.items() if v["kind"] == "question"}
    assert exempt == {"se:tiny:10": True, "se:tiny:12": True, "se:tiny:17": True, "se:tiny:16": False}

    comments = await db.fetch("SELECT external_id, author_id, body_html FROM comment ORDER BY external_id")
    assert [c["external_id"] for c in comments] == ["se:tiny:1", "se:tiny:3"]
    assert "<strong>restarting</strong>" in comments[0]["body_html"] and comments[1]["author_id"] is None
    tags = {r["name"]: int(r["question_count"]) for r in await db.fetch("SELECT name, question_count FROM tag")}
    assert tags == {"esim": 3, "roaming": 1, "billing": 1, "sim": 1}

    assert report.tally("other posts").skipped == {"post type 4: tag wiki excerpt": 1, "post type 6: moderator nomination": 1}
    assert report.tally("answers").skipped["its question is not in the dump"] == 1
    votes = report.tally("votes")
    assert votes.imported == 4
    assert votes.skipped["vote on a post not in the dump (deleted)"] == 1
    assert votes.skipped["the post has no owner (deleted account)"] == 1
    assert votes.skipped["favourite (no reputation)"] == 1
    assert "imported" in report.table() and "already imported" not in report.table()


def test_both_tag_formats():
    assert parse_tags("<a><b-c><a>") == ["a", "b-c"]
    assert parse_tags("|a|b-c|") == ["a", "b-c"]
    assert parse_tags("") == []
