from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('community', '0002_post_escalation_exempt')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='ReputationEvent',
            index=Index(fields=['day', 'user_id', 'amount']),
        ),
    ]
