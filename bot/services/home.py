"""Read what a person's App Home tab shows: their pending votes, incidents, councils' decisions, load.

Admins also see every agent and the outbox's dead deliveries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from tortoise.expressions import Q

from bot.governance.calendar import Week
from bot.governance.hours import WorkingHours
from bot.services import admin, deliveries, people
from bot.services import digest_queries as q
from bot.services.admin import AgentLine
from bot.services.deliveries import DeliveryLine
from bot.services.digest import outside_hours
from models import Decision, Escalation, Member, Vote
from models.enums import AgentStatus, Kind, Status

MAX_INCIDENTS = 50
RECENT_DECISIONS = 5
LATEST_DEAD = 3


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
    version: int = 1


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
class RecentDecision:
    """A decision of one of the viewer's councils, with the viewer's own vote on it if they cast one."""

    public_id: str
    title: str
    status: str  # approved | rejected | expired
    decided_by: str
    decided_at: datetime
    amount: Decimal | None = None
    currency: str | None = None
    your_choice: str | None = None


@dataclass(frozen=True)
class Load:
    """The viewer's week so far, counted as the digest counts it, in their own timezone."""

    week: str
    timezone: str
    hours: WorkingHours
    asked: int = 0
    voted: int = 0
    out_of_hours: int = 0
    reminders: int = 0


@dataclass(frozen=True)
class Oversight:
    """What only admins see: every agent (the paused first), and the deliveries given up on."""

    agents: list[AgentLine]
    dead: dict[str, int]  # by target: "slack", "agent"
    latest_dead: list[DeliveryLine]


@dataclass(frozen=True)
class HomeData:
    """Everything the viewer's Home tab shows; `oversight` is None for anyone but an admin."""

    user: str
    awaiting: list[Awaiting] = field(default_factory=list)
    incidents: list[OwnedIncident] = field(default_factory=list)
    incident_count: int = 0
    decisions: list[RecentDecision] = field(default_factory=list)
    load: Load | None = None  # None when the viewer sits on no council
    oversight: Oversight | None = None


async def awaiting(user: str, *, now: datetime | None = None) -> list[Awaiting]:
    """Pending approvals the user may still vote on, the soonest deadline first (none due last)."""
    now = now or datetime.now(UTC)
    pending = await Escalation.filter(status=Status.PENDING).select_related("agent")
    # The electorate is a JSON list frozen on each escalation; read it here rather than rely on
    # JSON operators that differ between SQLite and PostgreSQL. A passed deadline refuses votes.
    seated = [
        e
        for e in pending
        if (e.deadline is None or e.deadline > now) and any(seat.get("user") == user for seat in e.electorate)
    ]
    if not seated:
        return []
    voted = set(
        await Vote.filter(user_id=user, escalation_id__in=[e.id for e in seated]).values_list(
            "escalation_id", flat=True
        )
    )
    # Sorted here: SQLite and PostgreSQL order NULL deadlines at opposite ends.
    seated.sort(key=lambda e: (e.deadline is None, e.deadline or now, e.id))
    return [
        Awaiting(
            public_id=e.public_id,
            title=e.title,
            agent=e.agent.name,
            amount=e.amount,
            currency=e.currency,
            deadline=e.deadline,
            channel_id=e.channel_id,
            version=e.version,
        )
        for e in seated
        if e.id not in voted
    ]


async def incidents(user: str) -> tuple[list[OwnedIncident], int]:
    """The open incidents the user owns, the oldest first (at most MAX_INCIDENTS), and how many in all."""
    owned = Escalation.filter(
        kind=Kind.INCIDENT, owner_user_id=user, status__in=(Status.OPEN, Status.ACKNOWLEDGED)
    )
    rows = await owned.order_by("created_at", "id").limit(MAX_INCIDENTS).select_related("agent")
    found = [
        OwnedIncident(
            public_id=i.public_id,
            title=i.title,
            agent=i.agent.name,
            status=i.status,
            channel_id=i.channel_id,
            opened_at=i.created_at,
        )
        for i in rows
    ]
    return found, len(found) if len(found) < MAX_INCIDENTS else await owned.count()


async def _councils_of(user: str, *, active_only: bool) -> list[int]:
    """The councils the user sits on, or holds an away member's seat on as their delegate."""
    held = Q(delegate_user_id=user, away_until__isnull=False, active=True)
    seats = (
        Member.filter(Q(user_id=user, active=True) | held)
        if active_only
        else Member.filter(Q(user_id=user) | held)
    )
    return sorted({seat.council_id for seat in await seats})


async def recent_decisions(user: str) -> list[RecentDecision]:
    """The latest decisions of the councils the user sits on, newest first."""
    councils = await _councils_of(user, active_only=True)
    if not councils:
        return []
    rows = (
        await Decision.filter(escalation__council_id__in=councils)
        .order_by("-decided_at", "-id")
        .limit(RECENT_DECISIONS)
        .select_related("escalation")
    )
    return [
        RecentDecision(
            public_id=d.escalation.public_id,
            title=d.escalation.title,
            status=d.escalation.status,
            decided_by=d.decided_by,
            decided_at=d.decided_at,
            amount=d.escalation.amount,
            currency=d.escalation.currency,
            your_choice=next((str(v["choice"]) for v in d.votes if v.get("user") == user), None),
        )
        for d in rows
    ]


async def load(user: str, *, now: datetime | None = None) -> Load | None:
    """Votes asked of the user this week (their week, in their timezone), cast, and asked out of hours.

    The digest's own queries, over each council the user has a seat on (a seat left this week still
    counted its asks); None when the user has none.
    """
    councils = await _councils_of(user, active_only=False)
    if not councils:
        return None
    hours, tz = (await people.hours_for([user]))[user]
    week = Week.of(now or datetime.now(UTC), tz)
    db, span = q.Reader(), (week.start, week.end)
    asked = voted = outside = reminded = 0
    for council in councils:
        quarters = (await q.asks(db, council, *span)).get(user, {})
        asked += sum(quarters.values())
        outside += outside_hours(quarters, hours, tz)
        voted += (await q.votes(db, council, *span)).get(user, 0)
        reminded += (await q.reminders(db, council, *span)).get(user, 0)
    return Load(week.name, tz, hours, asked, voted, outside, reminded)


async def oversight() -> Oversight:
    """Every agent (the paused first, then by name) and the dead deliveries, the latest first."""
    agents = sorted(await admin.agents(), key=lambda a: (a.status != AgentStatus.PAUSED, a.name))
    latest = await deliveries.latest_dead(LATEST_DEAD)
    return Oversight(agents=agents, dead=await deliveries.dead_counts(), latest_dead=latest)


async def for_user(user: str, *, now: datetime | None = None) -> HomeData:
    """Return what the user's Home tab shows; admins also see the agents and the dead deliveries."""
    now = now or datetime.now(UTC)
    owned, incident_count = await incidents(user)
    return HomeData(
        user=user,
        awaiting=await awaiting(user, now=now),
        incidents=owned,
        incident_count=incident_count,
        decisions=await recent_decisions(user),
        load=await load(user, now=now),
        oversight=await oversight() if await admin.is_admin(user) else None,
    )
