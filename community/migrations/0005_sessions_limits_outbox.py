from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('community', '0004_user_name_case_index')]

    initial = False

    operations = [
        ops.CreateModel(
            name='IdempotentResponse',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('principal', fields.CharField(max_length=80)),
                ('key', fields.CharField(max_length=255)),
                ('method', fields.CharField(max_length=10)),
                ('path', fields.CharField(max_length=300)),
                ('status', fields.IntField(null=True)),
                ('body', fields.TextField(default='', unique=False)),
                ('content_type', fields.CharField(default='', max_length=100)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'idempotent_response', 'app': 'community', 'unique_together': (('principal', 'key'),), 'pk_attr': 'id', 'table_description': 'The first response to an API write sent with an Idempotency-Key, replayed to its retries.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MemberSession',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=64)),
                ('user', fields.ForeignKeyField('community.User', source_field='user_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_seen_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('user_agent', fields.CharField(default='', max_length=200)),
            ],
            options={'table': 'member_session', 'app': 'community', 'indexes': [Index(fields=['user_id', 'ended_at'])], 'pk_attr': 'id', 'table_description': 'A browser session on the server: the signed cookie names one, and ending it here ends it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutgoingMail',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('to_address', fields.CharField(max_length=254)),
                ('subject', fields.CharField(max_length=200)),
                ('body_text', fields.TextField(unique=False)),
                ('kind', fields.CharField(default='', max_length=32)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('failed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'outgoing_mail', 'app': 'community', 'indexes': [Index(fields=['sent_at', 'failed_at', 'next_attempt_at'])], 'pk_attr': 'id', 'table_description': 'The mail outbox: a message is written here in the transaction that causes it, and a sender'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RateEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(max_length=160)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'rate_event', 'app': 'community', 'indexes': [Index(fields=['key', 'at']), Index(fields=['at'])], 'pk_attr': 'id', 'table_description': 'One counted action (a post, a sign-up, a failed log-in) under a key, for the rate limits.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='ApiToken',
            name='expires_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='ApiToken',
            name='label',
            field=fields.CharField(default='', db_default='', max_length=60),
        ),
        ops.AddField(
            model_name='ApiToken',
            name='last_used_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='User',
            name='display_name',
            field=fields.CharField(default='', db_default='', max_length=80),
        ),
    ]
