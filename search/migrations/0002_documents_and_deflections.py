from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('search', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DeflectionEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=24)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('user_id', fields.IntField(null=True)),
                ('question_id', fields.IntField(null=True)),
                ('search_id', fields.BigIntField(null=True)),
                ('query', fields.CharField(default='', max_length=200)),
                ('result_count', fields.IntField(null=True)),
                ('solved', fields.BooleanField(default=False)),
                ('ref', fields.CharField(default='', max_length=64)),
            ],
            options={'table': 'search_deflection_event', 'app': 'search', 'indexes': [Index(fields=['kind', 'created_at'])], 'pk_attr': 'id', 'table_description': 'One event that shows whether search found the answer before a question was asked.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SearchDocument',
            fields=[
                ('question_id', fields.IntField(primary_key=True, unique=True, db_index=True, generated=False)),
                ('title', fields.CharField(max_length=300)),
                ('excerpt', fields.TextField(unique=False)),
                ('tags', fields.CharField(default='', max_length=200)),
                ('people', fields.TextField(default='', unique=False)),
                ('state', fields.CharField(max_length=12)),
                ('score', fields.IntField()),
                ('answer_count', fields.IntField()),
                ('quality', fields.FloatField(default=1.0)),
                ('created_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'search_document', 'app': 'search', 'pk_attr': 'question_id', 'table_description': 'A thread as PostgreSQL full-text search sees it (SEARCH_BACKEND=postgres).'},
            bases=['Model'],
        ),
    ]
