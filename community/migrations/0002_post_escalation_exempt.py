from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('community', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Post',
            name='escalation_exempt',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddIndex(
            model_name='Post',
            index=Index(fields=['question_id', 'created_at']),
        ),
    ]
