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
            name='Ticket',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('question', fields.OneToOneField('community.Post', source_field='question_id', db_constraint=True, to_field='id', related_name='support_ticket', on_delete=OnDelete.CASCADE)),
                ('state', fields.CharField(default='open', max_length=10)),
                ('source', fields.CharField(default='sla', max_length=10)),
                ('reason', fields.TextField(default='', unique=False)),
                ('escalated_by', fields.ForeignKeyField('community.User', source_field='escalated_by_id', null=True, db_constraint=True, to_field='id', related_name='tickets_escalated', on_delete=OnDelete.SET_NULL)),
                ('escalated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('sla_breached_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('due_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('assignee', fields.ForeignKeyField('community.User', source_field='assignee_id', null=True, db_constraint=True, to_field='id', related_name='tickets_assigned', on_delete=OnDelete.SET_NULL)),
                ('claimed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('claim_due_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('first_reply_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reply_due_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('community_answer_id', fields.IntField(null=True)),
                ('community_answer_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('resolution', fields.CharField(null=True, max_length=24)),
                ('resolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('resolved_by', fields.ForeignKeyField('community.User', source_field='resolved_by_id', null=True, db_constraint=True, to_field='id', related_name='tickets_resolved', on_delete=OnDelete.SET_NULL)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'support_ticket', 'app': 'support', 'indexes': [Index(fields=['state', 'due_at']), Index(fields=['assignee_id', 'state'])], 'pk_attr': 'id', 'table_description': 'One question handed to the support team. A question has at most one ticket, ever:'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TicketEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ticket', fields.ForeignKeyField('support.Ticket', source_field='ticket_id', db_constraint=True, to_field='id', related_name='history', on_delete=OnDelete.CASCADE)),
                ('actor', fields.ForeignKeyField('community.User', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name='ticket_events', on_delete=OnDelete.SET_NULL)),
                ('action', fields.CharField(max_length=24)),
                ('detail', fields.TextField(default='', unique=False)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'support_ticket_event', 'app': 'support', 'indexes': [Index(fields=['ticket_id', 'id'])], 'pk_attr': 'id', 'table_description': "The ticket's history: who did what, when (actor null: the system, e.g. the sweeper)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TicketNote',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ticket', fields.ForeignKeyField('support.Ticket', source_field='ticket_id', db_constraint=True, to_field='id', related_name='notes', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('community.User', source_field='author_id', null=True, db_constraint=True, to_field='id', related_name='ticket_notes', on_delete=OnDelete.SET_NULL)),
                ('body', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'support_ticket_note', 'app': 'support', 'pk_attr': 'id', 'table_description': 'An internal note between agents, which members never see.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event', fields.CharField(max_length=20)),
                ('ticket_id', fields.IntField()),
                ('payload', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'support_webhook_delivery', 'app': 'support', 'indexes': [Index(fields=['delivered_at', 'id'])], 'pk_attr': 'id', 'table_description': 'The helpdesk outbox: one ticket event to POST, kept until the receiver acknowledges it.'},
            bases=['Model'],
        ),
    ]
