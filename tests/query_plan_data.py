"""A populated forum for tests/test_query_plans.py, made in a few statements on PostgreSQL.

Big enough that the planner reads a large table through an index only when one serves the query
(without one it would scan the table): about 10,000 questions with 25,000 answers, 100,000 votes,
as many reputation events, 20,000 comments, 40,000 notifications and 20,000 members; tags with a
Zipf-like spread. Text is made of a small vocabulary, so full-text search has words to find. Rows
are inserted with INSERT ... SELECT over generate_series (deterministic: setseed), then ANALYZE.
"""

from __future__ import annotations

import importlib

from community import db

MEMBERS = 20_000
QUESTIONS = 10_000
ANSWERS = 25_000
COMMENTS = 20_000
VOTES = 100_000
NOTIFICATIONS = 40_000
TAGS = 300
WORDS = ("sim card roaming data plan bill payment refund phone contract network signal upgrade "
         "porting number voicemail tariff bundle broadband router texts calls abroad credit topup "
         "balance account password login app esim unlock handset delivery order").split()

# A few words of the vocabulary as one SQL expression: word i of text n.
_WORD = "(ARRAY[{}])[1 + (({{n}} * {{k}} + {{i}}) % {})]".format(
    ", ".join(f"'{w}'" for w in WORDS), len(WORDS))


def _words(n: str, k: int, count: int) -> str:
    return " || ' ' || ".join(_WORD.format(n=n, k=k + i * 7, i=i) for i in range(count))


