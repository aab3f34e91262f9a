"""A member's vote on an escalation: one per member, changeable until the escalation closes."""

from tortoise import fields
from tortoise.models import Model


class Vote(Model):
    id = fields.IntField(primary_key=True)
    escalation = fields.ForeignKeyField("models.Escalation", related_name="votes")
    user_id = fields.CharField(max_length=32)
    function = fields.CharField(max_length=64)
    choice = fields.CharField(max_length=16)
    reason = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "vote"
        unique_together = (("escalation", "user_id"),)
