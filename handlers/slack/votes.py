"""Vote buttons and the reject modal: ack at once, call one service, answer the voter."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import CouncilError
from bot.governance.rules import Choice
from bot.runtime import Runtime
from bot.services import votes
from bot.slack import ids
from bot.slack.reject_modal import reject_modal

CONFIRM = {
    Choice.APPROVE: "Approve",
    Choice.REJECT: "Reject",
    Choice.ABSTAIN: "Abstain",
    Choice.RECUSE: "Recuse",
}


async def _vote(
    choice: Choice,
    body: dict[str, Any],
    context: dict[str, Any],
    respond: AsyncRespond,
    reason: str | None = None,
) -> None:
    rt: Runtime = context["runtime"]
    public_id = body["actions"][0]["value"]
    result = await votes.cast(rt, public_id=public_id, user=body["user"]["id"], choice=choice, reason=reason)
    changed = (
        f" (was {result.changed_from.capitalize()})"
        if result.changed_from and result.changed_from != choice
        else ""
    )
    await respond(
        text=f"Your vote on `{public_id}`: *{CONFIRM[choice]}*{changed}.",
        response_type="ephemeral",
        replace_original=False,
    )


async def approve(
    ack: AsyncAck, body: dict[str, Any], context: dict[str, Any], respond: AsyncRespond
) -> None:
    await ack()
    await _vote(Choice.APPROVE, body, context, respond)


async def abstain(
    ack: AsyncAck, body: dict[str, Any], context: dict[str, Any], respond: AsyncRespond
) -> None:
    await ack()
    await _vote(Choice.ABSTAIN, body, context, respond)


async def reject(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
    """Open the modal that asks for a reason; nothing counts until it is submitted."""
    await ack()
    escalation = await votes.check_can_vote(public_id=body["actions"][0]["value"], user=body["user"]["id"])
    await client.views_open(
        trigger_id=body["trigger_id"],
        view=reject_modal(public_id=escalation.public_id, title=escalation.title),
    )


async def reject_submitted(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: dict[str, Any]
) -> None:
    """Count the rejection with its reason, or keep the modal open with the problem shown."""
    rt: Runtime = context["runtime"]
    reason = view["state"]["values"].get(ids.REASON_BLOCK, {}).get(ids.REASON_INPUT, {}).get("value") or ""
    if not reason.strip():
        await ack(response_action="errors", errors={ids.REASON_BLOCK: "Say why you reject it."})
        return
    try:
        await votes.cast(
            rt,
            public_id=view["private_metadata"],
            user=body["user"]["id"],
            choice=Choice.REJECT,
            reason=reason,
        )
    except CouncilError as error:
        await ack(response_action="errors", errors={ids.REASON_BLOCK: error.message[:150]})
        return
    await ack()
