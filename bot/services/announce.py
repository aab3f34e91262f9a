"""Say in the council channel what an admin or chair changed from Slack: one line, through the outbox."""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

from bot.outbox.enqueue import enqueue
from bot.outbox.events import AdminChanged
from models import Agent, Council


async def agent_channels(conn: BaseDBAsyncClient, agent: Agent) -> list[str]:
    """Where a change to an agent is said: its council's channel, or every council's without one."""
    live = Council.filter(retired_at=None).using_db(conn)
    councils = await (live.filter(id=agent.council_id) if agent.council_id else live.order_by("name"))
    return list(dict.fromkeys(council.channel_id for council in councils))


async def change(
    conn: BaseDBAsyncClient,
    channels: list[str],
    *,
    actor: str,
    action: str,
    subject: str,
    detail: str | None = None,
    delegate: str | None = None,
) -> None:
    """Queue the line in each channel, in the transaction of the change."""
    for channel in channels:
        event = AdminChanged(
            channel=channel, actor=actor, action=action, subject=subject, detail=detail, delegate=delegate
        )
        await enqueue(conn, event)
