"""The decision on an escalation: who decided, the tally, everyone's reasons."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.enums import DecidedBy, Outcome

if TYPE_CHECKING:
    from models.escalation import Escalation


class Decision(Model):
    id = fields.IntField(primary_key=True)
    escalation: fields.OneToOneRelation[Escalation] = fields.OneToOneField(
        "models.Escalation", related_name="decision"
    )
    escalation_id: int
    outcome = fields.CharEnumField(Outcome, max_length=16)
    decided_by = fields.CharEnumField(DecidedBy, max_length=16)
    reasons: list = fields.JSONField(default=list)
    tally: dict = fields.JSONField(default=dict)
    votes: list = fields.JSONField(default=list)
    conditions = fields.TextField(null=True)
    approved_amount = fields.DecimalField(max_digits=20, decimal_places=4, null=True)
    decided_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "decision"
