"""@mentions: names of members in posts and comments link to their profiles (not in code, links or
email addresses, whatever the letter case) and notify them: at most 10 a post, never the author, a
suspended member, one who may not see the post, or one the same event already told; an edit tells
only the names it adds. The mention's mail reaches the member through a real SMTP server."""

from __future__ import annotations

import re
from datetime import timedelta

from community import mail, mentions, questions
from community.mail import Transport
from community.mail_links import Site
from community.models import Comment, Notification, Post, User
from community.notification_mail import compose_due
from community.rendering import markdown
from tests.test_mail_outbox import free_port, smtp_server

BODY = "My phone shows no signal after the update, what should I try first?"


def anchor(user: User, written: str) -> str:
    return f'<a href="/users/{user.id}" class="mention">@{written}</a>'


async def mentions_of(user: User) -> list[Notification]:
    return await Notification.filter(user_id=user.id, kind="mention").order_by("id")


async def kinds_by_user(**where) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for n in await Notification.filter(**where).order_by("id"):
        out.setdefault(n.user_id, []).append(n.kind)
    return out


async def test_link_wraps_known_names_and_keeps_every_other_byte(database, users):
    alice, dotted, _ = await users("alice"), await users("bob.smith"), await users("bar.com")
    source = ("Thanks @alice and @Bob.Smith. Ask @nobody_here, mail foo@bar.com, see example.org/@alice.\n\n"
              "Inline `@alice` and [a link to @alice](https://example.org/@alice) and <https://example.org/@alice>.\n\n"
              "```\n@alice in a block\n```\n\n    @alice indented code\n\n<pre>@alice in pre</pre>\n\n"
              "*(@ALICE)* and @bar.com")
    html = markdown(source)
    linked, members = await mentions.link(html)
    dotted_user = await User.get(username="bar.com")
    expected = (html.replace("Thanks @alice", f"Thanks {anchor(alice, 'alice')}", 1)
                .replace("and @Bob.Smith.", f"and {anchor(dotted, 'Bob.Smith')}.", 1)
                .replace("(@ALICE)", f"({anchor(alice, 'ALICE')})", 1)
                .replace("and @bar.com", f"and {anchor(dotted_user, 'bar.com')}", 1))
    assert linked == expected
    assert [m.id for m in members] == [alice.id, dotted.id, dotted_user.id]
    assert linked.count('class="mention"') == 4
    # Taking the four links out gives the HTML back byte for byte.
    assert re.sub(r'<a href="/users/\d+" class="mention">(@[^<]+)</a>', r"\1", linked) == html
    assert await mentions.link("<p>no names here</p>") == ("<p>no names here</p>", [])
    assert await mentions.link("<p>@nobody_here and @xy</p>") == ("<p>@nobody_here and @xy</p>", [])


async def test_a_question_links_its_mentions_and_notifies_them_once(database, users, client):
    asker, alice, cara = await users("asker"), await users("alice"), await users("Cara_K")
    question = await questions.ask(asker, "Roaming stopped working in Spain",
                                   f"{BODY} @ALICE, @cara_k and @alice again, and myself @asker.", "roaming")
    assert anchor(alice, "ALICE") in question.body_html and anchor(cara, "cara_k") in question.body_html
    assert anchor(asker, "asker") in question.body_html  # linked, though not notified
    assert await kinds_by_user(question_id=question.id) == {alice.id: ["mention"], cara.id: ["mention"]}
    note = (await mentions_of(alice))[0]
    assert (note.url, note.question_id, note.post_id, note.comment_id, note.actor_id, note.reason) == (
        f"/questions/{question.id}", question.id, question.id, None, asker.id, "you were mentioned")
    assert note.text == "asker mentioned you in: Roaming stopped working in Spain"

    page = await client.get(f"/questions/{question.id}", follow_redirects=True)
    assert page.status_code == 200 and anchor(cara, "cara_k") in page.text


async def test_an_answer_mention_points_at_the_answer_and_the_asker_is_told_once(database, users, fake_clock):
    asker, helper, dan, sus = await users("asker"), await users("helper"), await users("dan"), await users("sus")
    question = await questions.ask(asker, "Roaming stopped working in Spain", BODY, "roaming")
    await User.filter(id=sus.id).update(suspended_until=fake_clock.now() + timedelta(days=3))
    ans = await questions.answer(helper, question.id, "Turn data roaming on, @asker; @dan @sus and I (@helper) did.")
    assert await kinds_by_user(post_id=ans.id) == {asker.id: ["answer"], dan.id: ["mention"]}
    note = (await mentions_of(dan))[0]
    assert (note.url, note.post_id, note.comment_id) == (f"/questions/{question.id}#answer-{ans.id}", ans.id, None)
    assert note.text == "helper mentioned you in an answer to: Roaming stopped working in Spain"
    assert anchor(sus, "sus") in ans.body_html  # a suspended member's name still links to the profile


