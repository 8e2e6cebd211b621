"""The questions still waiting for a first answer, as one condition the database answers from an index.

The escalation sweeper and the SLA nudge read "open, visible, not exempt, no answer but the
asker's" questions every sweep. Through the (kind, state, created_at) index that read also walked
every unanswered question the SLA does not cover, imported history above all, and checked each
row in the table: 3-10 s a sweep at a million questions (issue 17). The partial index of migration
0015 holds only the rows this condition keeps, so a sweep reads the live backlog and nothing else.

The condition is written with literal values, not parameters: PostgreSQL can use a partial index
only when it can prove the query implies the index's WHERE, which it cannot do for `hidden = $1`
in a generic (cached) plan. SQLite matches the terms as written too, but without statistics it
prefers the (kind, state, created_at) index for its two equalities, so there the read names the
index (`INDEXED BY`, which fails loudly should the condition and the index ever part). Keep INDEXED
word for word the WHERE of `post_open_unanswered`: tests/test_support_sweeper.py checks that the
sweeper's and the nudge's reads use the index on both databases.
"""

from __future__ import annotations

from community import db

INDEX = "post_open_unanswered"

# The post columns of the partial index's WHERE, as the migration wrote them.
INDEXED = ("p.kind = 'question' AND p.state = 'unanswered' AND p.first_answer_at IS NULL AND p.deleted_at IS NULL "
           "AND p.hidden = FALSE AND p.closed_reason IS NULL AND p.escalation_exempt = FALSE")

# ... and not escalated yet (a ticket is per question: at most the staff's own backlog is left).
OPEN = INDEXED + " AND NOT EXISTS (SELECT 1 FROM support_ticket t WHERE t.question_id = p.id)"


def posts() -> str:
    """The FROM of a read of the whole backlog (not of a batch looked up by id)."""
    return f"post p INDEXED BY {INDEX}" if db.dialect() == "sqlite" else "post p"
