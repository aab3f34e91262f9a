"""A Slack user as Council knows them across councils: their timezone and their working hours.

The timezone comes from Slack's `users.info` and is cached here; the hours are the person's own
(`/council me hours=08:00-16:00`), 09:00–18:00 in their timezone until they set them.
"""

from tortoise import fields
from tortoise.models import Model


class Person(Model):
    id = fields.IntField(primary_key=True)
    user_id = fields.CharField(max_length=32, unique=True)
    # An IANA name ("Europe/Berlin"), as users.info gives it; null until Slack has been asked.
    timezone = fields.CharField(max_length=64, null=True)
    timezone_checked_at = fields.DatetimeField(null=True)
    # "HH:MM" in the person's timezone; null means the default working day.
    work_start = fields.CharField(max_length=5, null=True)
    work_end = fields.CharField(max_length=5, null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "person"
