"""Say an event in Slack: post an escalation once, re-render it in place, reply in its thread, DM.

Each deliverer reads the escalation's state itself, at delivery time, after absorbing the queued
re-renders it answers for: a change committed meanwhile queues a row of its own, so a message is
never left showing an older state than the database holds.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.governance import Snapshot
from bot.outbox import working_hours
from bot.outbox.enqueue import OPENED
from bot.outbox.events import COALESCING_KINDS, Event
from bot.outbox.pacing import POST, Call
from bot.slack import notices
from bot.slack.escalation_message import render
from bot.slack.escalation_view import EscalationView, VoteLine
from models import Agent, Decision, Escalation, OutboxItem, Vote
from models.enums import Delivery, Status

METADATA_EVENT = "council_escalation"
UNREADABLE = {"not_in_channel", "missing_scope", "channel_not_found"}
log = logging.getLogger(__name__)
Rendering = Callable[[], Awaitable[tuple[str, list[dict[str, Any]]]]]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Transport:
    """What deliverers send with: the Slack client, the callback session and settings, the worker's clock."""

    slack: AsyncWebClient
    http: aiohttp.ClientSession
    server_key: bytes
    allow_private: bool
    clock: Callable[[], datetime] = utc_now


class NotReady(Exception):
    """The effect depends on one not yet delivered (a reply before the first post); try again soon."""


class Moot(Exception):
    """The effect lost its point before it went (the member voted, the week ended): done, nothing sent."""


class Undeliverable(Exception):
    """The effect can never be delivered as things stand (its message could not be posted)."""


async def load_view(escalation: Escalation) -> EscalationView:
    """Read what the escalation's message shows, as it stands now."""
    agent = await Agent.get(id=escalation.agent_id)
    votes = await Vote.filter(escalation=escalation).order_by("created_at", "id")
    decision = await Decision.filter(escalation_id=escalation.id).first()
    snapshot = Snapshot.read(escalation.rule, escalation.electorate)
    return EscalationView(
        public_id=escalation.public_id,
        kind=escalation.kind,
        status=escalation.status,
        title=escalation.title,
        summary=escalation.summary,
        agent=agent.name,
        owner=agent.owner_user_id,
        amount=escalation.amount,
        currency=escalation.currency,
        action_type=escalation.action.get("type"),
        target=escalation.action.get("target"),
        risk=escalation.risk,
        category=escalation.category,
        context=escalation.context,
        links=escalation.links,
        deadline=escalation.deadline,
        rule=snapshot.describe(),
        policy=escalation.policy_name,
        electorate=snapshot.users(),
        votes=[
            VoteLine(
                v.user_id, v.function, v.choice, v.reason, v.conditions, v.approved_amount, v.on_behalf_of
            )
            for v in votes
        ],
        outcome=decision.outcome if decision else None,
        decided_by=decision.decided_by if decision else None,
        reasons=decision.reasons if decision else [],
        conditions=decision.conditions if decision else None,
        approved_amount=decision.approved_amount if decision else None,
        route_reason=escalation.route_reason,
        incident_owner=escalation.owner_user_id,
        resolution=escalation.resolution,
        execution=escalation.execution,
        version=escalation.version,
    )


async def _history(client: AsyncWebClient, channel: str) -> list[dict[str, Any]] | None:
    """Read the channel's recent messages; join a public channel first if need be; None if unreadable."""
    for attempt in range(2):
        try:
            response = await client.conversations_history(
                channel=channel, limit=200, include_all_metadata=True
            )
        except SlackApiError as error:
            if attempt == 0 and error.response.get("error") == "not_in_channel":
                with contextlib.suppress(SlackApiError):
                    await client.conversations_join(channel=channel)
                continue
            if error.response.get("error") in UNREADABLE:
                return None
            raise
        messages: list[dict[str, Any]] = response.get("messages", [])
        return messages
    return None


async def find_own_post(
    client: AsyncWebClient, channel: str, event_type: str, key: str, value: Any
) -> str | None:
    """Find our own earlier post whose metadata says `key: value` (a retry after a lost answer)."""
    messages = await _history(client, channel)
    if messages is None:
        # Cannot check (a private channel the bot cannot read): a rare duplicate beats a lost post.
        log.warning("cannot read %s to check for an earlier post of %s; posting", channel, value)
        return None
    for message in messages:
        metadata = message.get("metadata") or {}
        if metadata.get("event_type") == event_type and metadata.get("event_payload", {}).get(key) == value:
            return str(message["ts"])
    return None


async def post_once(
    ctx: Transport, row: OutboxItem, channel: str, mark: tuple[str, str, Any], message: Rendering
) -> str:
    """Post a message unless a retry finds it posted already (by its metadata `mark`); return its ts.

    `mark` is (event type, payload key, value); `message` renders the text and blocks when needed.
    """
    event_type, key, value = mark
    # A post tried before may have reached Slack unanswered (a lost answer, or a process killed).
    retry = row.attempts > 1 or row.last_error is not None
    ts = await find_own_post(ctx.slack, channel, event_type, key, value) if retry else None
    if ts is None:
        text, blocks = await message()
        response = await ctx.slack.chat_postMessage(
            channel=channel,
            text=text,
            blocks=blocks,
            unfurl_links=False,
            metadata={"event_type": event_type, "event_payload": {key: value}},
        )
        ts = str(response["ts"])
    return ts


