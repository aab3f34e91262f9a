"""The values the database stores for statuses, kinds and roles: each set named once, as an enum."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """What an agent escalates."""

    APPROVAL = "approval"
    INCIDENT = "incident"
    NOTICE = "notice"


class Risk(StrEnum):
    """How risky the agent says its action is."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Status(StrEnum):
    """Where an escalation stands: approvals decide, incidents are owned and resolved, notices post."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    POSTED = "posted"


# Still waiting for people: a vote, or an incident's owner or resolution.
OPEN_STATUSES = (Status.PENDING, Status.OPEN, Status.ACKNOWLEDGED)
STATUS_ON_OPEN = {Kind.APPROVAL: Status.PENDING, Kind.INCIDENT: Status.OPEN, Kind.NOTICE: Status.POSTED}


class Outcome(StrEnum):
    """How a decision ended."""

    APPROVED = "approved"
    REJECTED = "rejected"


class DecidedBy(StrEnum):
    """Who decided: the council's vote, a policy, the deadline, the agent's owner or an admin."""

    COUNCIL = "council"
    POLICY = "policy"
    TIMEOUT = "timeout"
    OWNER = "owner"
    ADMIN = "admin"


class AgentStatus(StrEnum):
    """Whether an agent may escalate (paused is the kill switch)."""

    ACTIVE = "active"
    PAUSED = "paused"


class Role(StrEnum):
    """A member's role on their council."""

    MEMBER = "member"
    CHAIR = "chair"


class ActorType(StrEnum):
    """Who made a change the audit trail records."""

    AGENT = "agent"
    MEMBER = "member"
    ADMIN = "admin"
    SYSTEM = "system"


class Delivery(StrEnum):
    """An outbox row: waiting (or retrying), delivered, or given up on (dead) for an admin to see."""

    PENDING = "pending"
    DONE = "done"
    DEAD = "dead"
