"""Time: remind members who have not voted, and apply the policy's on_timeout at the deadline."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient

from bot.db import transaction
from bot.errors import EscalationClosed
from bot.governance import Snapshot
from bot.outbox.enqueue import announce, enqueue
from bot.outbox.events import EscalatedToYou, Extended, Reminder
from bot.runtime import Runtime
from bot.services import audit, decisions, incidents, log_scope, storms
from models import Escalation, Vote
from models.enums import DecidedBy, Kind, Outcome, Status

log = logging.getLogger(__name__)


async def sweep(rt: Runtime, *, now: datetime | None = None) -> None:
    """Send due reminders and close escalations past their deadline (as of `now`: by default, now)."""
    now = now or datetime.now(UTC)
    for escalation in await Escalation.filter(status=Status.PENDING, deadline__lte=now):
        try:
            async with log_scope.about(public_id=escalation.public_id):
                await expire(rt, escalation.id, now=now)
        except EscalationClosed:
            continue  # Decided by a vote, or by another replica, a moment ago.
    for incident in await Escalation.filter(
        kind=Kind.INCIDENT, status=Status.OPEN, extended=False, deadline__lte=now
    ):
        await incidents.escalate_unowned(rt, incident.id, now=now)
    for escalation in await Escalation.filter(status=Status.PENDING, deadline__gt=now):
        due = sum(1 for at in escalation.remind_at if datetime.fromisoformat(at) <= now)
        if due > escalation.reminders_sent:
            await remind(rt, escalation.id, count=due)


async def expire(rt: Runtime, escalation_id: int, *, now: datetime) -> None:
    """Apply on_timeout: reject (default), or extend once / escalate once, then reject."""
    async with transaction() as conn:
        escalation = await Escalation.filter(id=escalation_id).select_for_update().using_db(conn).get()
        if escalation.status != Status.PENDING or escalation.deadline is None or escalation.deadline > now:
            raise EscalationClosed("no longer due")
        if escalation.on_timeout in ("extend", "escalate") and not escalation.extended:
            await _extend(conn, escalation, now=now)
        else:
            await decisions.record(
                conn,
                escalation,
                outcome=Outcome.REJECTED,
                status=Status.EXPIRED,
                decided_by=DecidedBy.TIMEOUT,
                actor="system",
                reasons=["no decision by the deadline; a timeout never approves"],
            )
    rt.after_commit(decided=escalation.public_id if escalation.status == Status.EXPIRED else None)
    if escalation.status == Status.EXPIRED:
        rt.metrics.closed(escalation, decided_by=DecidedBy.TIMEOUT)


async def _extend(conn: BaseDBAsyncClient, escalation: Escalation, *, now: datetime) -> None:
    length = escalation.deadline - escalation.created_at if escalation.deadline else timedelta(hours=24)
    new_deadline = now + length
    # One more period, reminded as the first was: each reminder as far into it.
    again = [now + (datetime.fromisoformat(at) - escalation.created_at) for at in escalation.remind_at]
    remind_at = [*escalation.remind_at, *(at.isoformat() for at in again if at < new_deadline)]
    await (
        Escalation.filter(id=escalation.id)
        .using_db(conn)
        .update(deadline=new_deadline, extended=True, remind_at=remind_at)
    )
    await audit.record(
        conn,
        actor_type="system",
        actor_id="scheduler",
        action="escalation.extended",
        subject=escalation.public_id,
        payload={"on_timeout": escalation.on_timeout, "deadline": new_deadline.isoformat()},
    )
    escalated = escalation.on_timeout == "escalate"
    if escalated:
        chairs = Snapshot.read(escalation.rule, escalation.electorate).chairs()
        owner = (await escalation.agent).owner_user_id
        users = list(dict.fromkeys([*chairs, owner]))
        # In a storm, the chairs and owner hear of it once for the whole storm, not once per escalation.
        if not await storms.escalated(conn, escalation, users, deadline=new_deadline):
            for user in users:
                await enqueue(conn, EscalatedToYou(user=user, deadline=new_deadline), escalation=escalation)
    await announce(conn, escalation, Extended(deadline=new_deadline, escalated=escalated))


async def remind(rt: Runtime, escalation_id: int, *, count: int) -> None:
    """DM each elector who has not voted yet; record how many reminders have gone out."""
    async with transaction() as conn:
        escalation = await Escalation.filter(id=escalation_id).select_for_update().using_db(conn).get()
        if escalation.status != Status.PENDING or escalation.reminders_sent >= count:
            return
        voted = set(await Vote.filter(escalation=escalation).using_db(conn).values_list("user_id", flat=True))
        seated = Snapshot.read(escalation.rule, escalation.electorate).users()
        waiting = [user for user in seated if user not in voted]
        for user in waiting:
            await enqueue(conn, Reminder(user=user), escalation=escalation)
        await Escalation.filter(id=escalation.id).using_db(conn).update(reminders_sent=count)
        await audit.record(
            conn,
            actor_type="system",
            actor_id="scheduler",
            action="escalation.reminded",
            subject=escalation.public_id,
            payload={"waiting": waiting, "reminder": count},
        )
    rt.after_commit()
