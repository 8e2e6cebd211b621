"""Rows of the community room: members, posts (questions and answers), votes, the reputation ledger."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

ROLES = ("member", "moderator", "staff", "admin")


class User(Model):
    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=40, unique=True)
    email = fields.CharField(max_length=254, db_index=True)
    password_hash = fields.CharField(max_length=200, null=True)  # null: must reset before logging in
    role = fields.CharField(max_length=16, default="member")
    reputation = fields.IntField(default=1)  # cached: max(1, 1 + sum(ledger))
    about = fields.TextField(default="")
    created_at = fields.DatetimeField()
    last_seen_at = fields.DatetimeField(null=True)
    suspended_until = fields.DatetimeField(null=True)
    suspension_reason = fields.TextField(default="")
    external_id = fields.CharField(max_length=64, null=True, unique=True)  # e.g. "se:cardano:42"

    class Meta:
        table = "user"

    @property
    def is_moderator(self) -> bool:
        return self.role in ("moderator", "admin")

    @property
    def is_staff(self) -> bool:
        return self.role in ("staff", "admin")


class ApiToken(Model):
    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("community.User", related_name="tokens")
    digest = fields.CharField(max_length=64, unique=True)  # sha256 of the token; the token itself is never stored
    created_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_token"


class LoginFailure(Model):
    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=120, db_index=True)  # "user:NAME" or "ip:ADDR"
    at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "login_failure"


class Tag(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=35, unique=True)
    description = fields.TextField(default="")
    question_count = fields.IntField(default=0)

    class Meta:
        table = "tag"


class Post(Model):
    """A question, or an answer that points at its question."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharField(max_length=10)
    question = fields.ForeignKeyField("community.Post", related_name="answers", null=True, on_delete=fields.CASCADE)
    author = fields.ForeignKeyField("community.User", related_name="posts", null=True, on_delete=fields.SET_NULL)
    title = fields.CharField(max_length=300, default="")
    body = fields.TextField()  # Markdown source (or sanitised HTML for imported posts)
    body_html = fields.TextField()  # rendered and sanitised at write time
    score = fields.IntField(default=0)
    created_at = fields.DatetimeField()
    edited_at = fields.DatetimeField(null=True)
    last_activity_at = fields.DatetimeField()
    official = fields.BooleanField(default=False)  # an answer posted by support staff

    # Question-only fields.
    tags = fields.ManyToManyField("community.Tag", related_name="questions", through="post_tag")
    tag_names = fields.CharField(max_length=200, default="")  # denormalised "a b c" for display
    state = fields.CharField(max_length=12, default="unanswered")  # unanswered|answered|solved
    answer_count = fields.IntField(default=0)
    accepted_answer_id = fields.IntField(null=True)
    first_answer_at = fields.DatetimeField(null=True)  # first answer by someone other than the asker
    view_count = fields.IntField(default=0)

    # Moderation state.
    closed_reason = fields.CharField(max_length=20, null=True)
    closed_at = fields.DatetimeField(null=True)
    duplicate_of_id = fields.IntField(null=True)
    locked = fields.BooleanField(default=False)
    hidden = fields.BooleanField(default=False)
    deleted_at = fields.DatetimeField(null=True)

    external_id = fields.CharField(max_length=64, null=True, unique=True)
    # Imported history already past its first-answer SLA when it arrived: the escalation sweeper
    # leaves it alone (the importer's --escalate-open leaves this false so open questions escalate).
    escalation_exempt = fields.BooleanField(default=False, db_default=False)  # db_default: rows that exist before the upgrade

    class Meta:
        table = "post"
        indexes = (("kind", "created_at"), ("kind", "last_activity_at"), ("kind", "score"), ("kind", "state", "created_at"),
                   ("question_id", "created_at"))  # a thread's answers; first-answer times

    @property
    def is_question(self) -> bool:
        return self.kind == "question"

    @property
    def visible(self) -> bool:
        return not self.hidden and self.deleted_at is None


class Comment(Model):
    id = fields.IntField(primary_key=True)
    post = fields.ForeignKeyField("community.Post", related_name="comments")
    author = fields.ForeignKeyField("community.User", related_name="comments", null=True, on_delete=fields.SET_NULL)
    body = fields.TextField()
    body_html = fields.TextField()
    created_at = fields.DatetimeField()
    deleted_at = fields.DatetimeField(null=True)
    external_id = fields.CharField(max_length=64, null=True, unique=True)

    class Meta:
        table = "comment"


class Vote(Model):
    id = fields.IntField(primary_key=True)
    post = fields.ForeignKeyField("community.Post", related_name="votes")
    voter = fields.ForeignKeyField("community.User", related_name="votes")
    value = fields.SmallIntField()  # +1 or -1; a retracted vote is deleted
    created_at = fields.DatetimeField()

    class Meta:
        table = "vote"
        unique_together = (("post", "voter"),)


class ReputationEvent(Model):
    """The append-only reputation ledger (undoing appends the negation of the net amount of a cause)."""

    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("community.User", related_name="reputation_events")
    amount = fields.IntField()
    reason = fields.CharField(max_length=32)  # upvoted, downvoted, downvote_cast, accepted, accepts, undo, spam, ...
    ref = fields.CharField(max_length=64, db_index=True)  # what caused it: "vote:POST:VOTER", "accept:QUESTION"
    post_id = fields.IntField(null=True)
    created_at = fields.DatetimeField()
    day = fields.DateField()  # UTC day, for the daily cap and the history by day

    class Meta:
        table = "reputation_event"
        # (day, user_id, amount): the insights' reputation gained in a range, read from the index alone.
        indexes = (("user_id", "day"), ("user_id", "ref"), ("day", "user_id", "amount"))


class Notification(Model):
    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("community.User", related_name="notifications")
    kind = fields.CharField(max_length=32)
    text = fields.CharField(max_length=300)
    url = fields.CharField(max_length=300)
    created_at = fields.DatetimeField()
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notification"
        indexes = (("user_id", "read_at"),)


class CommunitySetting(Model):
    name = fields.CharField(max_length=80, primary_key=True)
    value = fields.TextField()  # JSON

    class Meta:
        table = "community_setting"


class ContentGeneration(Model):
    """One row whose counter every write bumps, which anonymous page caches compare against."""

    id = fields.IntField(primary_key=True)
    value = fields.BigIntField(default=0)

    class Meta:
        table = "content_generation"
