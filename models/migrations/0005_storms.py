from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0004_audit_by_actor')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Storm',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('agent', fields.ForeignKeyField('models.Agent', source_field='agent_id', db_constraint=True, to_field='id', related_name='storms', on_delete=OnDelete.CASCADE)),
                ('council', fields.ForeignKeyField('models.Council', source_field='council_id', null=True, db_constraint=True, to_field='id', related_name='storms', on_delete=OnDelete.CASCADE)),
                ('open_key', fields.CharField(null=True, unique=True, max_length=48)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('auto_paused_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('escalated_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('first_escalation_id', fields.IntField(null=True)),
                ('channel_id', fields.CharField(null=True, max_length=32)),
                ('message_ts', fields.CharField(null=True, max_length=32)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'storm', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Escalation',
            name='storm',
            field=fields.ForeignKeyField('models.Storm', source_field='storm_id', null=True, db_constraint=True, to_field='id', related_name='escalations', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddIndex(
            model_name='Escalation',
            index=Index(fields=['storm_id']),
        ),
    ]
