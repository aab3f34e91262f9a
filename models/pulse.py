"""A member's answer to the weekly pulse: how sustainable their council load was, 1 to 5.

One answer per member, council and ISO week, changeable during that week; the digest reports
answers only in aggregate, and only when at least three members answered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.council import Council


class PulseAnswer(Model):
    id = fields.IntField(primary_key=True)
    council: fields.ForeignKeyRelation[Council] = fields.ForeignKeyField(
        "models.Council", related_name="pulse_answers"
    )
    council_id: int
    user_id = fields.CharField(max_length=32)
    # The ISO week in the council's timezone, "2026-W49".
    week = fields.CharField(max_length=8)
    score = fields.SmallIntField()
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "pulse_answer"
        unique_together = (("council", "user_id", "week"),)
