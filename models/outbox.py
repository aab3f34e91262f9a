"""A side effect to deliver (Slack post/update/reply/DM, agent callback), written with its cause."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.enums import Delivery

if TYPE_CHECKING:
    from models.escalation import Escalation


class OutboxItem(Model):
    id = fields.IntField(primary_key=True)
    # The type of the event in `payload` (see bot.outbox.events).
    kind = fields.CharField(max_length=32)
    escalation: fields.ForeignKeyNullableRelation[Escalation] = fields.ForeignKeyField(
        "models.Escalation", related_name="outbox", null=True
    )
    escalation_id: int | None
    payload: dict = fields.JSONField(default=dict)
    status = fields.CharEnumField(Delivery, max_length=16, default=Delivery.PENDING, db_index=True)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(db_index=True)
    locked_until = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    done_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox"
        # The digest counts the reminders delivered in a week.
        indexes = (("kind", "done_at"),)
