from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

# Escalations closed before this migration: decided ones when decided, withdrawn and resolved ones
# when they were, notices when posted. Portable SQL, the same on SQLite and PostgreSQL.
CLOSED_BEFORE = """
UPDATE escalation SET closed_at = COALESCE(
    (SELECT decision.decided_at FROM decision WHERE decision.escalation_id = escalation.id),
    CASE WHEN status IN ('withdrawn', 'resolved') THEN resolved_at END,
    CASE WHEN status = 'posted' THEN created_at END
)
WHERE closed_at IS NULL
"""


class Migration(migrations.Migration):
    dependencies = [('models', '0005_storms')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Person',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user_id', fields.CharField(unique=True, max_length=32)),
                ('timezone', fields.CharField(null=True, max_length=64)),
                ('timezone_checked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('work_start', fields.CharField(null=True, max_length=5)),
                ('work_end', fields.CharField(null=True, max_length=5)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'person', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PulseAnswer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('council', fields.ForeignKeyField('models.Council', source_field='council_id', db_constraint=True, to_field='id', related_name='pulse_answers', on_delete=OnDelete.CASCADE)),
                ('user_id', fields.CharField(max_length=32)),
                ('week', fields.CharField(max_length=8)),
                ('score', fields.SmallIntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'pulse_answer', 'app': 'models', 'unique_together': (('council', 'user_id', 'week'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Escalation',
            name='closed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name='Escalation',
            index=Index(fields=['council_id', 'created_at']),
        ),
        ops.AddIndex(
            model_name='Escalation',
            index=Index(fields=['council_id', 'closed_at']),
        ),
        ops.AddIndex(
            model_name='AuditEvent',
            index=Index(fields=['action', 'at']),
        ),
        ops.AddIndex(
            model_name='OutboxItem',
            index=Index(fields=['kind', 'done_at']),
        ),
        ops.RunSQL(CLOSED_BEFORE),
    ]
