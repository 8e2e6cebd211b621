from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('community', '0005_sessions_limits_outbox'), ('moderation', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ReviewVote',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('item', fields.ForeignKeyField('moderation.ReviewItem', source_field='item_id', db_constraint=True, to_field='id', related_name='votes', on_delete=OnDelete.CASCADE)),
                ('reviewer', fields.ForeignKeyField('community.User', source_field='reviewer_id', db_constraint=True, to_field='id', related_name='review_votes', on_delete=OnDelete.CASCADE)),
                ('decision', fields.CharField(max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'moderation_review_vote', 'app': 'moderation', 'unique_together': (('item', 'reviewer'),), 'pk_attr': 'id', 'table_description': "A non-moderator reviewer's vote to remove a post (spam, rude, delete), waiting for a second reviewer."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='ReviewItem',
            name='needs_moderator',
            field=fields.BooleanField(default=False),
        ),
    ]
