"""A storm: one agent's flood of escalations, grouped into one message in the council channel."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.agent import Agent
    from models.council import Council


class Storm(Model):
    id = fields.IntField(primary_key=True)
    agent: fields.ForeignKeyRelation[Agent] = fields.ForeignKeyField("models.Agent", related_name="storms")
    agent_id: int
    council: fields.ForeignKeyNullableRelation[Council] = fields.ForeignKeyField(
        "models.Council", related_name="storms", null=True
    )
    council_id: int | None
    # "agent id:council id" while the storm is open, None once it has ended: at most one open storm per
    # agent and council, held by the database, so two replicas cannot each start one.
    open_key = fields.CharField(max_length=48, null=True, unique=True)
    started_at = fields.DatetimeField()
    last_at = fields.DatetimeField()
    ended_at = fields.DatetimeField(null=True, db_index=True)
    # When Council paused the agent itself (auto_pause_after).
    auto_paused_at = fields.DatetimeField(null=True)
    # When its first escalation timed out to `on_timeout: escalate`: the chairs and owner are told once.
    escalated_at = fields.DatetimeField(null=True)
    # The escalation that started it: the storm's outbox rows ride on it, so the worker delivers
    # them one at a time and in order, as it does any escalation's (no FK: the two tables point at
    # each other).
    first_escalation_id = fields.IntField(null=True)
    channel_id = fields.CharField(max_length=32, null=True)
    message_ts = fields.CharField(max_length=32, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "storm"
