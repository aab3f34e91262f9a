from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_enums')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuditCheckpoint',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('count', fields.IntField()),
                ('head_hash', fields.CharField(max_length=64)),
            ],
            options={'table': 'audit_checkpoint', 'app': 'models', 'pk_attr': 'id', 'table_description': "The chain's length and head hash at one moment, kept outside the chain's own table."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Council',
            name='retired_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
