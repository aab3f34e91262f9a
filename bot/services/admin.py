"""What admins and members ask of `/council`: who is an admin, and the state the answers show."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import yaml

from bot.council_file import is_name
from bot.errors import NotAnAdmin, NotFound
from bot.services import config, deliveries, storm_view
from bot.services.storm_view import StormView
from models import Agent, Council, Escalation, Member, Setting, Storm
from models.enums import Role, Status

SOONEST = 10


@dataclass(frozen=True)
class Pending:
    """An approval waiting for the council."""

    public_id: str
    title: str
    deadline: datetime | None


@dataclass(frozen=True)
class Waiting:
    """What waits for the council: pending approvals (the soonest due), open incidents, dead deliveries."""

    approvals: int
    incidents: int
    soonest: list[Pending]
    # Deliveries given up on, by target ("slack", "agent"): nobody hears of them until one is retried.
    dead: dict[str, int]
    # Storms still open, the oldest first: each is one grouped message in its council's channel.
    storms: list[StormView] = field(default_factory=list)


@dataclass(frozen=True)
class AgentLine:
    """An agent with the human who answers for it."""

    name: str
    owner: str
    status: str
    paused_reason: str | None


@dataclass(frozen=True)
class Seat:
    """A member's seat on a council."""

    user: str
    function: str
    role: str
    active: bool
    delegate: str | None
    away_until: date | None = None


@dataclass(frozen=True)
class Seats:
    """A council and its members, the active first."""

    name: str
    channel_id: str
    seats: list[Seat]


async def is_admin(user: str) -> bool:
    """Whether the user is listed under `admins` in council.yml."""
    row = await Setting.filter(key="admins").first()
    return bool(row and isinstance(row.value, list) and user in row.value)


async def admin_ids() -> list[str]:
    """The admins council.yml lists, in its order."""
    row = await Setting.filter(key="admins").first()
    return [str(user) for user in row.value] if row and isinstance(row.value, list) else []


async def require_admin(user: str) -> None:
    """Refuse anyone who is not an admin."""
    if not await is_admin(user):
        raise NotAnAdmin(refusal(await admin_ids(), None, []))


async def chairs(council: str) -> list[str]:
    """The active chairs of a council, in their seating order."""
    seats = Member.filter(council__name=council, council__retired_at=None, role=Role.CHAIR, active=True)
    return [str(user) for user in await seats.order_by("id").values_list("user_id", flat=True)]


async def may_change(user: str, council: str | None) -> bool:
    """Admins may change anything; a chair may change their own council (`council` named)."""
    if await is_admin(user):
        return True
    return council is not None and user in await chairs(council)


async def require_change(user: str, council: str | None) -> None:
    """Refuse anyone who may not change this council (or, with None, what only admins change)."""
    if not await may_change(user, council):
        raise NotAnAdmin(refusal(await admin_ids(), council, await chairs(council) if council else []))


def refusal(admins: list[str], council: str | None, chairs: list[str]) -> str:
    """Who can do it instead, by mention: the admins, and the council's chairs when they may."""
    people = " ".join(f"<@{user}>" for user in admins) or "nobody yet (add `admins` to council.yml)"
    text = f"Only Council admins can do that: {people}."
    if council is not None:
        seated = " ".join(f"<@{user}>" for user in chairs) or "none"
        text = f"Only Council admins ({people}) or a chair of {council} ({seated}) can do that."
    return text


async def waiting() -> Waiting:
    """Pending approvals (the soonest due first), open incidents, dead deliveries and open storms."""
    pending = Escalation.filter(status=Status.PENDING)
    open_storms = await Storm.filter(ended_at__isnull=True).order_by("started_at", "id").limit(SOONEST)
    incidents = await Escalation.filter(status__in=(Status.OPEN, Status.ACKNOWLEDGED)).count()
    soonest = await pending.order_by("deadline", "id").limit(SOONEST)
    return Waiting(
        approvals=await pending.count(),
        incidents=incidents,
        soonest=[Pending(e.public_id, e.title, e.deadline) for e in soonest],
        dead=await deliveries.dead_counts(),
        storms=[await storm_view.load(storm.id) for storm in open_storms],
    )


async def agents() -> list[AgentLine]:
    """Every agent, by name."""
    rows = await Agent.all().order_by("name")
    return [AgentLine(a.name, a.owner_user_id, a.status, a.paused_reason) for a in rows]


async def councils(name: str | None = None) -> list[Seats]:
    """Each council (or the one named) with its members; an unknown name is refused."""
    if name is not None and not is_name(name):
        raise NotFound(f"There is no council named `{name[:80]}`. Try `/council members`.")
    query = Council.filter(name=name) if name else Council.filter(retired_at=None)
    found = []
    for council in await query.order_by("name"):
        members = await Member.filter(council=council).order_by("-active", "id")
        seats = [
            Seat(m.user_id, m.function, m.role, m.active, m.delegate_user_id, m.away_until) for m in members
        ]
        found.append(Seats(council.name, council.channel_id, seats))
    if name is not None and not found:
        raise NotFound(f"There is no council named `{name[:80]}`. Try `/council members`.")
    return found


async def export_yaml(user: str) -> str:
    """The configuration as council.yml text, for an admin."""
    await require_admin(user)
    data: dict[str, Any] = await config.export()
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
