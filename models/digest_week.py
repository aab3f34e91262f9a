"""A council's digest figures for one week that is over, kept as computed.

The next week's digest compares with them instead of reading the week again: they are what last
week's digest said.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.council import Council


class DigestWeek(Model):
    id = fields.IntField(primary_key=True)
    council: fields.ForeignKeyRelation[Council] = fields.ForeignKeyField(
        "models.Council", related_name="digest_weeks"
    )
    council_id: int
    week = fields.CharField(max_length=8)
    figures: dict = fields.JSONField()
    computed_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "digest_week"
        unique_together = (("council", "week"),)
