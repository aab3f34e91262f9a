"""Time: remind members who have not voted, and apply the policy's on_timeout at the deadline."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient

from bot.db import transaction
from bot.errors import EscalationClosed
from bot.runtime import Runtime
from bot.services import audit, decisions, incidents, outbox
from bot.slack.text import escape
from models import Escalation, Vote

log = logging.getLogger(__name__)


async def sweep(rt: Runtime) -> None:
    """Send due reminders and close escalations past their deadline."""
    now = datetime.now(UTC)
    for escalation in await Escalation.filter(status="pending", deadline__lte=now):
        try:
            await expire(rt, escalation.id, now=now)
        except EscalationClosed:
            continue  # Decided by a vote, or by another replica, a moment ago.
    for incident in await Escalation.filter(
        kind="incident", status="open", extended=False, deadline__lte=now
    ):
        await incidents.escalate_unowned(rt, incident.id, now=now)
    for escalation in await Escalation.filter(status="pending", deadline__gt=now):
        due = sum(1 for at in escalation.remind_at if datetime.fromisoformat(at) <= now)
        if due > escalation.reminders_sent:
            await remind(rt, escalation.id, count=due)


async def expire(rt: Runtime, escalation_id: int, *, now: datetime) -> None:
    """Apply on_timeout: reject (default), or extend once / escalate once, then reject."""
    async with transaction() as conn:
        escalation = await Escalation.filter(id=escalation_id).select_for_update().using_db(conn).get()
        if escalation.status != "pending" or escalation.deadline is None or escalation.deadline > now:
            raise EscalationClosed("no longer due")
        if escalation.on_timeout in ("extend", "escalate") and not escalation.extended:
            await _extend(conn, escalation, now=now)
        else:
            await decisions.record(
                conn,
                escalation,
                outcome="rejected",
                status="expired",
                decided_by="timeout",
                actor="system",
                reasons=["no decision by the deadline; a timeout never approves"],
            )
    rt.after_commit(decided=escalation.public_id if escalation.status == "expired" else None)


async def _extend(conn: BaseDBAsyncClient, escalation: Escalation, *, now: datetime) -> None:
    length = escalation.deadline - escalation.created_at if escalation.deadline else timedelta(hours=24)
    new_deadline = now + length
    await Escalation.filter(id=escalation.id).using_db(conn).update(deadline=new_deadline, extended=True)
    await audit.record(
        conn,
        actor_type="system",
        actor_id="scheduler",
        action="escalation.extended",
        subject=escalation.public_id,
        payload={"on_timeout": escalation.on_timeout, "deadline": new_deadline.isoformat()},
    )
    stamp = new_deadline.strftime("%Y-%m-%d %H:%M UTC")
    text = f":hourglass: No decision by the deadline. Extended once, to {stamp}."
    if escalation.on_timeout == "escalate":
        chairs = [e["user"] for e in escalation.electorate if e.get("role") == "chair"]
        owner = (await escalation.agent).owner_user_id
        for user in dict.fromkeys([*chairs, owner]):
            await outbox.enqueue(
                conn,
                outbox.DIRECT_MESSAGE,
                escalation=escalation,
                payload={
                    "user": user,
                    "text": f":rotating_light: `{escalation.public_id}` *{escape(escalation.title)}* "
                    f"reached its deadline without a decision and is escalated to you. "
                    f"It now closes at {stamp}.",
                },
            )
        text = (
            ":rotating_light: No decision by the deadline: escalated to the chair and the agent's "
            f"owner; closes at {stamp}."
        )
    await outbox.announce(conn, escalation, text)


async def remind(rt: Runtime, escalation_id: int, *, count: int) -> None:
    """DM each elector who has not voted yet; record how many reminders have gone out."""
    async with transaction() as conn:
        escalation = await Escalation.filter(id=escalation_id).select_for_update().using_db(conn).get()
        if escalation.status != "pending" or escalation.reminders_sent >= count:
            return
        voted = set(await Vote.filter(escalation=escalation).using_db(conn).values_list("user_id", flat=True))
        waiting = [e["user"] for e in escalation.electorate if e["user"] not in voted]
        due = escalation.deadline.strftime("%Y-%m-%d %H:%M UTC") if escalation.deadline else "soon"
        for user in waiting:
            await outbox.enqueue(
                conn,
                outbox.DIRECT_MESSAGE,
                escalation=escalation,
                payload={
                    "user": user,
                    "text": f"Reminder: your vote is needed on `{escalation.public_id}` "
                    f"*{escape(escalation.title)}* before {due}.",
                },
            )
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
