from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('community', '0009_accounts_uploads_badges')]

    initial = False

    operations = [
        ops.CreateModel(
            name='UserIdentity',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('community.User', source_field='user_id', db_constraint=True, to_field='id', related_name='identities', on_delete=OnDelete.CASCADE)),
                ('provider', fields.CharField(max_length=40)),
                ('subject', fields.CharField(max_length=255)),
                ('email', fields.CharField(default='', max_length=254)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'user_identity', 'app': 'community', 'unique_together': (('provider', 'subject'),), 'pk_attr': 'id', 'table_description': "A member's account at an OpenID Connect provider (community/oidc.py): a later sign-in finds the"},
            bases=['Model'],
        ),
    ]
