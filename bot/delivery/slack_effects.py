"""Deliver an escalation's Slack effects: post once, update in place, reply in its thread."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.governance.rules import Rule
from bot.slack.escalation_message import decision_reply, render
from bot.slack.escalation_view import EscalationView, VoteLine
from models import Agent, Decision, Escalation, Vote

METADATA_EVENT = "council_escalation"
UNREADABLE = {"not_in_channel", "missing_scope", "channel_not_found"}
log = logging.getLogger(__name__)


class NotReady(Exception):
    """The effect depends on one not yet delivered (an update before the first post)."""


async def load_view(escalation: Escalation) -> EscalationView:
    """Read what the escalation's message shows, as it stands now."""
    agent = await Agent.get(id=escalation.agent_id)
    votes = await Vote.filter(escalation=escalation).order_by("created_at", "id")
    decision = await Decision.filter(escalation_id=escalation.id).first()
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
        rule=Rule.model_validate(escalation.rule).describe() if escalation.rule else None,
        policy=escalation.policy_name,
        electorate=[e["user"] for e in escalation.electorate],
        votes=[
            VoteLine(v.user_id, v.function, v.choice, v.reason, v.conditions, v.approved_amount)
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


async def _already_posted(client: AsyncWebClient, channel: str, public_id: str) -> str | None:
    """Find our own earlier post of this escalation (a retry after a lost answer)."""
    messages = await _history(client, channel)
    if messages is None:
        # Cannot check (a private channel the bot cannot read): a rare duplicate beats a lost escalation.
        log.warning("cannot read %s to check for an earlier post of %s; posting", channel, public_id)
        return None
    for message in messages:
        metadata = message.get("metadata") or {}
        if (
            metadata.get("event_type") == METADATA_EVENT
            and metadata.get("event_payload", {}).get("escalation_id") == public_id
        ):
            return str(message["ts"])
    return None


async def post(client: AsyncWebClient, escalation: Escalation, *, retry: bool) -> None:
    """Post the escalation to its council channel exactly once."""
    if escalation.message_ts or not escalation.channel_id:
        return
    ts = await _already_posted(client, escalation.channel_id, escalation.public_id) if retry else None
    if ts is None:
        text, blocks = render(await load_view(escalation))
        response = await client.chat_postMessage(
            channel=escalation.channel_id,
            text=text,
            blocks=blocks,
            unfurl_links=False,
            metadata={"event_type": METADATA_EVENT, "event_payload": {"escalation_id": escalation.public_id}},
        )
        ts = str(response["ts"])
    await Escalation.filter(id=escalation.id, message_ts=None).update(message_ts=ts)
    escalation.message_ts = ts


async def update(client: AsyncWebClient, escalation: Escalation) -> None:
    """Re-render the message in place from the current state."""
    if not escalation.channel_id:
        return
    if not escalation.message_ts:
        raise NotReady("the escalation's message is not posted yet")
    text, blocks = render(await load_view(escalation))
    await client.chat_update(
        channel=escalation.channel_id, ts=escalation.message_ts, text=text, blocks=blocks
    )


async def thread_reply(client: AsyncWebClient, escalation: Escalation, payload: dict[str, Any]) -> None:
    """Reply in the escalation's thread: the decision, or a given text."""
    if not escalation.channel_id:
        return
    if not escalation.message_ts:
        raise NotReady("the escalation's message is not posted yet")
    text = payload.get("text") or decision_reply(await load_view(escalation))
    await client.chat_postMessage(
        channel=escalation.channel_id, thread_ts=escalation.message_ts, text=text, unfurl_links=False
    )


async def direct_message(client: AsyncWebClient, payload: dict[str, Any]) -> None:
    """Send a DM (reminders, notices to owners)."""
    opened = await client.conversations_open(users=payload["user"])
    await client.chat_postMessage(
        channel=opened["channel"]["id"],
        text=payload["text"],
        blocks=payload.get("blocks"),
        unfurl_links=False,
    )
