"""Storm control: past `storm_after` a minute, an agent's escalations join one grouped message.

Whether an escalation joins a storm is decided in its creating transaction, under the agent's row
lock (taken first by `rates.admit`), so replicas agree. A storm belongs to an agent and the council
its escalations go to (each council sees its own grouped message in its own channel); the open storm
is unique per agent and council in the database (`open_key`).
Lock order, to stay clear of deadlocks on PostgreSQL: the agent's row, then the audit chain
(`audit.record`), then a storm's row. Every state change takes the audit chain's lock, so changes
to one storm are already one at a time when `touch` runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient

from bot.db import transaction
from bot.governance import LimitsSpec
from bot.outbox.enqueue import enqueue
from bot.outbox.events import StormAutoPaused, StormChanged, StormEscalated, StormOpened, kind_of
from bot.runtime import Runtime
from bot.services import audit
from bot.services.agents import require_active
from models import Agent, Council, Escalation, OutboxItem, Storm
from models.enums import AgentStatus, Delivery, Kind

WINDOW = timedelta(minutes=1)
CHANGED = kind_of(StormChanged)


def subject(storm_id: int) -> str:
    """The audit subject of a storm (escalations are `esc_…`, agents their name)."""
    return f"storm-{storm_id}"


@dataclass(frozen=True)
class Admission:
    """What storm control makes of a new escalation: the storm it joins, if any, and what follows."""

    storm: Storm | None = None
    started: bool = False
    pause: bool = False
    recent: int = 0


async def council_bound(
    conn: BaseDBAsyncClient, agent_id: int, *, since: datetime, council_id: int | None = None
) -> int:
    """Count the agent's escalations put to a council vote since then (only those have a deadline).

    With `council_id`, count only those put to that council.
    """
    recent = Escalation.filter(
        agent_id=agent_id, kind=Kind.APPROVAL, deadline__isnull=False, created_at__gte=since
    )
    if council_id is not None:
        recent = recent.filter(council_id=council_id)
    return await recent.using_db(conn).count()


def open_key(agent_id: int, council_id: int) -> str:
    """The key that holds one open storm per agent and council."""
    return f"{agent_id}:{council_id}"


async def admit(
    conn: BaseDBAsyncClient, locked: Agent, *, kind: str, council: Council | None, needs_council: bool
) -> Admission:
    """Decide, under the agent's lock, whether this approval joins the agent's storm or starts one.

    `locked` is the agent's row as read under its lock (`rates.admit` takes it, first in the
    transaction; taking it again here would only repeat it). Approvals join an open storm whether
    they need the council or not (so the grouped message counts the auto-approved ones too); a storm
    starts only when more than `storm_after` approvals needing this council came within a minute.
    `auto_pause_after` counts the agent's approvals needing any council. Incidents and notices always
    get their own message.
    """
    if kind != Kind.APPROVAL or council is None:
        return Admission()
    # Paused a moment ago (by a storm's auto_pause_after, or an admin): no request slips in after.
    require_active(locked)
    now = datetime.now(UTC)
    limits = LimitsSpec.model_validate(locked.limits)
    this = 1 if needs_council else 0
    since = now - WINDOW
    here = await council_bound(conn, locked.id, since=since, council_id=council.id) + this
    key = open_key(locked.id, council.id)
    storm = await Storm.filter(open_key=key).using_db(conn).first()
    started = False
    if storm is None:
        if not needs_council or here <= limits.storm_threshold():
            return Admission()
        storm = await Storm.create(
            using_db=conn,
            agent_id=locked.id,
            council=council,
            open_key=key,
            started_at=now,
            last_at=now,
            channel_id=council.channel_id,
        )
        started = True
    recent = here
    if needs_council and limits.auto_pause_after is not None:
        recent = await council_bound(conn, locked.id, since=since) + this
    pause = (
        needs_council
        and limits.auto_pause_after is not None
        and recent >= limits.auto_pause_after
        and storm.auto_paused_at is None
    )
    return Admission(storm, started, pause, recent)


async def joined(conn: BaseDBAsyncClient, admission: Admission, escalation: Escalation) -> None:
    """Follow an escalation into its storm: post the grouped message once, or update it."""
    storm = admission.storm
    if storm is None:
        return
    now = datetime.now(UTC)
    if admission.started:
        await Storm.filter(id=storm.id).using_db(conn).update(first_escalation_id=escalation.id)
        agent = await Agent.filter(id=storm.agent_id).using_db(conn).get()
        await audit.record(
            conn,
            actor_type="system",
            actor_id="storm-control",
            action="storm.started",
            subject=subject(storm.id),
            payload={"agent": agent.name, "first": escalation.public_id, "in_last_minute": admission.recent},
        )
        await enqueue(conn, StormOpened(storm=storm.id), escalation=escalation)
    else:
        await Storm.filter(id=storm.id).using_db(conn).update(last_at=now)
    if admission.pause:
        await _auto_pause(conn, storm, escalation, recent=admission.recent, now=now)
    if not admission.started:  # the first post, after this commits, shows all of it
        await touch(conn, storm.id)


async def _auto_pause(
    conn: BaseDBAsyncClient, storm: Storm, escalation: Escalation, *, recent: int, now: datetime
) -> None:
    """Pause the agent (the kill switch) past auto_pause_after, and tell its owner."""
    agent = await Agent.filter(id=storm.agent_id).using_db(conn).get()
    reason = f"storm control: {recent} escalations needing the council within a minute"
    await Agent.filter(id=agent.id).using_db(conn).update(status=AgentStatus.PAUSED, paused_reason=reason)
    await Storm.filter(id=storm.id).using_db(conn).update(auto_paused_at=now)
    await audit.record(
        conn,
        actor_type="system",
        actor_id="storm-control",
        action="agent.paused",
        subject=agent.name,
        payload={"reason": reason, "storm": subject(storm.id), "escalation": escalation.public_id},
    )
    anchor = await _anchor(conn, storm.id)
    await enqueue(conn, StormAutoPaused(user=agent.owner_user_id, storm=storm.id), escalation=anchor)


async def escalated(
    conn: BaseDBAsyncClient, escalation: Escalation, users: list[str], *, deadline: datetime
) -> bool:
    """Tell `users` once per storm that its escalations timed out to them; False if not in a storm.

    The first of the storm's escalations to time out sends the messages; the rest only extend.
    """
    if escalation.storm_id is None:
        return False
    first = Storm.filter(id=escalation.storm_id, escalated_at__isnull=True)
    if await first.using_db(conn).update(escalated_at=datetime.now(UTC)) == 1:
        anchor = await _anchor(conn, escalation.storm_id)
        for user in users:
            event = StormEscalated(user=user, storm=escalation.storm_id, deadline=deadline)
            await enqueue(conn, event, escalation=anchor)
    return True


async def _anchor(conn: BaseDBAsyncClient, storm_id: int) -> Escalation | None:
    """The storm's first escalation, which its outbox rows ride on (one at a time, in order).

    None only inside the transaction that starts the storm, before its first escalation is known.
    """
    storm = await Storm.filter(id=storm_id).using_db(conn).get()
    if storm.first_escalation_id is None:
        return None
    return await Escalation.filter(id=storm.first_escalation_id).using_db(conn).get()


async def touch(conn: BaseDBAsyncClient, storm_id: int) -> None:
    """Have the grouped message re-rendered, unless a re-render already waits (one row per storm).

    Call it after an audit record in the same transaction: that lock makes the check and the write
    one step for every replica. A re-render already claimed by the worker does not count, as it
    may have read the storm before this change; the waiting one is locked until this transaction
    commits, so the worker cannot claim it, and read the storm, before this change is visible.
    """
    anchor = await _anchor(conn, storm_id)
    if anchor is None:
        return  # the storm's first post, in this same transaction, shows its state
    waiting = OutboxItem.filter(
        escalation_id=anchor.id, kind=CHANGED, status=Delivery.PENDING, locked_until__isnull=True
    )
    if await waiting.select_for_update().using_db(conn).first() is None:
        await enqueue(conn, StormChanged(storm=storm_id), escalation=anchor)


async def touch_for(conn: BaseDBAsyncClient, escalation: Escalation) -> None:
    """Update the grouped message of the escalation's storm, if it is in one."""
    if escalation.storm_id is not None:
        await touch(conn, escalation.storm_id)


