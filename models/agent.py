"""An AI agent allowed to escalate, with the human who answers for it and its API keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.enums import AgentStatus

if TYPE_CHECKING:
    from models.council import Council


class Agent(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=80, unique=True)
    owner_user_id = fields.CharField(max_length=32)
    council: fields.ForeignKeyNullableRelation[Council] = fields.ForeignKeyField(
        "models.Council", related_name="agents", null=True
    )
    council_id: int | None
    status = fields.CharEnumField(AgentStatus, max_length=16, default=AgentStatus.ACTIVE)
    paused_reason: str | None = fields.TextField(null=True)
    limits: dict = fields.JSONField(default=dict)
    # Random salt; the callback signing secret is derived from it and the server key, never stored.
    signing_salt = fields.CharField(max_length=64)
    # After a rotation, callbacks are signed with the old secret too until the grace period ends.
    previous_signing_salt = fields.CharField(max_length=64, null=True)
    previous_salt_until = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "agent"


class ApiKey(Model):
    """One API key of an agent, kept only as its SHA-256 (keys are 256-bit random)."""

    id = fields.IntField(primary_key=True)
    agent: fields.ForeignKeyRelation[Agent] = fields.ForeignKeyField("models.Agent", related_name="api_keys")
    agent_id: int
    prefix = fields.CharField(max_length=16)
    key_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_key"
