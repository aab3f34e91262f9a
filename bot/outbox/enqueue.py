"""Write events in the caller's transaction; the worker delivers them once it has committed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient

from bot.outbox.events import Event, Opened, kind_of
from models import Escalation, OutboxItem
from models.enums import Delivery

OPENED = kind_of(Opened)


async def enqueue(
    conn: BaseDBAsyncClient, event: Event, *, escalation: Escalation | None = None, delay: float = 0.0
) -> OutboxItem:
    """Write one event to deliver once the transaction commits (after `delay` seconds)."""
    payload = event.model_dump(mode="json", exclude={"type"})
    return await OutboxItem.create(
        using_db=conn,
        kind=event.type,  # type: ignore[attr-defined]
        escalation=escalation,
        payload=payload,
        next_attempt_at=datetime.now(UTC) + timedelta(seconds=delay),
    )


async def has_message(conn: BaseDBAsyncClient, escalation: Escalation) -> bool:
    """Whether the escalation's Slack message is posted or still on its way (so it can be followed up)."""
    if escalation.message_ts is not None:
        return True
    posts = OutboxItem.filter(escalation=escalation, kind=OPENED).exclude(status=Delivery.DEAD)
    return await posts.using_db(conn).exists()


async def announce(conn: BaseDBAsyncClient, escalation: Escalation, event: Event) -> None:
    """Write an event about the escalation's message, if it has one (auto-decided ones have none)."""
    if await has_message(conn, escalation):
        await enqueue(conn, event, escalation=escalation)
