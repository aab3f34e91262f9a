"""An escalation: what an agent asks of the council, with the rule and electorate frozen on it."""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from models.enums import Kind, Risk, Status

if TYPE_CHECKING:
    from models.agent import Agent
    from models.council import Council
    from models.storm import Storm


PUBLIC_ID = re.compile(r"esc_[0-9a-f]{20}")


def new_public_id() -> str:
    """Return a fresh public id, the `esc_…` that agents and Slack payloads carry."""
    return "esc_" + secrets.token_hex(10)


def is_public_id(text: str) -> bool:
    """Whether text has the shape of a public id (anything else cannot exist)."""
    return PUBLIC_ID.fullmatch(text) is not None


class Escalation(Model):
    id = fields.IntField(primary_key=True)
    public_id = fields.CharField(max_length=40, unique=True)
    agent: fields.ForeignKeyRelation[Agent] = fields.ForeignKeyField(
        "models.Agent", related_name="escalations"
    )
    agent_id: int
    idempotency_key = fields.CharField(max_length=255, null=True)
    request_hash = fields.CharField(max_length=64)
    kind = fields.CharEnumField(Kind, max_length=16)
    title = fields.CharField(max_length=200)
    summary = fields.TextField(default="")
    action: dict = fields.JSONField(default=dict)
    amount = fields.DecimalField(max_digits=20, decimal_places=4, null=True)
    currency = fields.CharField(max_length=3, null=True)
    category = fields.CharField(max_length=80, null=True)
    risk = fields.CharEnumField(Risk, max_length=16, null=True)
    context: dict = fields.JSONField(default=dict)
    links: list = fields.JSONField(default=list)
    callback_url = fields.CharField(max_length=2000, null=True)
    run_id = fields.CharField(max_length=200, null=True)
    call_id = fields.CharField(max_length=200, null=True)
    status = fields.CharEnumField(Status, max_length=16, db_index=True)
    council: fields.ForeignKeyNullableRelation[Council] = fields.ForeignKeyField(
        "models.Council", related_name="escalations", null=True
    )
    council_id: int | None
    policy_name = fields.CharField(max_length=80, null=True)
    route_reason = fields.TextField(null=True)
    rule: dict = fields.JSONField(default=dict)
    electorate: list = fields.JSONField(default=list)
    on_timeout = fields.CharField(max_length=16, default="reject")
    remind_at: list = fields.JSONField(default=list)
    reminders_sent = fields.IntField(default=0)
    extended = fields.BooleanField(default=False)
    channel_id = fields.CharField(max_length=32, null=True)
    message_ts = fields.CharField(max_length=32, null=True)
    deadline = fields.DatetimeField(null=True, db_index=True)
    version = fields.IntField(default=1)
    # What the agent reports actually ran (execution reports).
    executed_amount = fields.DecimalField(max_digits=20, decimal_places=4, null=True)
    execution: dict = fields.JSONField(null=True)
    # Incidents: who owns it, and how it ended.
    owner_user_id = fields.CharField(max_length=32, null=True)
    acknowledged_at = fields.DatetimeField(null=True)
    resolved_at = fields.DatetimeField(null=True)
    resolution: str | None = fields.TextField(null=True)
    related = fields.CharField(max_length=40, null=True)
    # Part of an agent's storm: no message of its own, shown in the storm's grouped message instead.
    storm: fields.ForeignKeyNullableRelation[Storm] = fields.ForeignKeyField(
        "models.Storm", related_name="escalations", null=True, on_delete=fields.SET_NULL
    )
    storm_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    # When it stopped waiting for people: decided, withdrawn, resolved (a notice, when posted).
    closed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "escalation"
        unique_together = (("agent", "idempotency_key"),)
        # A storm's message counts its escalations on every render; the digest reads a council's
        # week by when escalations opened and when they closed.
        indexes = (("storm_id",), ("council_id", "created_at"), ("council_id", "closed_at"))
