"""Deliver an admin's change as one short line in the council's channel, exactly once."""

from __future__ import annotations

from typing import Any

from bot.outbox.events import AdminChanged, Event
from bot.outbox.pacing import Call
from bot.outbox.slack_effects import Transport, post_once, post_once_calls
from bot.slack import admin_notice
from models import OutboxItem

METADATA_EVENT = "council_admin_change"


async def post(ctx: Transport, row: OutboxItem, event: Event) -> None:
    """Post the line; a retry after a lost answer finds the first post by its metadata instead."""
    assert isinstance(event, AdminChanged)  # noqa: S101 - the worker dispatches on the event's type

    async def message() -> tuple[str, list[dict[str, Any]]]:
        text = admin_notice.line(event)
        return text, admin_notice.blocks(text)

    await post_once(ctx, row, event.channel, (METADATA_EVENT, "change", row.id), message)


def planned_calls(deliverer: object, row: OutboxItem, event: Event) -> list[Call]:
    """The Slack calls the line's delivery makes, for the pacer."""
    if deliverer is not post or not isinstance(event, AdminChanged):
        return []
    return post_once_calls(row, event.channel)
