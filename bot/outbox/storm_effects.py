"""Say a storm in Slack: post its grouped message once, re-render it in place, DM the agent's owner.

Each deliverer reads the storm as it stands at delivery time. A storm's rows ride on its first
escalation, so the worker delivers them one at a time and in order (the post before any update),
and paces them as it paces that escalation's own (`planned_calls`).
"""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.outbox.events import Event, StormAutoPaused, StormChanged, StormEscalated, StormOpened, kind_of
from bot.outbox.pacing import Call
from bot.outbox.slack_effects import (
    NotReady,
    Transport,
    Undeliverable,
    direct_calls,
    post_once,
    post_once_calls,
)
from bot.services import storm_view
from bot.slack import storm_message
from models import OutboxItem, Storm
from models.enums import Delivery

METADATA_EVENT = "council_storm"
OPENED = kind_of(StormOpened)


async def _render(storm: Storm) -> tuple[str, list[dict[str, Any]]]:
    return storm_message.render(await storm_view.load(storm.id))


async def post(ctx: Transport, row: OutboxItem, event: Event) -> None:
    """Post the storm's grouped message to the council channel exactly once."""
    assert isinstance(event, StormOpened)  # noqa: S101 - the worker dispatches on the event's type
    storm = await Storm.get(id=event.storm)
    if storm.message_ts or not storm.channel_id:
        return

    async def message() -> tuple[str, list[dict[str, Any]]]:
        return await _render(storm)

    ts = await post_once(ctx, row, storm.channel_id, (METADATA_EVENT, "storm_id", storm.id), message)
    await Storm.filter(id=storm.id, message_ts=None).update(message_ts=ts)


async def refresh(ctx: Transport, row: OutboxItem, event: Event) -> None:
    """Re-render the grouped message from the storm's current state."""
    assert isinstance(event, StormChanged)  # noqa: S101 - the worker dispatches on the event's type
    storm = await Storm.get(id=event.storm)
    if not storm.channel_id:
        return
    if not storm.message_ts:
        post_dead = OutboxItem.filter(escalation_id=row.escalation_id, kind=OPENED, status=Delivery.DEAD)
        if await post_dead.exists():
            raise Undeliverable("the storm's grouped message could not be posted (its post is dead)")
        raise NotReady("the storm's grouped message is not posted yet")
    text, blocks = await _render(storm)
    await ctx.slack.chat_update(channel=storm.channel_id, ts=storm.message_ts, text=text, blocks=blocks)


async def tell_owner(ctx: Transport, row: OutboxItem, event: Event) -> None:
    """DM the agent's owner that storm control paused their agent."""
    assert isinstance(event, StormAutoPaused)  # noqa: S101 - the worker dispatches on the event's type
    await _direct(ctx.slack, event.user, storm_message.paused_dm(await storm_view.load(event.storm)))


async def tell_escalated(ctx: Transport, row: OutboxItem, event: Event) -> None:
    """DM a chair or the agent's owner, once per storm, that its escalations were escalated to them."""
    assert isinstance(event, StormEscalated)  # noqa: S101 - the worker dispatches on the event's type
    view = await storm_view.load(event.storm)
    await _direct(ctx.slack, event.user, storm_message.escalated_dm(view, event.deadline))


async def _direct(client: AsyncWebClient, user: str, text: str) -> None:
    opened = await client.conversations_open(users=user)
    await client.chat_postMessage(channel=opened["channel"]["id"], text=text, unfurl_links=False)


def planned_calls(deliverer: object, row: OutboxItem, event: Event, channel: str | None) -> list[Call]:
    """The Slack calls a storm row's deliverer will make, for the pacer; none for any other deliverer.

    `channel` is the council channel of the storm's first escalation, which is the storm's own.
    """
    if deliverer is post:
        return post_once_calls(row, channel)
    if deliverer is refresh:
        return [Call("chat.update")]
    if deliverer is tell_owner or deliverer is tell_escalated:
        user: str = event.user  # type: ignore[attr-defined]
        return direct_calls(user)
    return []
