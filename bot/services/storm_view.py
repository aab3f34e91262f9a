"""What a storm's grouped message shows, counted from its escalations as they stand now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tortoise.functions import Count, Sum

from models import Agent, Decision, Escalation, Storm
from models.enums import AgentStatus, DecidedBy, Outcome, Status


@dataclass(frozen=True)
class StormView:
    """One storm as plain data: who, since when, how much was asked, and where each escalation stands."""

    storm_id: int
    agent: str
    owner: str
    agent_paused: bool
    channel_id: str | None
    started_at: datetime
    last_at: datetime
    ended_at: datetime | None
    auto_paused_at: datetime | None
    escalations: int
    requested: Decimal
    # One currency for the whole storm, or None when none or several were asked for.
    currency: str | None
    mixed_currencies: bool
    auto_approved: int
    auto_approved_amount: Decimal
    waiting: int
    approved: int
    rejected: int
    expired: int
    withdrawn: int


async def load(storm_id: int) -> StormView:
    """Read the storm and count its escalations by where they stand."""
    storm = await Storm.get(id=storm_id)
    agent = await Agent.get(id=storm.agent_id)
    rows = (
        await Escalation.filter(storm_id=storm_id)
        .annotate(n=Count("id"), total=Sum("amount"))
        .group_by("status")
        .values("status", "n", "total")
    )
    by_status = {str(row["status"]): int(row["n"]) for row in rows}
    requested = sum((Decimal(str(row["total"])) for row in rows if row["total"] is not None), Decimal(0))
    currencies = set(
        await Escalation.filter(storm_id=storm_id, currency__isnull=False)
        .distinct()
        .values_list("currency", flat=True)
    )
    auto = await Decision.filter(
        escalation__storm_id=storm_id, decided_by=DecidedBy.POLICY, outcome=Outcome.APPROVED
    ).values_list("approved_amount", flat=True)
    return StormView(
        storm_id=storm.id,
        agent=agent.name,
        owner=agent.owner_user_id,
        agent_paused=agent.status == AgentStatus.PAUSED,
        channel_id=storm.channel_id,
        started_at=storm.started_at,
        last_at=storm.last_at,
        ended_at=storm.ended_at,
        auto_paused_at=storm.auto_paused_at,
        escalations=sum(by_status.values()),
        requested=requested,
        currency=str(next(iter(currencies))) if len(currencies) == 1 else None,
        mixed_currencies=len(currencies) > 1,
        auto_approved=len(auto),
        auto_approved_amount=sum((Decimal(a) for a in auto if a is not None), Decimal(0)),
        waiting=by_status.get(Status.PENDING, 0),
        approved=by_status.get(Status.APPROVED, 0) - len(auto),
        rejected=by_status.get(Status.REJECTED, 0),
        expired=by_status.get(Status.EXPIRED, 0),
        withdrawn=by_status.get(Status.WITHDRAWN, 0),
    )
