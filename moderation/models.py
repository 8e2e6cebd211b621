"""Rows of the moderation room: flags, review items, suggested edits, close votes, revisions, the audit log."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

FLAG_REASONS = ("spam", "rude", "off_topic", "moderator")
QUEUES = ("flagged", "first_post", "suggested_edit", "close", "reopen", "spam")  # spam: held by moderation/spam.py
CLOSE_REASONS = ("duplicate", "off_topic", "needs_details", "opinion_based")


class Flag(Model):
    """A flag raised by one member on one post, weighted when it is raised."""

    id = fields.IntField(primary_key=True)
    post = fields.ForeignKeyField("community.Post", related_name="flags", on_delete=fields.CASCADE)
    flagger = fields.ForeignKeyField("community.User", related_name="flags_raised", on_delete=fields.CASCADE)
    reason = fields.CharField(max_length=12)
    message = fields.TextField(default="")
    weight = fields.IntField()
    status = fields.CharField(max_length=10, default="pending")  # pending | helpful | declined
    created_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "moderation_flag"
        unique_together = (("post", "flagger"),)
        indexes = (("flagger_id", "status"), ("post_id", "status"))


class SuggestedEdit(Model):
    """An edit by a member without the edit privilege, waiting in the review queue."""

    id = fields.IntField(primary_key=True)
    post = fields.ForeignKeyField("community.Post", related_name="suggested_edits", on_delete=fields.CASCADE)
    author = fields.ForeignKeyField("community.User", related_name="suggested_edits", on_delete=fields.CASCADE)
    title = fields.CharField(max_length=300, null=True)
    body = fields.TextField(null=True)
    tags = fields.CharField(max_length=200, null=True)
    comment = fields.CharField(max_length=300, default="")
    created_at = fields.DatetimeField()

    class Meta:
        table = "moderation_suggested_edit"


class ReviewItem(Model):
    """One thing waiting for a reviewer, decided once (open_key is unique while it waits)."""

    id = fields.IntField(primary_key=True)
    queue = fields.CharField(max_length=16)
    post = fields.ForeignKeyField("community.Post", related_name="review_items", on_delete=fields.CASCADE)
    suggested_edit = fields.ForeignKeyField("moderation.SuggestedEdit", related_name="review_items", null=True,
                                            on_delete=fields.CASCADE)
    note = fields.CharField(max_length=300, default="")
    open_key = fields.CharField(max_length=64, null=True, unique=True)  # "flagged:POST" while undecided
    created_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)
    decided_by = fields.ForeignKeyField("community.User", related_name="review_decisions", null=True,
                                        on_delete=fields.SET_NULL)
    decision = fields.CharField(max_length=16, null=True)
    # Removal the reviewers agreed on for a moderator's or staff member's post: only a moderator decides it now.
    needs_moderator = fields.BooleanField(default=False)

    class Meta:
        table = "moderation_review_item"
        indexes = (("queue", "decided_at", "created_at"),)


class ReviewVote(Model):
    """A non-moderator reviewer's vote to remove a post (spam, rude, delete), waiting for a second reviewer."""

    id = fields.IntField(primary_key=True)
    item = fields.ForeignKeyField("moderation.ReviewItem", related_name="votes", on_delete=fields.CASCADE)
    reviewer = fields.ForeignKeyField("community.User", related_name="review_votes", on_delete=fields.CASCADE)
    decision = fields.CharField(max_length=16)
    created_at = fields.DatetimeField()

    class Meta:
        table = "moderation_review_vote"
        unique_together = (("item", "reviewer"),)


class CloseVote(Model):
    """A vote to close or reopen a question (active_key is unique while the vote counts)."""

    id = fields.IntField(primary_key=True)
    question = fields.ForeignKeyField("community.Post", related_name="close_votes", on_delete=fields.CASCADE)
    voter = fields.ForeignKeyField("community.User", related_name="close_votes", on_delete=fields.CASCADE)
    kind = fields.CharField(max_length=8)  # close | reopen
    reason = fields.CharField(max_length=20, null=True)
    duplicate_of_id = fields.IntField(null=True)
    active_key = fields.CharField(max_length=64, null=True, unique=True)  # "close:QUESTION:VOTER"
    created_at = fields.DatetimeField()

    class Meta:
        table = "moderation_close_vote"
        indexes = (("question_id", "kind"),)


class Revision(Model):
    """A post as it stood after an edit (revision 1, the original, is stored at the first edit)."""

    id = fields.IntField(primary_key=True)
    post = fields.ForeignKeyField("community.Post", related_name="revisions", on_delete=fields.CASCADE)
    number = fields.IntField()
    title = fields.CharField(max_length=300, default="")
    body = fields.TextField()
    tags = fields.CharField(max_length=200, default="")
    comment = fields.CharField(max_length=300, default="")
    editor = fields.ForeignKeyField("community.User", related_name="revisions", null=True, on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField()

    class Meta:
        table = "moderation_revision"
        unique_together = (("post", "number"),)


class AuditEntry(Model):
    """Who did what to which post or member, when and why. Never updated."""

    id = fields.IntField(primary_key=True)
    actor = fields.ForeignKeyField("community.User", related_name="audit_entries", null=True, on_delete=fields.SET_NULL)
    action = fields.CharField(max_length=24, db_index=True)
    post_id = fields.IntField(null=True, db_index=True)
    user_id = fields.IntField(null=True, db_index=True)  # the member acted upon (suspension, spam penalty)
    reason = fields.TextField(default="")
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "moderation_audit_entry"


class SpamCheck(Model):
    """The spam triage's verdict on one post by a new member (or a big edit of one): its score, the
    signals behind it, whether it was held for review, and the moderator's decision."""

    id = fields.IntField(primary_key=True)
    post = fields.ForeignKeyField("community.Post", related_name="spam_checks", on_delete=fields.CASCADE)
    author = fields.ForeignKeyField("community.User", related_name="spam_checks", null=True, on_delete=fields.SET_NULL)
    score = fields.FloatField()
    reasons = fields.TextField(default="")  # JSON: the signals and what each added
    held = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(db_index=True)
    decided_at = fields.DatetimeField(null=True)
    decision = fields.CharField(max_length=8, null=True)  # spam | ham
    decided_by = fields.ForeignKeyField("community.User", related_name="spam_decisions", null=True,
                                        on_delete=fields.SET_NULL)

    class Meta:
        table = "moderation_spam_check"


class SpamToken(Model):
    """The naive Bayes model learned from moderators' decisions: how often a token (a word or a link
    domain) appeared in posts confirmed as spam and in posts released as not spam."""

    id = fields.IntField(primary_key=True)
    token = fields.CharField(max_length=80, unique=True)
    spam = fields.IntField(default=0)
    ham = fields.IntField(default=0)

    class Meta:
        table = "moderation_spam_token"
