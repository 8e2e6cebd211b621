from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('community', '0005_sessions_limits_outbox')]

    initial = False

    operations = [
        ops.AddField(
            model_name='IdempotentResponse',
            name='request_digest',
            field=fields.CharField(default='', db_default='', max_length=64),
        ),
    ]
