"""Imported display names (issue 12) go through sign-up's username rules: markup stripped, sign-up's
letters only, look-alikes of existing names (Unicode confusables skeleton) and repeats suffixed with
the dump id; the display name itself is kept and shown beside posts and on the member's page."""

from __future__ import annotations

from pathlib import Path

from community import db, usernames
from community.accounts import USERNAME_RE
from community.insights.importer import import_dump
from tests.test_import_traps import write

DISPLAY_NAMES = {
    "1": "&lt;b&gt;Bob&lt;/b&gt;",  # markup, as the dump escapes it
    "2": "\u13aadmin",  # Cherokee A, then "dmin": looks like the existing Admin
    "3": "José María",
    "4": "Sam",
    "5": "Sam",
    "6": "\u0410dmin",  # Cyrillic A
    "7": "adrnin",  # r n looks like m
    "8": "Ad\u200bmin",  # a zero-width space inside
    "9": "张伟",
    "10": "Bo",
    "11": "!!!",
}


def make_dump(tmp_path: Path) -> Path:
    site = tmp_path / "names.stackexchange.com"
    site.mkdir()
    write(site, "Users.xml", "users", [
        f'Id="{i}" Reputation="1" CreationDate="2020-01-01T00:00:00.000" DisplayName="{name}"' for i, name in DISPLAY_NAMES.items()])
    write(site, "Posts.xml", "posts", [
        'Id="20" PostTypeId="1" CreationDate="2020-02-01T10:00:00.000" Score="0" Body="&lt;p&gt;Hello&lt;/p&gt;" '
        'OwnerUserId="2" Title="A question from the look-alike" Tags="&lt;esim&gt;"',
        'Id="21" PostTypeId="2" ParentId="20" CreationDate="2020-02-01T10:30:00.000" Score="0" '
        'Body="&lt;p&gt;An answer&lt;/p&gt;" OwnerUserId="3"',
    ])
    write(site, "Comments.xml", "comments", [
        'Id="1" PostId="20" Score="0" Text="A comment from Bob" CreationDate="2020-02-01T10:05:00.000" UserId="1"',
    ])
    return site


async def _imported() -> dict[str, dict]:
    rows = await db.fetch('SELECT id, external_id, username, display_name FROM "user" WHERE external_id IS NOT NULL')
    return {r["external_id"].rsplit(":", 1)[1]: r for r in rows}


async def test_display_names_become_valid_distinct_usernames_and_stay_for_display(database, client, users, tmp_path):
    admin = await users("Admin", 1, "admin")
    site = make_dump(tmp_path)
    await import_dump(site)
    got = await _imported()
    names = {i: r["username"] for i, r in got.items()}
    assert names == {
        "1": "Bob", "2": "Admin-2", "3": "Jose_Maria", "4": "Sam", "5": "Sam-5", "6": "Admin-6",
        "7": "adrnin-7", "8": "Admin-8", "9": "ZhangWei", "10": "Bo-10", "11": "user11",
    }
    assert all(USERNAME_RE.match(n) for n in names.values())
    everyone = [admin.username, *names.values()]
    for i, a in enumerate(everyone):
        for b in everyone[i + 1:]:
            assert not usernames.lookalike_keys(a) & usernames.lookalike_keys(b), (a, b)
    shown = {i: r["display_name"] for i, r in got.items()}
    assert shown == {
        "1": "Bob", "2": "\u13aadmin", "3": "José María", "4": "Sam", "5": "Sam", "6": "\u0410dmin",
        "7": "adrnin", "8": "Admin", "9": "张伟", "10": "Bo", "11": "!!!",
    }

    # The API gives the name to show beside the username.
    member = (await client.get(f"/api/v1/users/{got['3']['id']}")).json()
    assert (member["username"], member["display_name"]) == ("Jose_Maria", "José María")
    assert (await client.get(f"/api/v1/users/{admin.id}")).json()["display_name"] == "Admin"

    # A second run adds nobody and renames nobody.
    await import_dump(site)
    assert {i: r["username"] for i, r in (await _imported()).items()} == names

    # Beside posts and comments, and on the member's page, the display name shows; the username too.
    question_id = (await db.fetch("SELECT id FROM post WHERE external_id = ?", ["se:names:20"]))[0]["id"]
    page = (await client.get(f"/questions/{question_id}", follow_redirects=True)).text
    assert f'<a href="/users/{got["2"]["id"]}" title="@Admin-2">\u13aadmin</a>' in page
    assert f'<a href="/users/{got["3"]["id"]}" title="@Jose_Maria">José María</a>' in page
    assert f'<a href="/users/{got["1"]["id"]}" title="@Bob">Bob</a>' in page
    profile = (await client.get(f"/users/{got['3']['id']}")).text
    assert "<h1>José María</h1>" in profile and "@Jose_Maria" in profile
    own = (await client.get(f"/users/{admin.id}")).text  # a member who signed up has no display name
    assert "<h1>Admin</h1>" in own and "@Admin" not in own


async def test_names_taken_meanwhile_and_in_earlier_imports_are_not_reused(database, tmp_path):
    from community import accounts

    async def sign_up_meanwhile(phase: str, number: int) -> None:
        if (phase, number) == ("users", 1):  # after the run read every member's name
            await accounts.sign_up("sam", "sam@example.com", "password123")

    (tmp_path / "a").mkdir()
    first = make_dump(tmp_path / "a")
    await import_dump(first, batch_size=2, on_batch=sign_up_meanwhile)
    assert (await _imported())["4"]["username"] == "Sam-4"

    # Another site's dump with the same display names: every name is now taken or looks taken.
    second = tmp_path / "b" / "other.stackexchange.com"
    second.mkdir(parents=True)
    for name in ("Users.xml", "Posts.xml"):
        (second / name).write_text((first / name).read_text(encoding="utf-8"), encoding="utf-8")
    await import_dump(second)
    names = [r["username"] for r in await db.fetch('SELECT username FROM "user"')]
    assert len(names) == 2 * len(DISPLAY_NAMES) + 1
    for i, a in enumerate(names):
        assert USERNAME_RE.match(a), a
        for b in names[i + 1:]:
            assert not usernames.lookalike_keys(a) & usernames.lookalike_keys(b), (a, b)
    assert {"Bob", "Bob-1", "Admin", "Admin-2", "user11", "se-other-11"} <= set(names)


def test_the_skeleton_tells_look_alikes():
    assert usernames.skeleton("\u13aadmin") == usernames.skeleton("Admin") == usernames.skeleton("Adrnin")
    assert usernames.lookalike_keys("Ian") & usernames.lookalike_keys("lan")  # capital I, small L
    assert usernames.lookalike_keys("ian") & usernames.lookalike_keys("IAN")
    assert not usernames.lookalike_keys("Sam") & usernames.lookalike_keys("Pam")
    assert usernames.from_display_name("<script>alert(1)</script>Eve") == "Eve"
    assert usernames.from_display_name("Łukasz Żółć") == "Lukasz_Zolc"
    assert usernames.from_display_name("x" * 50) == "x" * 30
    assert usernames.display_name("  A\u0000 <i>b</i>\n c " + "d" * 100) == ("A b c " + "d" * 100)[:80]
