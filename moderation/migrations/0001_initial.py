from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('community', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor', fields.ForeignKeyField('community.User', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name='audit_entries', on_delete=OnDelete.SET_NULL)),
                ('action', fields.CharField(db_index=True, max_length=24)),
                ('post_id', fields.IntField(null=True, db_index=True)),
                ('user_id', fields.IntField(null=True, db_index=True)),
                ('reason', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'moderation_audit_entry', 'app': 'moderation', 'pk_attr': 'id', 'table_description': 'Who did what to which post or member, when and why. Never updated.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CloseVote',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('question', fields.ForeignKeyField('community.Post', source_field='question_id', db_constraint=True, to_field='id', related_name='close_votes', on_delete=OnDelete.CASCADE)),
                ('voter', fields.ForeignKeyField('community.User', source_field='voter_id', db_constraint=True, to_field='id', related_name='close_votes', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=8)),
                ('reason', fields.CharField(null=True, max_length=20)),
                ('duplicate_of_id', fields.IntField(null=True)),
                ('active_key', fields.CharField(null=True, unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'moderation_close_vote', 'app': 'moderation', 'indexes': [Index(fields=['question_id', 'kind'])], 'pk_attr': 'id', 'table_description': 'A vote to close or reopen a question (active_key is unique while the vote counts).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Flag',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('post', fields.ForeignKeyField('community.Post', source_field='post_id', db_constraint=True, to_field='id', related_name='flags', on_delete=OnDelete.CASCADE)),
                ('flagger', fields.ForeignKeyField('community.User', source_field='flagger_id', db_constraint=True, to_field='id', related_name='flags_raised', on_delete=OnDelete.CASCADE)),
                ('reason', fields.CharField(max_length=12)),
                ('message', fields.TextField(default='', unique=False)),
                ('weight', fields.IntField()),
                ('status', fields.CharField(default='pending', max_length=10)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'moderation_flag', 'app': 'moderation', 'unique_together': (('post', 'flagger'),), 'indexes': [Index(fields=['flagger_id', 'status']), Index(fields=['post_id', 'status'])], 'pk_attr': 'id', 'table_description': 'A flag raised by one member on one post, weighted when it is raised.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Revision',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('post', fields.ForeignKeyField('community.Post', source_field='post_id', db_constraint=True, to_field='id', related_name='revisions', on_delete=OnDelete.CASCADE)),
                ('number', fields.IntField()),
                ('title', fields.CharField(default='', max_length=300)),
                ('body', fields.TextField(unique=False)),
                ('tags', fields.CharField(default='', max_length=200)),
                ('comment', fields.CharField(default='', max_length=300)),
                ('editor', fields.ForeignKeyField('community.User', source_field='editor_id', null=True, db_constraint=True, to_field='id', related_name='revisions', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'moderation_revision', 'app': 'moderation', 'unique_together': (('post', 'number'),), 'pk_attr': 'id', 'table_description': 'A post as it stood after an edit (revision 1, the original, is stored at the first edit).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SuggestedEdit',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('post', fields.ForeignKeyField('community.Post', source_field='post_id', db_constraint=True, to_field='id', related_name='suggested_edits', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('community.User', source_field='author_id', db_constraint=True, to_field='id', related_name='suggested_edits', on_delete=OnDelete.CASCADE)),
                ('title', fields.CharField(null=True, max_length=300)),
                ('body', fields.TextField(null=True, unique=False)),
                ('tags', fields.CharField(null=True, max_length=200)),
                ('comment', fields.CharField(default='', max_length=300)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'moderation_suggested_edit', 'app': 'moderation', 'pk_attr': 'id', 'table_description': 'An edit by a member without the edit privilege, waiting in the review queue.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReviewItem',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('queue', fields.CharField(max_length=16)),
                ('post', fields.ForeignKeyField('community.Post', source_field='post_id', db_constraint=True, to_field='id', related_name='review_items', on_delete=OnDelete.CASCADE)),
                ('suggested_edit', fields.ForeignKeyField('moderation.SuggestedEdit', source_field='suggested_edit_id', null=True, db_constraint=True, to_field='id', related_name='review_items', on_delete=OnDelete.CASCADE)),
                ('note', fields.CharField(default='', max_length=300)),
                ('open_key', fields.CharField(null=True, unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decided_by', fields.ForeignKeyField('community.User', source_field='decided_by_id', null=True, db_constraint=True, to_field='id', related_name='review_decisions', on_delete=OnDelete.SET_NULL)),
                ('decision', fields.CharField(null=True, max_length=16)),
            ],
            options={'table': 'moderation_review_item', 'app': 'moderation', 'indexes': [Index(fields=['queue', 'decided_at', 'created_at'])], 'pk_attr': 'id', 'table_description': 'One thing waiting for a reviewer, decided once (open_key is unique while it waits).'},
            bases=['Model'],
        ),
    ]
