"""Incidents: opened by agents or by Council itself; a member takes ownership and resolves them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient

from bot.db import transaction
from bot.errors import EscalationClosed, Invalid, NotAMember, NotFound
from bot.outbox.enqueue import announce, enqueue
from bot.outbox.events import (
    AgentPaused,
    Breach,
    IncidentOwned,
    IncidentResolved,
    IncidentUnowned,
    IncidentUnownedAlert,
    Opened,
)
from bot.runtime import Runtime
from bot.services import audit
from bot.services.lookup import checked_id
from bot.services.routing import INCIDENT_ACK_SECONDS
from models import Agent, Council, Escalation, Member
from models.enums import Kind, Risk, Role, Status
from models.escalation import new_public_id


async def open_for_breach(
    conn: BaseDBAsyncClient, *, agent: Agent, escalation: Escalation, summary: str
) -> Escalation:
    """Open an incident in the council channel about an agent that exceeded its approval."""
    incident = await _breach_incident(conn, agent, escalation, summary)
    await audit.record(
        conn,
        actor_type="system",
        actor_id="execution-check",
        action="incident.opened",
        subject=incident.public_id,
        payload={"about": escalation.public_id, "summary": summary},
    )
    await enqueue(conn, Opened(), escalation=incident)
    paused = AgentPaused(
        user=agent.owner_user_id,
        agent=agent.name,
        summary=summary,
        escalation=escalation.public_id,
        incident=incident.public_id,
    )
    await enqueue(conn, paused, escalation=incident)
    await announce(conn, escalation, Breach(agent=agent.name, summary=summary, incident=incident.public_id))
    return incident


async def _breach_incident(
    conn: BaseDBAsyncClient, agent: Agent, escalation: Escalation, summary: str
) -> Escalation:
    """Write the incident, in the channel of the escalation it is about (else the agent's council)."""
    council_id = escalation.council_id or agent.council_id
    channel = escalation.channel_id
    if channel is None and council_id is not None:
        council = await Council.filter(id=council_id).using_db(conn).first()
        channel = council.channel_id if council else None
    return await Escalation.create(
        using_db=conn,
        public_id=new_public_id(),
        agent=agent,
        request_hash="council",
        kind=Kind.INCIDENT,
        title=f"{agent.name} exceeded its approval: {summary}"[:200],
        summary=(
            f"{agent.name} (owner {agent.owner_user_id}) reported an execution of {escalation.public_id} "
            f"“{escalation.title}” beyond what was approved: {summary}. Council has paused {agent.name}; "
            "an admin resumes it with `/council agent resume`."
        ),
        risk=Risk.HIGH,
        status=Status.OPEN,
        deadline=datetime.now(UTC) + timedelta(seconds=INCIDENT_ACK_SECONDS),
        council_id=council_id,
        channel_id=channel,
        route_reason="opened by Council: execution beyond approval",
        related=escalation.public_id,
        context={"escalation": escalation.public_id, "agent": agent.name, "owner": agent.owner_user_id},
    )


async def _council_member(conn: BaseDBAsyncClient, incident: Escalation, user: str) -> Member:
    member = (
        await Member.filter(council_id=incident.council_id, user_id=user, active=True).using_db(conn).first()
    )
    if member is None:
        raise NotAMember("You are not on this council, so you cannot act on this incident.")
    return member


async def _incident(conn: BaseDBAsyncClient, public_id: str) -> Escalation:
    incident = (
        await Escalation.filter(public_id=checked_id(public_id)).select_for_update().using_db(conn).first()
    )
    if incident is None or incident.kind != Kind.INCIDENT:
        raise NotFound(f"There is no incident {public_id}.")
    return incident


async def title_of(public_id: str) -> str:
    """The incident's title, for the Resolve modal; an unknown id is refused."""
    incident = await Escalation.filter(public_id=checked_id(public_id), kind=Kind.INCIDENT).first()
    if incident is None:
        raise NotFound(f"There is no incident {public_id}.")
    return incident.title


async def take_ownership(rt: Runtime, *, public_id: str, user: str) -> Escalation:
    """Make a council member the incident's owner."""
    async with transaction() as conn:
        incident = await _incident(conn, public_id)
        await _council_member(conn, incident, user)
        if incident.status == Status.RESOLVED:
            raise EscalationClosed("This incident is already resolved.")
        previous = incident.owner_user_id
        incident.owner_user_id, incident.status = user, Status.ACKNOWLEDGED
        incident.acknowledged_at = incident.acknowledged_at or datetime.now(UTC)
        await incident.save(
            using_db=conn, update_fields=["owner_user_id", "status", "acknowledged_at", "updated_at"]
        )
        await audit.record(
            conn,
            actor_type="member",
            actor_id=user,
            action="incident.owned",
            subject=public_id,
            payload={"previous_owner": previous},
        )
        await announce(conn, incident, IncidentOwned(user=user))
    rt.after_commit()
    return incident


async def resolve(rt: Runtime, *, public_id: str, user: str, notes: str) -> Escalation:
    """Resolve an incident with notes; its owner or a chair may do so."""
    notes = notes.strip()
    if not notes:
        raise Invalid("Say how it was resolved.", details={"field": "notes"})
    async with transaction() as conn:
        incident = await _incident(conn, public_id)
        member = await _council_member(conn, incident, user)
        if incident.status == Status.RESOLVED:
            raise EscalationClosed("This incident is already resolved.")
        if incident.owner_user_id not in (None, user) and member.role != Role.CHAIR:
            raise NotAMember(
                f"Only the owner ({incident.owner_user_id}) or a chair can resolve this incident."
            )
        now = datetime.now(UTC)
        await (
            Escalation.filter(id=incident.id)
            .using_db(conn)
            .update(
                status=Status.RESOLVED,
                resolved_at=now,
                closed_at=now,
                resolution=notes[:4000],
                owner_user_id=incident.owner_user_id or user,
            )
        )
        await audit.record(
            conn,
            actor_type="member",
            actor_id=user,
            action="incident.resolved",
            subject=public_id,
            payload={"notes": notes},
        )
        await announce(conn, incident, IncidentResolved(user=user, notes=notes[:2000]))
    rt.after_commit()
    incident.status, incident.closed_at = Status.RESOLVED, now
    rt.metrics.closed(incident)
    return incident


async def escalate_unowned(rt: Runtime, incident_id: int, *, now: datetime) -> None:
    """Nobody took an incident by its deadline: tell the council's chairs and the agent's owner, once."""
    async with transaction() as conn:
        incident = await Escalation.filter(id=incident_id).select_for_update().using_db(conn).get()
        if (
            incident.status != Status.OPEN
            or incident.extended
            or not incident.deadline
            or incident.deadline > now
        ):
            return
        await Escalation.filter(id=incident.id).using_db(conn).update(extended=True)
        chairs = await Member.filter(council_id=incident.council_id, role=Role.CHAIR, active=True).using_db(
            conn
        )
        owner = (await Agent.get(id=incident.agent_id)).owner_user_id
        told = list(dict.fromkeys([*(c.user_id for c in chairs), owner]))
        for user in told:
            await enqueue(conn, IncidentUnownedAlert(user=user), escalation=incident)
        await announce(conn, incident, IncidentUnowned(told=told))
        await audit.record(
            conn,
            actor_type="system",
            actor_id="scheduler",
            action="incident.escalated",
            subject=incident.public_id,
            payload={"told": told},
        )
    rt.after_commit()
