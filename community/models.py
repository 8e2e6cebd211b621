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
    # The name shown beside posts when it differs from the username (imported members keep theirs).
    display_name = fields.CharField(max_length=80, default="", db_default="")
    # Mail goes only to a confirmed address; a new address waits in pending_email until confirmed.
    email_confirmed_at = fields.DatetimeField(null=True)
    pending_email = fields.CharField(max_length=254, default="", db_default="")
    # The mail server refused the address for good (a 5xx): shown to the member and to admins.
    email_bouncing_at = fields.DatetimeField(null=True)
    email_bounce_reason = fields.TextField(default="", db_default="")
    # The member's own settings (issue 14): where they are, their picture, how times read to them.
    location = fields.CharField(max_length=100, default="", db_default="")
    avatar = fields.CharField(max_length=80, default="", db_default="")  # an Upload's file name; "": generated
    time_zone = fields.CharField(max_length=64, default="", db_default="")  # IANA name; "": the community's
    # The account was deleted: its posts stay, shown as written by "deleted member"; personal data is gone.
    deleted_at = fields.DatetimeField(null=True)

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
    expires_at = fields.DatetimeField(null=True)  # null: tokens issued before expiry existed (never expire)
    last_used_at = fields.DatetimeField(null=True)
    label = fields.CharField(max_length=60, default="", db_default="")  # what the member called it

    class Meta:
        table = "api_token"


class MemberSession(Model):
    """A browser session on the server: the signed cookie names one, and ending it here ends it."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=64, unique=True)  # random, carried in the signed session cookie
    user = fields.ForeignKeyField("community.User", related_name="sessions")
    created_at = fields.DatetimeField()
    last_seen_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True)
    user_agent = fields.CharField(max_length=200, default="")

    class Meta:
        table = "member_session"
        indexes = (("user_id", "ended_at"),)


class RateEvent(Model):
    """One counted action (a post, a sign-up, a failed log-in) under a key, for the rate limits."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=160)  # e.g. "post:user:12", "signup:ip:10.0.0.1"
    at = fields.DatetimeField()

    class Meta:
        table = "rate_event"
        indexes = (("key", "at"), ("at",))


class IdempotentResponse(Model):
    """The first response to an API write sent with an Idempotency-Key, replayed to its retries."""

    id = fields.IntField(primary_key=True)
    principal = fields.CharField(max_length=80)  # "user:ID", or "anon:ADDRESS"
    key = fields.CharField(max_length=255)
    method = fields.CharField(max_length=10)
    path = fields.CharField(max_length=300)
    status = fields.IntField(null=True)  # null while the first request is still running
    body = fields.TextField(default="")
    content_type = fields.CharField(max_length=100, default="")
    created_at = fields.DatetimeField(db_index=True)
    request_digest = fields.CharField(max_length=64, default="", db_default="")  # sha256 of the request body

    class Meta:
        table = "idempotent_response"
        unique_together = (("principal", "key"),)


class OutgoingMail(Model):
    """The mail outbox: a message is written here in the transaction that causes it, and a sender
    delivers it with retries, so an unreachable mail server never fails a request."""

    id = fields.IntField(primary_key=True)
    to_address = fields.CharField(max_length=254)
    subject = fields.CharField(max_length=200)
    body_text = fields.TextField()
    kind = fields.CharField(max_length=32, default="")  # "password_reset", ...
    created_at = fields.DatetimeField()
    body_html = fields.TextField(default="", db_default="")  # non-empty: sent multipart (text and HTML)
    headers = fields.TextField(default="", db_default="")  # JSON object of extra headers (List-Unsubscribe, Reply-To)
    user_id = fields.IntField(null=True)  # the member it is for: a permanent refusal marks their address bouncing
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)
    failed_at = fields.DatetimeField(null=True)  # gave up after the last retry
    last_error = fields.TextField(default="")

    class Meta:
        table = "outgoing_mail"
        indexes = (("sent_at", "failed_at", "next_attempt_at"),)


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
    """An inbox entry, and (per the member's preference for its kind) a mail at once or a line in a digest."""

    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("community.User", related_name="notifications")
    kind = fields.CharField(max_length=32)
    text = fields.CharField(max_length=300)
    url = fields.CharField(max_length=300)
    created_at = fields.DatetimeField()
    read_at = fields.DatetimeField(null=True)
    question_id = fields.IntField(null=True)  # the thread it is about (mails fold per member and thread)
    post_id = fields.IntField(null=True)  # the exact post (question or answer) it is about
    comment_id = fields.IntField(null=True)
    actor_id = fields.IntField(null=True)
    reason = fields.CharField(max_length=120, default="", db_default="")  # "you watch the tag roaming"
    mail_due_at = fields.DatetimeField(null=True)  # set: to be mailed at once (folded); cleared when mailed
    mailed_at = fields.DatetimeField(null=True)
    digest = fields.CharField(max_length=8, default="", db_default="")  # "daily"|"weekly" until digested
    digested_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notification"
        indexes = (("user_id", "read_at"), ("mail_due_at",), ("user_id", "question_id", "mailed_at"),
                   ("digest", "user_id"))


