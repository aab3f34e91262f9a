from tortoise import migrations
from tortoise.migrations import operations as ops
from models.enums import ActorType, AgentStatus, DecidedBy, Delivery, Kind, Outcome, Risk, Role, Status
from tortoise import fields

# Outbox rows written by 0.1 named a Slack effect; from here on they name the event (bot.outbox.events).
# Rows whose event is known move over; free-text notices of 0.1 have no event, so they are parked as
# dead with a reason an admin can read, rather than waiting forever unseen.
LEGACY_OUTBOX = [
    "UPDATE outbox SET kind = 'escalation.opened' WHERE kind = 'slack.post_escalation'",
    "UPDATE outbox SET kind = 'escalation.tally' WHERE kind = 'slack.update_escalation'",
    "UPDATE outbox SET kind = 'escalation.decided', payload = '{}' "
    "WHERE kind = 'slack.thread_reply' AND payload = '{\"event\":\"decided\"}'",
    "UPDATE outbox SET status = 'dead', last_error = 'a notice written by Council 0.1, not re-sent' "
    "WHERE status = 'pending' AND kind IN ('slack.thread_reply', 'slack.dm')",
]


class EnumOverSameColumn(ops.AlterField):
    """Read a VARCHAR column as an enum: the column stays as it is, so the table is not touched.

    On SQLite a real AlterField rebuilds the table, and Tortoise 1.1's rebuild drops its unique
    constraints and indexes (one vote per member, one escalation per idempotency key) with it.
    """

    async def database_forward(self, *args: object, **kwargs: object) -> None:
        return None

    async def database_backward(self, *args: object, **kwargs: object) -> None:
        return None


class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        EnumOverSameColumn(
            model_name='Agent',
            name='status',
            field=fields.CharEnumField(default=AgentStatus.ACTIVE, description='ACTIVE: active\nPAUSED: paused', enum_type=AgentStatus, max_length=16),
        ),
        EnumOverSameColumn(
            model_name='AuditEvent',
            name='actor_type',
            field=fields.CharEnumField(description='AGENT: agent\nMEMBER: member\nADMIN: admin\nSYSTEM: system', enum_type=ActorType, max_length=16),
        ),
        EnumOverSameColumn(
            model_name='Decision',
            name='decided_by',
            field=fields.CharEnumField(description='COUNCIL: council\nPOLICY: policy\nTIMEOUT: timeout\nOWNER: owner\nADMIN: admin', enum_type=DecidedBy, max_length=16),
        ),
        EnumOverSameColumn(
            model_name='Decision',
            name='outcome',
            field=fields.CharEnumField(description='APPROVED: approved\nREJECTED: rejected', enum_type=Outcome, max_length=16),
        ),
        EnumOverSameColumn(
            model_name='Escalation',
            name='kind',
            field=fields.CharEnumField(description='APPROVAL: approval\nINCIDENT: incident\nNOTICE: notice', enum_type=Kind, max_length=16),
        ),
        EnumOverSameColumn(
            model_name='Escalation',
            name='risk',
            field=fields.CharEnumField(null=True, description='LOW: low\nMEDIUM: medium\nHIGH: high\nCRITICAL: critical', enum_type=Risk, max_length=16),
        ),
        EnumOverSameColumn(
            model_name='Escalation',
            name='status',
            field=fields.CharEnumField(db_index=True, description='PENDING: pending\nAPPROVED: approved\nREJECTED: rejected\nEXPIRED: expired\nWITHDRAWN: withdrawn\nOPEN: open\nACKNOWLEDGED: acknowledged\nRESOLVED: resolved\nPOSTED: posted', enum_type=Status, max_length=16),
        ),
        EnumOverSameColumn(
            model_name='Member',
            name='role',
            field=fields.CharEnumField(default=Role.MEMBER, description='MEMBER: member\nCHAIR: chair', enum_type=Role, max_length=16),
        ),
        EnumOverSameColumn(
            model_name='OutboxItem',
            name='status',
            field=fields.CharEnumField(default=Delivery.PENDING, db_index=True, description='PENDING: pending\nDONE: done\nDEAD: dead', enum_type=Delivery, max_length=16),
        ),
        ops.RunSQL(LEGACY_OUTBOX),
    ]
