"""Tortoise models, one module per entity; Tortoise loads them from this package.

The models load on first use, not when the package is imported, so `models.enums` (the values the agent
API shares) imports without Tortoise: the agent client (`bot.client`) needs only aiohttp and pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from models.agent import Agent, ApiKey
    from models.audit import AuditCheckpoint, AuditEvent
    from models.council import Council
    from models.decision import Decision
    from models.digest_week import DigestWeek
    from models.escalation import Escalation
    from models.job_run import JobRun
    from models.member import Member
    from models.outbox import OutboxItem
    from models.person import Person
    from models.policy import Policy, Setting
    from models.pulse import PulseAnswer
    from models.storm import Storm
    from models.vote import Vote

# Each model and the module it lives in.
HOMES = {
    "Agent": "agent",
    "ApiKey": "agent",
    "AuditCheckpoint": "audit",
    "AuditEvent": "audit",
    "Council": "council",
    "Decision": "decision",
    "DigestWeek": "digest_week",
    "Escalation": "escalation",
    "JobRun": "job_run",
    "Member": "member",
    "OutboxItem": "outbox",
    "Person": "person",
    "Policy": "policy",
    "Setting": "policy",
    "PulseAnswer": "pulse",
    "Storm": "storm",
    "Vote": "vote",
}
__all__ = [
    "Agent",
    "ApiKey",
    "AuditCheckpoint",
    "AuditEvent",
    "Council",
    "Decision",
    "DigestWeek",
    "Escalation",
    "JobRun",
    "Member",
    "OutboxItem",
    "Person",
    "Policy",
    "PulseAnswer",
    "Setting",
    "Storm",
    "Vote",
]


def __getattr__(name: str) -> Any:
    # Tortoise discovers the app's models through `__models__`; every other name is one model.
    if name == "__models__":
        return [__getattr__(model) for model in HOMES]
    if name not in HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    model = getattr(importlib.import_module(f"{__name__}.{HOMES[name]}"), name)
    globals()[name] = model
    return model


def __dir__() -> list[str]:
    return sorted([*globals(), *HOMES])