class QuestionWatch(Model):
    """A member watches a question (asked, answered, commented, or the button). `active` false: they
    stopped, and taking part again does not start it anew."""

    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("community.User", related_name="question_watches", on_delete=fields.CASCADE)
    question = fields.ForeignKeyField("community.Post", related_name="watches", on_delete=fields.CASCADE)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "question_watch"
        unique_together = (("user", "question"),)
        indexes = (("question_id", "active"),)


class TagWatch(Model):
    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("community.User", related_name="tag_watches", on_delete=fields.CASCADE)
    tag = fields.ForeignKeyField("community.Tag", related_name="watches", on_delete=fields.CASCADE)
    created_at = fields.DatetimeField()

    class Meta:
        table = "tag_watch"
        unique_together = (("user", "tag"),)
        indexes = (("tag_id", "user_id"),)


class NotificationPreference(Model):
    """How a member wants one kind of notification mailed, where it differs from the default."""

    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("community.User", related_name="notification_preferences", on_delete=fields.CASCADE)
    kind = fields.CharField(max_length=32)
    delivery = fields.CharField(max_length=8)  # now|daily|weekly|never

    class Meta:
        table = "notification_preference"
        unique_together = (("user", "kind"),)


class DigestRun(Model):
    """One daily or weekly digest: members are mailed in id order and the cursor moves in the same
    transaction as each member's mail, so a run killed half way resumes where it stopped."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharField(max_length=8)  # daily|weekly
    period = fields.CharField(max_length=10)  # the UTC day the period ends: "2026-12-02"
    since = fields.DatetimeField()  # what is new: created in [since, until)
    until = fields.DatetimeField()
    started_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)
    cursor = fields.IntField(default=0)  # the last member id done
    sent = fields.IntField(default=0)

    class Meta:
        table = "digest_run"
        unique_together = (("kind", "period"),)


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


class Upload(Model):
    """An image a member uploaded (a screenshot in a post, or an avatar), re-encoded and stored under
    UPLOAD_DIR with its content hash as its name, so the same picture is stored once."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=80, unique=True)  # "<sha256>.<ext>"
    user = fields.ForeignKeyField("community.User", related_name="uploads", null=True, on_delete=fields.SET_NULL)
    purpose = fields.CharField(max_length=10, default="post")  # post|avatar
    content_type = fields.CharField(max_length=20)
    width = fields.IntField()
    height = fields.IntField()
    size = fields.IntField()  # bytes as stored
    created_at = fields.DatetimeField()

    class Meta:
        table = "upload"


class BadgeAward(Model):
    """A badge a member earned (community/badges.py holds the rules). `ref` tells apart the awards of
    a badge that can be earned more than once (the post it was for); a unique constraint records
    each award once whichever service or command awards it."""

    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("community.User", related_name="badges", on_delete=fields.CASCADE)
    badge = fields.CharField(max_length=40)
    ref = fields.CharField(max_length=40, default="")
    awarded_at = fields.DatetimeField()

    class Meta:
        table = "badge_award"
        unique_together = (("user", "badge", "ref"),)


class UserIdentity(Model):
    """A member's account at an OpenID Connect provider (community/oidc.py): a later sign-in finds the
    member by provider and subject, never by email alone."""

    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("community.User", related_name="identities", on_delete=fields.CASCADE)
    provider = fields.CharField(max_length=40)  # the configured provider's name, e.g. "acme"
    subject = fields.CharField(max_length=255)  # the ID token's `sub`
    email = fields.CharField(max_length=254, default="")  # as the provider last gave it
    created_at = fields.DatetimeField()
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "user_identity"
        unique_together = (("provider", "subject"),)
