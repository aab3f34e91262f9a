"""Tortoise models, one module per entity; Tortoise loads them from this package."""

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