async def end_quiet(rt: Runtime, *, now: datetime | None = None) -> int:
    """End every storm quiet for its agent's `storm_quiet`; return how many ended."""
    moment = now or datetime.now(UTC)
    ended = 0
    for storm in await Storm.filter(ended_at__isnull=True).select_related("agent"):
        quiet = LimitsSpec.model_validate(storm.agent.limits).storm_quiet_seconds()
        if storm.last_at > moment - timedelta(seconds=quiet):
            continue
        if await _end(storm, now=moment):
            ended += 1
    if ended:
        rt.after_commit()
    return ended


class _AlreadyEnded(Exception):
    """Another replica ended the storm first; undo this transaction's audit record."""


async def _end(storm: Storm, *, now: datetime) -> bool:
    try:
        async with transaction() as conn:
            # The audit chain's lock first, then the storm's row (see the module's lock order).
            await audit.record(
                conn,
                actor_type="system",
                actor_id="storm-control",
                action="storm.ended",
                subject=subject(storm.id),
                payload={"agent": storm.agent.name, "started_at": storm.started_at, "last_at": storm.last_at},
            )
            over = Storm.filter(id=storm.id, ended_at__isnull=True, last_at=storm.last_at)
            if await over.using_db(conn).update(ended_at=now, open_key=None) != 1:
                raise _AlreadyEnded
            await touch(conn, storm.id)
    except _AlreadyEnded:
        return False
    return True
