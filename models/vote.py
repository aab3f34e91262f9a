"""A member's vote on an escalation: one per member, changeable until the escalation closes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.escalation import Escalation


class Vote(Model):
    id = fields.IntField(primary_key=True)
    escalation: fields.ForeignKeyRelation[Escalation] = fields.ForeignKeyField(
        "models.Escalation", related_name="votes"
    )
    escalation_id: int
    user_id = fields.CharField(max_length=32)
    function = fields.CharField(max_length=64)
    # A delegate's vote in an away member's seat: the member (`function` is theirs).
    on_behalf_of = fields.CharField(max_length=32, null=True)
    choice = fields.CharField(max_length=16)
    reason = fields.TextField(null=True)
    # "Approve with conditions": what the member requires, and the most they approve.
    conditions = fields.TextField(null=True)
    approved_amount = fields.DecimalField(max_digits=20, decimal_places=4, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "vote"
        unique_together = (("escalation", "user_id"),)
