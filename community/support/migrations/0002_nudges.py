from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('community', '0006_idempotent_request_digest'), ('support', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Nudge',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('question', fields.OneToOneField('community.Post', source_field='question_id', db_constraint=True, to_field='id', related_name='nudge', on_delete=OnDelete.CASCADE)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('sla_due_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('recipients', fields.IntField(default=0)),
            ],
            options={'table': 'support_nudge', 'app': 'support', 'pk_attr': 'id', 'table_description': "The community's last chance: a question that waited a share of its SLA unanswered was shown to"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='NudgeRecipient',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('nudge', fields.ForeignKeyField('support.Nudge', source_field='nudge_id', db_constraint=True, to_field='id', related_name='sent_to', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('community.User', source_field='user_id', db_constraint=True, to_field='id', related_name='nudges', on_delete=OnDelete.CASCADE)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'support_nudge_recipient', 'app': 'support', 'indexes': [Index(fields=['user_id', 'at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
