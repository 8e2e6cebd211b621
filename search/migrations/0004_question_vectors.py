from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('search', '0003_postgres_fulltext')]

    initial = False

    operations = [
        ops.CreateModel(
            name='QuestionVector',
            fields=[
                ('question_id', fields.IntField(primary_key=True, unique=True, db_index=True, generated=False)),
                ('seq', fields.BigIntField(db_index=True)),
                ('model', fields.CharField(max_length=40)),
                ('digest', fields.CharField(default='', max_length=40)),
                ('vector', fields.BinaryField(null=True)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'search_vector', 'app': 'search', 'pk_attr': 'question_id', 'table_description': "A question's sentence embedding (its title and the start of its body), kept like the index."},
            bases=['Model'],
        ),
    ]
