from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('community', '0008_nudge_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='BadgeAward',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('community.User', source_field='user_id', db_constraint=True, to_field='id', related_name='badges', on_delete=OnDelete.CASCADE)),
                ('badge', fields.CharField(max_length=40)),
                ('ref', fields.CharField(default='', max_length=40)),
                ('awarded_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'badge_award', 'app': 'community', 'unique_together': (('user', 'badge', 'ref'),), 'pk_attr': 'id', 'table_description': 'A badge a member earned (community/badges.py holds the rules). `ref` tells apart the awards of'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Upload',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=80)),
                ('user', fields.ForeignKeyField('community.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name='uploads', on_delete=OnDelete.SET_NULL)),
                ('purpose', fields.CharField(default='post', max_length=10)),
                ('content_type', fields.CharField(max_length=20)),
                ('width', fields.IntField()),
                ('height', fields.IntField()),
                ('size', fields.IntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'upload', 'app': 'community', 'pk_attr': 'id', 'table_description': 'An image a member uploaded (a screenshot in a post, or an avatar), re-encoded and stored under'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='User',
            name='avatar',
            field=fields.CharField(default='', db_default='', max_length=80),
        ),
        ops.AddField(
            model_name='User',
            name='deleted_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='User',
            name='location',
            field=fields.CharField(default='', db_default='', max_length=100),
        ),
        ops.AddField(
            model_name='User',
            name='time_zone',
            field=fields.CharField(default='', db_default='', max_length=64),
        ),
    ]