async def test_at_most_ten_members_are_notified_per_post(database, users):
    asker = await users("asker")
    names = [f"member{n:02d}" for n in range(1, 12)]
    members = [await users(name) for name in names]
    question = await questions.ask(asker, "Who else lost signal after the update?",
                                   BODY + " " + " ".join(f"@{n}" for n in names), "signal")
    assert question.body_html.count('class="mention"') == 11
    told = await kinds_by_user(kind="mention")
    assert sorted(told) == [m.id for m in members[:10]]


async def test_an_edit_notifies_only_the_names_it_adds(database, users):
    asker, alice, bob = await users("asker"), await users("alice"), await users("bob")
    question = await questions.ask(asker, "Roaming stopped working in Spain", f"{BODY} Any idea, @alice?", "roaming")
    await questions.edit(asker, question.id, body=f"{BODY} Any idea, @alice? Or @Bob?")
    assert [n.post_id for n in await mentions_of(alice)] == [question.id]
    assert [n.post_id for n in await mentions_of(bob)] == [question.id]
    edited = await Post.get(id=question.id)
    assert anchor(alice, "alice") in edited.body_html and anchor(bob, "Bob") in edited.body_html
    await questions.edit(asker, question.id, body=f"{BODY} Thanks both, @alice and @bob.")
    assert len(await mentions_of(alice)) == len(await mentions_of(bob)) == 1


async def test_an_edit_of_a_post_written_before_mentions_were_linked_tells_no_one_twice(database, users):
    asker, alice, bob = await users("asker"), await users("alice"), await users("bob")
    question = await questions.ask(asker, "Roaming stopped working in Spain", BODY, "roaming")
    await Post.filter(id=question.id).update(body_html=markdown(f"{BODY} Any idea, @alice?"))  # stored unlinked
    await questions.edit(asker, question.id, body=f"{BODY} Any idea, @alice or @bob?")
    assert await kinds_by_user(kind="mention") == {bob.id: ["mention"]}


async def test_a_comment_mention_points_at_the_comment(database, users):
    asker, helper, alice = await users("asker"), await users("helper", 60), await users("alice")
    question = await questions.ask(asker, "Roaming stopped working in Spain", BODY, "roaming")
    ans = await questions.answer(helper, question.id, "Turn data roaming on in the settings, then restart.")
    c = await questions.comment(asker, ans.id, "Did that, @helper, @alice: still nothing.")
    assert anchor(alice, "alice") in c.body_html and anchor(helper, "helper") in c.body_html
    assert (await Comment.get(id=c.id)).body_html == c.body_html
    assert await kinds_by_user(comment_id=c.id) == {helper.id: ["comment"], alice.id: ["mention"]}
    note = (await mentions_of(alice))[0]
    assert (note.url, note.post_id, note.comment_id) == (f"/questions/{question.id}#c{c.id}", ans.id, c.id)


async def test_a_hidden_post_mentions_notify_only_those_who_may_see_it(database, users):
    asker, helper = await users("asker"), await users("helper")
    alice, mod = await users("alice"), await users("mod", 1, "moderator")
    question = await questions.ask(asker, "Roaming stopped working in Spain", BODY, "roaming")
    ans = await questions.answer(helper, question.id, "Turn data roaming on in the settings, then restart.")
    await Post.filter(id=ans.id).update(hidden=True)
    await questions.edit(helper, ans.id, body="Turn data roaming on, then restart. @alice @mod @asker agree.")
    assert await kinds_by_user(kind="mention") == {mod.id: ["mention"]}


async def test_the_mention_mail_goes_to_the_mentioned_member(database, users, fake_clock):
    asker, alice = await users("asker"), await users("alice")
    question = await questions.ask(asker, "Roaming stopped working in Spain", f"{BODY} @alice, any idea?", "roaming")
    port = free_port()
    site = Site("http://forum.test", "test-secret", "Forum <forum@forum.test>")
    assert await compose_due(site) == 1
    with smtp_server(port) as inbox:
        await mail.deliver_due(Transport(f"smtp://127.0.0.1:{port}", site.mail_from))
    assert [m["To"] for m in inbox.messages] == ["alice@example.com"]
    received = inbox.messages[0]
    assert received["Subject"] == "asker mentioned you in: Roaming stopped working in Spain"
    text = received.get_body(("plain",)).get_content()
    assert f"http://forum.test/questions/{question.id}" in text and "you were mentioned" in text
    assert "what should I try first? @alice" in " ".join(text.split())  # the post's text, the mention with it
