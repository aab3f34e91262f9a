"""The append-only, hash-chained audit trail of every state change."""

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.enums import ActorType


class AuditEvent(Model):
    id = fields.IntField(primary_key=True)
    at = fields.DatetimeField()
    actor_type = fields.CharEnumField(ActorType, max_length=16)
    actor_id = fields.CharField(max_length=80)
    action = fields.CharField(max_length=64)
    subject = fields.CharField(max_length=80, null=True, db_index=True)
    payload: dict = fields.JSONField(default=dict)
    # Unique, so two writers can never both extend the chain from the same row.
    prev_hash = fields.CharField(max_length=64, unique=True)
    hash = fields.CharField(max_length=64, unique=True)

    class Meta:
        table = "audit_event"
        # What an agent did in the last minute is what its rate limit counts; the digest counts one
        # action's events in a week.
        indexes = (Index(fields=("actor_id", "at")), Index(fields=("action", "at")))


class AuditCheckpoint(Model):
    """The chain's length and head hash at one moment, kept outside the chain's own table.

    Deleting the last events of the chain leaves a chain that verifies; a checkpoint it falls short
    of, or whose head it no longer holds, shows the truncation.
    """

    id = fields.IntField(primary_key=True)
    at = fields.DatetimeField()
    count = fields.IntField()
    head_hash = fields.CharField(max_length=64)

    class Meta:
        table = "audit_checkpoint"
