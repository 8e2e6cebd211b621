"""Rows read with plain SQL become the same model objects the ORM's querysets make
(community/model_rows.py leans on Tortoise's internals: a release that changes them fails here).

Compared field by field with `select_related` on both databases: a question and an answer with their
authors, a post whose author was removed, a comment, a ticket with and without an agent, and a page
of a question list read in one statement against the same page read through the ORM."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from community import clock, db, model_rows, question_lists, questions, thread_rows
from community.models import Comment, Post, User
from community.support.models import Ticket


def _fields(obj: Any) -> dict[str, Any]:
    values = {name: getattr(obj, name) for name in obj._meta.fields_db_projection}
    assert values, "no fields read: Tortoise's model metadata changed"
    return values


def _same(built: Any, orm: Any, relation: str) -> None:
    assert type(built) is type(orm)
    assert _fields(built) == _fields(orm)
    assert built._saved_in_db and not built._partial  # as the ORM marks a fetched row
    related, expected = getattr(built, relation), getattr(orm, relation)
    if expected is None:
        assert related is None
    else:
        assert type(related) is type(expected) and _fields(related) == _fields(expected)


async def test_thread_rows_match_select_related(database, users):
    asker, helper = await users("asker"), await users("helper", 300)
    q = await questions.ask(asker, "Roaming in France costs nothing?", "Checking before I travel next week.", ["roaming"])
    a = await questions.answer(helper, q.id, "It is included in your plan, up to the fair use limit.")
    c = await questions.comment(asker, a.id, "Thanks, that is what I hoped.")
    gone = await Post.create(kind="answer", question_id=q.id, author_id=None, body="An answer by nobody",
                             body_html="<p>An answer by nobody</p>", created_at=clock.now(), last_activity_at=clock.now())

    question, answers, comments = await thread_rows.load(q.id)
    _same(question, await Post.get(id=q.id).select_related("author"), "author")
    by_id = {p.id: p for p in answers}
    assert set(by_id) == {a.id, gone.id}
    for pk in by_id:
        _same(by_id[pk], await Post.get(id=pk).select_related("author"), "author")
    assert by_id[gone.id].author is None
    assert [x.id for x in comments] == [c.id]
    _same(comments[0], await Comment.get(id=c.id).select_related("author"), "author")
    assert comments[0].author is question.author  # one object per member on the page (the asker commented)
    assert isinstance(question.created_at, type(clock.now())) and question.created_at.tzinfo is not None
    assert question.hidden is False and isinstance(question.hidden, bool)  # SQLite's 0 converted as the ORM does


async def test_ticket_rows_match_select_related(database, users):
    from community.support import tickets

    asker, agent = await users("asker"), await users("agent", role="staff")
    now = clock.now()
    made = []
    for n, assignee in enumerate((None, agent)):
        q = await questions.ask(asker, f"My number port is stuck, attempt {n}", "It has been three days since I asked.", ["porting"])
        t = await Ticket.create(question_id=q.id, escalated_at=now, due_at=now, claim_due_at=now + timedelta(hours=1),
                                reply_due_at=now + timedelta(hours=4), updated_at=now, assignee_id=assignee.id if assignee else None,
                                state="claimed" if assignee else "open", claimed_at=now if assignee else None)
        made.append((q.id, t.id))
    found = await tickets.escalation_for([qid for qid, _ in made] + [999999])
    assert set(found) == {qid for qid, _ in made}
    for qid, tid in made:
        _same(found[qid], await Ticket.get(id=tid).select_related("assignee"), "assignee")
    assert tickets.escalation_json(found[made[1][0]])["assignee"]["username"] == "agent"
    assert tickets.escalation_json(found[made[0][0]])["assignee"] is None


async def test_a_list_page_in_one_statement_matches_the_orm(database, users, fake_clock):
    author = await users("asker", 5000)
    for n in range(12):
        await questions.ask(author, f"Question number {n:02d} about data bundles", "A body that is long enough to post.", ["data"])
        fake_clock.advance(minutes=n % 2)  # pairs share a creation time: ties broken by id
    await db.execute("UPDATE post SET author_id = NULL WHERE title = ?", ["Question number 09 about data bundles"])
    tag = await question_lists.tag_for_list("data")
    for shape, listed_tag in (("no tag", None), ("tag", tag)):
        page = await question_lists.questions("newest", listed_tag, None, 7)
        ids = [pk for _, pk in await question_lists.page("newest", listed_tag, None, 7)]
        assert [p.id for p in page] == ids, shape
        orm = {p.id: p for p in await Post.filter(id__in=ids).select_related("author")}
        for p in page:
            _same(p, orm[p.id], "author")
        assert sum(p.author is None for p in page) == 1


async def test_build_without_a_relation_reads_the_row_alone(database, users):
    member = await users("reader", 42)
    row = (await db.fetch(f'SELECT {model_rows.columns(User, "u")} FROM "user" u WHERE u.id = ?', [member.id]))[0]
    built = model_rows.build(User, row)
    assert _fields(built) == _fields(await User.get(id=member.id)) and built.reputation == 42
