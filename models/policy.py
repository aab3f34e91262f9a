"""A routing policy from council.yml; `position` keeps the file's order (first match wins)."""

from tortoise import fields
from tortoise.models import Model


class Policy(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=80, unique=True)
    position = fields.IntField()
    spec: dict = fields.JSONField()

    class Meta:
        table = "policy"
        ordering = ["position"]


class Setting(Model):
    """A deployment-wide value from council.yml (admins, the default route)."""

    key = fields.CharField(max_length=64, primary_key=True)
    value: dict | list = fields.JSONField()

    class Meta:
        table = "setting"