async def post(ctx: Transport, row: OutboxItem, event: Event) -> None:
    """Post the escalation to its council channel exactly once."""
    escalation = await Escalation.get(id=row.escalation_id)
    if escalation.message_ts or not escalation.channel_id:
        return

    async def message() -> tuple[str, list[dict[str, Any]]]:
        return render(await load_view(escalation))

    mark = (METADATA_EVENT, "escalation_id", escalation.public_id)
    ts = await post_once(ctx, row, escalation.channel_id, mark, message)
    await Escalation.filter(id=escalation.id, message_ts=None).update(message_ts=ts)


async def coalesce(row: OutboxItem) -> None:
    """Mark every other queued re-render of this escalation done: the render that follows answers them."""
    await (
        OutboxItem.filter(escalation_id=row.escalation_id, kind__in=COALESCING_KINDS, status=Delivery.PENDING)
        .exclude(id=row.id)
        .update(status=Delivery.DONE, done_at=datetime.now(UTC), last_error="coalesced")
    )


@dataclass(frozen=True)
class Posted:
    """An escalation whose message is in its channel, read as it stands now."""

    escalation: Escalation
    channel: str
    ts: str


async def _posted(row: OutboxItem) -> Posted | None:
    """The escalation as it stands now, once its message is posted; None when it has no channel."""
    escalation = await Escalation.get(id=row.escalation_id)
    if not escalation.channel_id:
        return None
    if escalation.message_ts:
        return Posted(escalation, escalation.channel_id, escalation.message_ts)
    if await OutboxItem.filter(escalation_id=escalation.id, kind=OPENED, status=Delivery.DEAD).exists():
        raise Undeliverable("the escalation's message could not be posted (its post is dead)")
    raise NotReady("the escalation's message is not posted yet")


async def refresh(ctx: Transport, row: OutboxItem, event: Event) -> None:
    """Re-render the escalation's message in place from its current state."""
    await coalesce(row)
    posted = await _posted(row)  # read after coalescing, never before
    if posted is None:
        return
    text, blocks = render(await load_view(posted.escalation))
    await ctx.slack.chat_update(channel=posted.channel, ts=posted.ts, text=text, blocks=blocks)


async def reply(ctx: Transport, row: OutboxItem, event: Event) -> None:
    """Say the event in the escalation's thread."""
    posted = await _posted(row)
    if posted is None:
        return
    text = notices.thread_reply(event, await load_view(posted.escalation))
    await ctx.slack.chat_postMessage(
        channel=posted.channel, thread_ts=posted.ts, text=text, unfurl_links=False
    )


async def refresh_and_reply(ctx: Transport, row: OutboxItem, event: Event) -> None:
    """Re-render the message, then say what changed in its thread."""
    await refresh(ctx, row, event)
    await reply(ctx, row, event)


async def direct_message(ctx: Transport, row: OutboxItem, event: Event) -> None:
    """Send one person a DM about an escalation (reminders, escalations to chairs, owners' alerts)."""
    escalation = await Escalation.get(id=row.escalation_id)
    user: str = event.user  # type: ignore[attr-defined]
    text = notices.direct_message(event, await load_view(escalation))
    opened = await ctx.slack.conversations_open(users=user)
    await ctx.slack.chat_postMessage(channel=opened["channel"]["id"], text=text, unfurl_links=False)


async def remind(ctx: Transport, row: OutboxItem, event: Event) -> None:
    """DM a reminder in the member's working hours; drop it once they voted (or recused) or voting closed."""
    user: str = event.user  # type: ignore[attr-defined]
    escalation = await Escalation.get(id=row.escalation_id)
    now = ctx.clock()
    if escalation.status != Status.PENDING or (escalation.deadline and escalation.deadline <= now):
        raise Moot("voting has closed")
    if await Vote.filter(escalation_id=escalation.id, user_id=user).exists():
        raise Moot(f"{user} has voted")
    at = await working_hours.send_at(ctx.slack, user, now=now, deadline=escalation.deadline)
    if at > now:
        raise working_hours.Later(at, user)
    await direct_message(ctx, row, event)


def planned_calls(deliverer: object, row: OutboxItem, event: Event, channel: str | None) -> list[Call]:
    """The Slack calls a row's deliverer will make, for the pacer to let it start only when all may go.

    `channel` is the escalation's council channel; a direct message goes to the person's own DM.
    """
    if deliverer is direct_message:
        user: str = event.user  # type: ignore[attr-defined]
        return direct_calls(user)
    if deliverer is remind:
        return [working_hours.LOOKUP, *direct_calls(event.user)]  # type: ignore[attr-defined]
    if deliverer is post:
        return post_once_calls(row, channel)
    if deliverer is refresh:
        return [Call("chat.update")]
    if deliverer is reply:
        return [Call(POST, channel)]
    if deliverer is refresh_and_reply:
        return [Call("chat.update"), Call(POST, channel)]
    return []


def post_once_calls(row: OutboxItem, channel: str | None) -> list[Call]:
    """The Slack calls `post_once` makes for this row: the post, after reading the history on a retry."""
    tried = row.attempts > 0 or row.last_error is not None
    return [Call(POST, channel), Call("conversations.history")] if tried else [Call(POST, channel)]


def direct_calls(user: str) -> list[Call]:
    """The Slack calls a direct message makes: open the person's DM, then post to it."""
    return [Call("conversations.open"), Call(POST, f"@{user}")]
