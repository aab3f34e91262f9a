"""A council member: a Slack user with a function (people, technology, finance, …) and a role."""

from tortoise import fields
from tortoise.models import Model


class Member(Model):
    id = fields.IntField(primary_key=True)
    council = fields.ForeignKeyField("models.Council", related_name="members")
    user_id = fields.CharField(max_length=32)
    function = fields.CharField(max_length=64)
    role = fields.CharField(max_length=16, default="member")
    active = fields.BooleanField(default=True)
    delegate_user_id = fields.CharField(max_length=32, null=True)

    class Meta:
        table = "member"
        unique_together = (("council", "user_id"),)
