from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0006_digest')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DigestWeek',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('council', fields.ForeignKeyField('models.Council', source_field='council_id', db_constraint=True, to_field='id', related_name='digest_weeks', on_delete=OnDelete.CASCADE)),
                ('week', fields.CharField(max_length=8)),
                ('figures', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('computed_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'digest_week', 'app': 'models', 'unique_together': (('council', 'week'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
