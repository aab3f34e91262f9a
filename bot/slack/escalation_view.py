"""What an escalation's Slack message shows, as plain data read by the delivery worker."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.governance import Choice
from models.enums import Kind, Status

# The one place each label is written: the buttons, the tally, the voter's confirmation.
CHOICE_LABEL: dict[str, str] = {
    Choice.APPROVE: "Approve",
    Choice.REJECT: "Reject",
    Choice.ABSTAIN: "Abstain",
    Choice.RECUSE: "Recuse",
}
KIND_LABEL: dict[str, str] = {
    Kind.APPROVAL: "Approval needed",
    Kind.INCIDENT: "Incident",
    Kind.NOTICE: "Notice",
}
OUTCOME_LINE: dict[str, str] = {
    Status.APPROVED: ":white_check_mark: *Approved*",
    Status.REJECTED: ":x: *Rejected*",
    Status.EXPIRED: ":hourglass: *Expired*",
}


@dataclass(frozen=True)
class VoteLine:
    user: str
    function: str
    choice: str
    reason: str | None
    conditions: str | None = None
    approved_amount: Decimal | None = None
    # A delegate's vote: the away member whose seat it was cast in.
    on_behalf_of: str | None = None


@dataclass(frozen=True)
class EscalationView:
    """Everything the message shows, read from the database by the delivery worker."""

    public_id: str
    kind: str
    status: str
    title: str
    summary: str
    agent: str
    owner: str
    amount: Decimal | None = None
    currency: str | None = None
    action_type: str | None = None
    target: str | None = None
    risk: str | None = None
    category: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    links: list[dict[str, str]] = field(default_factory=list)
    deadline: datetime | None = None
    rule: str | None = None
    policy: str | None = None
    route_reason: str | None = None
    electorate: list[str] = field(default_factory=list)
    votes: list[VoteLine] = field(default_factory=list)
    outcome: str | None = None
    decided_by: str | None = None
    reasons: list[str] = field(default_factory=list)
    conditions: str | None = None
    approved_amount: Decimal | None = None
    incident_owner: str | None = None
    resolution: str | None = None
    execution: dict[str, Any] | None = None
    version: int = 1