STATEMENTS = [
    "SELECT setseed(0.17)",
    # Members: a heavy-tailed reputation spread.
    f"""INSERT INTO "user" (username, email, password_hash, role, reputation, about, created_at, suspension_reason,
        display_name, email_confirmed_at)
        SELECT 'member' || g, 'member' || g || '@example.com', NULL, 'member',
               1 + floor(power(random(), 6) * 40000)::int, '', now() - (g || ' hours')::interval, '', '', now()
        FROM generate_series(1::bigint, {MEMBERS}) g""",
    f"""INSERT INTO tag (name, description, question_count)
        SELECT 'topic' || g, '', 0 FROM generate_series(1::bigint, {TAGS}) g""",
    # Questions, newest last (ids follow time, as they do in a live forum).
    f"""INSERT INTO post (kind, question_id, author_id, title, body, body_html, score, created_at, last_activity_at,
        official, tag_names, state, answer_count, first_answer_at, view_count, locked, hidden, escalation_exempt)
        SELECT 'question', NULL, (SELECT min(id) FROM "user") + (g * 7919) % {MEMBERS},
               initcap({_words('g', 3, 6)}) || ' ' || g, {_words('g', 5, 30)}, '<p>' || {_words('g', 5, 30)} || '</p>',
               floor(power(random(), 3) * 40)::int - 2, now() - (({QUESTIONS} - g) || ' hours')::interval,
               now() - (({QUESTIONS} - g) || ' hours')::interval, false, '', 'unanswered', 0, NULL,
               floor(random() * 500)::int, false, false, true
        FROM generate_series(1::bigint, {QUESTIONS}) g""",
    f"""INSERT INTO post (kind, question_id, author_id, title, body, body_html, score, created_at, last_activity_at,
        official, tag_names, state, answer_count, view_count, locked, hidden, escalation_exempt)
        SELECT 'answer', q.id, (SELECT min(id) FROM "user") + (g * 104729) % {MEMBERS}, '',
               {_words('g', 11, 25)}, '<p>' || {_words('g', 11, 25)} || '</p>', floor(power(random(), 3) * 30)::int - 1,
               q.created_at + ((1 + g % 90) || ' minutes')::interval, q.created_at + ((1 + g % 90) || ' minutes')::interval,
               false, '', 'unanswered', 0, 0, false, false, true
        FROM generate_series(1::bigint, {ANSWERS}) g
        JOIN post q ON q.id = (SELECT min(id) FROM post WHERE kind = 'question') + (g * 48271) % {QUESTIONS * 7 // 10}""",  # 30% unanswered
    # The questions' answer counts, first answers, states and accepted answers.
    """UPDATE post q SET answer_count = a.n, first_answer_at = a.first, last_activity_at = a.last,
              state = CASE WHEN q.id % 3 = 0 THEN 'solved' ELSE 'answered' END,
              accepted_answer_id = CASE WHEN q.id % 3 = 0 THEN a.first_id END
       FROM (SELECT question_id, count(*) AS n, min(created_at) AS first, max(created_at) AS last, min(id) AS first_id
             FROM post WHERE kind = 'answer' GROUP BY question_id) a
       WHERE q.id = a.question_id""",
    # One to three tags per question, a few tags very common (power of random()).
    """INSERT INTO post_tag (post_id, tag_id)
       SELECT DISTINCT p.id, (SELECT min(id) FROM tag) + floor(power(random(), 3) * 300)::int
       FROM post p CROSS JOIN generate_series(1, 1 + p.id % 3) k WHERE p.kind = 'question'""",
    """UPDATE post p SET tag_names = t.names FROM (
         SELECT pt.post_id, string_agg(tag.name, ' ' ORDER BY tag.name) AS names
         FROM post_tag pt JOIN tag ON tag.id = pt.tag_id GROUP BY pt.post_id) t WHERE t.post_id = p.id""",
    """UPDATE tag SET question_count = c.n FROM (SELECT tag_id, count(*) AS n FROM post_tag GROUP BY tag_id) c
       WHERE c.tag_id = tag.id""",
    f"""INSERT INTO comment (post_id, author_id, body, body_html, created_at)
        SELECT p.id, (SELECT min(id) FROM "user") + (g * 15485863) % {MEMBERS}, {_words('g', 13, 12)},
               {_words('g', 13, 12)}, p.created_at + interval '5 minutes'
        FROM generate_series(1::bigint, {COMMENTS}) g
        JOIN post p ON p.id = (SELECT min(id) FROM post) + (g * 7) % ({QUESTIONS} + {ANSWERS})""",
    # Votes: (post, voter) pairs, unique by construction.
    f"""INSERT INTO vote (post_id, voter_id, value, created_at)
        SELECT p.id, (SELECT min(id) FROM "user") + ((g % {QUESTIONS + ANSWERS}) * 31 + (g / {QUESTIONS + ANSWERS}) * 1009) % {MEMBERS},
               CASE WHEN g % 9 = 0 THEN -1 ELSE 1 END, p.created_at + interval '1 hour'
        FROM generate_series(0::bigint, {VOTES - 1}) g
        JOIN post p ON p.id = (SELECT min(id) FROM post) + g % {QUESTIONS + ANSWERS}""",
    """INSERT INTO reputation_event (user_id, amount, reason, ref, post_id, created_at, day)
       SELECT p.author_id, CASE WHEN v.value > 0 THEN 10 ELSE -2 END, CASE WHEN v.value > 0 THEN 'upvoted' ELSE 'downvoted' END,
              'vote:' || v.post_id || ':' || v.voter_id, v.post_id, v.created_at, (v.created_at AT TIME ZONE 'UTC')::date
       FROM vote v JOIN post p ON p.id = v.post_id WHERE p.author_id IS NOT NULL""",
    f"""INSERT INTO notification (user_id, kind, text, url, created_at, read_at, question_id, post_id, reason, digest)
        SELECT (SELECT min(id) FROM "user") + (g * 13) % {MEMBERS}, 'answer', 'A new answer to ' || q.title,
               '/questions/' || q.id, q.created_at + interval '2 hours',
               CASE WHEN g % 4 = 0 THEN NULL ELSE q.created_at + interval '3 hours' END, q.id, q.id, '', ''
        FROM generate_series(1::bigint, {NOTIFICATIONS}) g
        JOIN post q ON q.id = (SELECT min(id) FROM post WHERE kind = 'question') + (g * 17) % {QUESTIONS}""",
    f"""INSERT INTO question_watch (user_id, question_id, active, created_at)
        SELECT DISTINCT ON (p.author_id, p.id) p.author_id, p.id, true, p.created_at
        FROM post p WHERE p.kind = 'question' AND p.author_id IS NOT NULL""",
]


async def generate() -> dict[str, int]:
    """Fill the (migrated, empty) database; returns the row count of each large table."""
    async with db.transaction() as conn:
        # The insights room's roll-up triggers are not what these plans are about: skip them while loading.
        await db.execute("SET LOCAL session_replication_role = replica", [], conn)
        for statement in STATEMENTS:
            await db.execute(statement, [], conn)
        # With triggers off, post_tag's copy of the questions' sort keys is filled as a bulk load fills it.
        for statement in importlib.import_module("community.migrations.0016_post_tag_sort_keys").backfill("postgres"):
            await db.execute(statement, [], conn)
    await db.execute("ANALYZE")
    counts = {}
    for table in ("user", "post", "vote", "comment", "reputation_event", "notification", "post_tag"):
        rows = await db.fetch(f'SELECT count(*) AS n FROM "{table}"')
        counts[table] = int(rows[0]["n"])
    return counts
