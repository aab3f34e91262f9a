"""Read what a person's App Home tab shows: their pending votes, incidents, recent votes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from bot.services.admin import is_admin
from models import Agent, Escalation, Vote
from models.enums import AgentStatus, Kind, Status

RECENT_VOTES = 5
MAX_INCIDENTS = 50


@dataclass(frozen=True)
class Awaiting:
    """A pending escalation the viewer is in the electorate of and has not voted on."""

    public_id: str
    title: str
    agent: str
    amount: Decimal | None = None
    currency: str | None = None
    deadline: datetime | None = None
    channel_id: str | None = None


@dataclass(frozen=True)
class OwnedIncident:
    """An open incident the viewer has taken ownership of."""

    public_id: str
    title: str
    agent: str
    status: str
    channel_id: str | None = None
    opened_at: datetime | None = None


@dataclass(frozen=True)
class RecentVote:
    """One of the viewer's votes, with where its escalation stands now."""

    public_id: str
    title: str
    choice: str
    reason: str | None
    status: str
    voted_at: datetime | None = None


@dataclass(frozen=True)
class PausedAgent:
    """A stopped agent, shown to admins."""

    name: str
    owner: str
    reason: str | None = None


@dataclass(frozen=True)
class HomeData:
    """Everything the viewer's Home tab shows; `paused` is None for anyone but an admin."""

    user: str
    awaiting: list[Awaiting] = field(default_factory=list)
    incidents: list[OwnedIncident] = field(default_factory=list)
    votes: list[RecentVote] = field(default_factory=list)
    paused: list[PausedAgent] | None = None


async def awaiting(user: str) -> list[Awaiting]:
    """Pending approvals whose frozen electorate seats the user and that they have not voted on."""
    pending = (
        await Escalation.filter(status=Status.PENDING).order_by("deadline", "id").select_related("agent")
    )
    # The electorate is a JSON list frozen on each escalation; read it here rather than rely on
    # JSON operators that differ between SQLite and PostgreSQL.
    seated = [e for e in pending if any(seat.get("user") == user for seat in e.electorate)]
    if not seated:
        return []
    voted = set(
        await Vote.filter(user_id=user, escalation_id__in=[e.id for e in seated]).values_list(
            "escalation_id", flat=True
        )
    )
    return [
        Awaiting(
            public_id=e.public_id,
            title=e.title,
            agent=e.agent.name,
            amount=e.amount,
            currency=e.currency,
            deadline=e.deadline,
            channel_id=e.channel_id,
        )
        for e in seated
        if e.id not in voted
    ]


async def for_user(user: str) -> HomeData:
    """Return what the user's Home tab shows; admins also see the paused agents."""
    incidents = (
        await Escalation.filter(
            kind=Kind.INCIDENT, owner_user_id=user, status__in=(Status.OPEN, Status.ACKNOWLEDGED)
        )
        .order_by("created_at", "id")
        .limit(MAX_INCIDENTS)
        .select_related("agent")
    )
    votes = (
        await Vote.filter(user_id=user)
        .order_by("-updated_at", "-id")
        .limit(RECENT_VOTES)
        .select_related("escalation")
    )
    paused = None
    if await is_admin(user):
        paused = [
            PausedAgent(name=a.name, owner=a.owner_user_id, reason=a.paused_reason)
            for a in await Agent.filter(status=AgentStatus.PAUSED).order_by("name")
        ]
    return HomeData(
        user=user,
        awaiting=await awaiting(user),
        incidents=[
            OwnedIncident(
                public_id=i.public_id,
                title=i.title,
                agent=i.agent.name,
                status=i.status,
                channel_id=i.channel_id,
                opened_at=i.created_at,
            )
            for i in incidents
        ],
        votes=[
            RecentVote(
                public_id=v.escalation.public_id,
                title=v.escalation.title,
                choice=v.choice,
                reason=v.reason,
                status=v.escalation.status,
                voted_at=v.updated_at,
            )
            for v in votes
        ],
        paused=paused,
    )
