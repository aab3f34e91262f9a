"""A council: a Slack channel of members who decide what agents escalate."""

from tortoise import fields
from tortoise.models import Model


class Council(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=80, unique=True)
    channel_id = fields.CharField(max_length=32)
    timezone = fields.CharField(max_length=64, default="UTC")
    digest_day = fields.CharField(max_length=3, default="mon")
    digest_time = fields.CharField(max_length=5, default="09:00")
    created_at = fields.DatetimeField(auto_now_add=True)
    # Set when council.yml no longer lists the council: it routes nothing new; open escalations keep
    # their snapshot and finish where they started.
    retired_at = fields.DatetimeField(null=True)

    class Meta:
        table = "council"
