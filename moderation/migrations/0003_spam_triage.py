from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('community', '0009_accounts_uploads_badges'), ('moderation', '0002_review_votes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SpamCheck',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('post', fields.ForeignKeyField('community.Post', source_field='post_id', db_constraint=True, to_field='id', related_name='spam_checks', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('community.User', source_field='author_id', null=True, db_constraint=True, to_field='id', related_name='spam_checks', on_delete=OnDelete.SET_NULL)),
                ('score', fields.FloatField()),
                ('reasons', fields.TextField(default='', unique=False)),
                ('held', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decision', fields.CharField(null=True, max_length=8)),
                ('decided_by', fields.ForeignKeyField('community.User', source_field='decided_by_id', null=True, db_constraint=True, to_field='id', related_name='spam_decisions', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'moderation_spam_check', 'app': 'moderation', 'pk_attr': 'id', 'table_description': "The spam triage's verdict on one post by a new member (or a big edit of one): its score, the"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SpamToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token', fields.CharField(unique=True, max_length=80)),
                ('spam', fields.IntField(default=0)),
                ('ham', fields.IntField(default=0)),
            ],
            options={'table': 'moderation_spam_token', 'app': 'moderation', 'pk_attr': 'id', 'table_description': "The naive Bayes model learned from moderators' decisions: how often a token (a word or a link"},
            bases=['Model'],
        ),
    ]
