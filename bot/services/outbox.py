"""Queue side effects in the caller's transaction; the delivery worker sends them later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from models import Escalation, OutboxItem

# What the worker knows how to deliver.
POST_ESCALATION = "slack.post_escalation"
UPDATE_ESCALATION = "slack.update_escalation"
THREAD_REPLY = "slack.thread_reply"
DIRECT_MESSAGE = "slack.dm"
CALLBACK = "agent.callback"
KINDS = (POST_ESCALATION, UPDATE_ESCALATION, THREAD_REPLY, DIRECT_MESSAGE, CALLBACK)


async def enqueue(
    conn: BaseDBAsyncClient,
    kind: str,
    *,
    escalation: Escalation | None = None,
    payload: dict[str, Any] | None = None,
    delay: float = 0.0,
) -> OutboxItem:
    """Write one side effect to deliver once the transaction commits."""
    if kind not in KINDS:
        raise ValueError(f"unknown outbox kind {kind!r}")
    return await OutboxItem.create(
        using_db=conn,
        kind=kind,
        escalation=escalation,
        payload=payload or {},
        next_attempt_at=datetime.now(UTC) + timedelta(seconds=delay),
    )


async def has_message(conn: BaseDBAsyncClient, escalation: Escalation) -> bool:
    """Whether the escalation's Slack message is posted or still on its way (so it can be followed up)."""
    if escalation.message_ts is not None:
        return True
    posts = OutboxItem.filter(escalation=escalation, kind=POST_ESCALATION).exclude(status="dead")
    return await posts.using_db(conn).exists()


async def announce(conn: BaseDBAsyncClient, escalation: Escalation, text: str) -> None:
    """Re-render the escalation's message and say what changed in its thread (if it has a message)."""
    if not await has_message(conn, escalation):
        return
    await enqueue(conn, UPDATE_ESCALATION, escalation=escalation)
    await enqueue(conn, THREAD_REPLY, escalation=escalation, payload={"text": text})
