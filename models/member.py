"""A council member: a Slack user with a function (people, technology, finance, …) and a role."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.enums import Role

if TYPE_CHECKING:
    from models.council import Council


class Member(Model):
    id = fields.IntField(primary_key=True)
    council: fields.ForeignKeyRelation[Council] = fields.ForeignKeyField(
        "models.Council", related_name="members"
    )
    council_id: int
    user_id = fields.CharField(max_length=32)
    function = fields.CharField(max_length=64)
    role = fields.CharEnumField(Role, max_length=16, default=Role.MEMBER)
    active = fields.BooleanField(default=True)
    delegate_user_id = fields.CharField(max_length=32, null=True)
    # Away until the end of this day (the council's timezone): asks go to the delegate meanwhile.
    away_until = fields.DateField(null=True)

    class Meta:
        table = "member"
        unique_together = (("council", "user_id"),)
