from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('community', '0006_idempotent_request_digest')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DigestRun',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=8)),
                ('period', fields.CharField(max_length=10)),
                ('since', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('until', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('cursor', fields.IntField(default=0)),
                ('sent', fields.IntField(default=0)),
            ],
            options={'table': 'digest_run', 'app': 'community', 'unique_together': (('kind', 'period'),), 'pk_attr': 'id', 'table_description': 'One daily or weekly digest: members are mailed in id order and the cursor moves in the same'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='NotificationPreference',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('community.User', source_field='user_id', db_constraint=True, to_field='id', related_name='notification_preferences', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=32)),
                ('delivery', fields.CharField(max_length=8)),
            ],
            options={'table': 'notification_preference', 'app': 'community', 'unique_together': (('user', 'kind'),), 'pk_attr': 'id', 'table_description': 'How a member wants one kind of notification mailed, where it differs from the default.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='QuestionWatch',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('community.User', source_field='user_id', db_constraint=True, to_field='id', related_name='question_watches', on_delete=OnDelete.CASCADE)),
                ('question', fields.ForeignKeyField('community.Post', source_field='question_id', db_constraint=True, to_field='id', related_name='watches', on_delete=OnDelete.CASCADE)),
                ('active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'question_watch', 'app': 'community', 'unique_together': (('user', 'question'),), 'indexes': [Index(fields=['question_id', 'active'])], 'pk_attr': 'id', 'table_description': 'A member watches a question (asked, answered, commented, or the button). `active` false: they'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TagWatch',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('community.User', source_field='user_id', db_constraint=True, to_field='id', related_name='tag_watches', on_delete=OnDelete.CASCADE)),
                ('tag', fields.ForeignKeyField('community.Tag', source_field='tag_id', db_constraint=True, to_field='id', related_name='watches', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'tag_watch', 'app': 'community', 'unique_together': (('user', 'tag'),), 'indexes': [Index(fields=['tag_id', 'user_id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AlterModelOptions(
            name='Notification',
            options={'table': 'notification', 'app': 'community', 'indexes': [Index(fields=['user_id', 'read_at']), Index(fields=['mail_due_at']), Index(fields=['user_id', 'question_id', 'mailed_at']), Index(fields=['digest', 'user_id'])], 'pk_attr': 'id', 'table_description': "An inbox entry, and (per the member's preference for its kind) a mail at once or a line in a digest."},
        ),
        ops.AddField(
            model_name='Notification',
            name='actor_id',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Notification',
            name='comment_id',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Notification',
            name='digest',
            field=fields.CharField(default='', db_default='', max_length=8),
        ),
        ops.AddField(
            model_name='Notification',
            name='digested_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Notification',
            name='mail_due_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Notification',
            name='mailed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Notification',
            name='post_id',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Notification',
            name='question_id',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Notification',
            name='reason',
            field=fields.CharField(default='', db_default='', max_length=120),
        ),
        ops.AddIndex(
            model_name='Notification',
            index=Index(fields=['mail_due_at']),
        ),
        ops.AddIndex(
            model_name='Notification',
            index=Index(fields=['user_id', 'question_id', 'mailed_at']),
        ),
        ops.AddIndex(
            model_name='Notification',
            index=Index(fields=['digest', 'user_id']),
        ),
        ops.AddField(
            model_name='OutgoingMail',
            name='body_html',
            field=fields.TextField(default='', db_default='', unique=False),
        ),
        ops.AddField(
            model_name='OutgoingMail',
            name='headers',
            field=fields.TextField(default='', db_default='', unique=False),
        ),
        ops.AddField(
            model_name='OutgoingMail',
            name='user_id',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='User',
            name='email_bounce_reason',
            field=fields.TextField(default='', db_default='', unique=False),
        ),
        ops.AddField(
            model_name='User',
            name='email_bouncing_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='User',
            name='email_confirmed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='User',
            name='pending_email',
            field=fields.CharField(default='', db_default='', max_length=254),
        ),
    ]
