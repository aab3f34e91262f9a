"""Vote buttons and vote modals: ack at once, call one service, answer the voter."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import CouncilError
from bot.governance import Choice
from bot.runtime import Runtime
from bot.services import log_scope, votes
from bot.services.votes import Ballot, Votable
from bot.slack import home_view, ids
from bot.slack.vote_modals import conditions_modal, reject_modal
from handlers.slack import home

# Which modal block shows a service error about which field.
FIELD_BLOCK = {
    "reason": ids.REASON_BLOCK,
    "conditions": ids.CONDITIONS_BLOCK,
    "approved_amount": ids.AMOUNT_BLOCK,
}


async def _click(
    choice: Choice, body: dict[str, Any], rt: Runtime, respond: AsyncRespond, client: AsyncWebClient
) -> None:
    public_id, version = ids.parse_vote_value(body["actions"][0]["value"])
    user = body["user"]["id"]
    async with log_scope.about(public_id=public_id), home.refusals_on_home(body, client):
        result = await votes.cast(rt, public_id=public_id, user=user, ballot=Ballot(choice), version=version)
        text = home_view.voted(public_id, choice, result.changed_from)
        if home.clicked_on_home(body):  # no response_url there: the re-published tab says it
            await home.publish(client, user, note=text)
        else:
            await respond(text=text, response_type="ephemeral", replace_original=False)


async def approve(
    ack: AsyncAck, body: dict[str, Any], runtime: Runtime, respond: AsyncRespond, client: AsyncWebClient
) -> None:
    await ack()
    await _click(Choice.APPROVE, body, runtime, respond, client)


async def abstain(
    ack: AsyncAck, body: dict[str, Any], runtime: Runtime, respond: AsyncRespond, client: AsyncWebClient
) -> None:
    await ack()
    await _click(Choice.ABSTAIN, body, runtime, respond, client)


async def recuse(
    ack: AsyncAck, body: dict[str, Any], runtime: Runtime, respond: AsyncRespond, client: AsyncWebClient
) -> None:
    await ack()
    await _click(Choice.RECUSE, body, runtime, respond, client)


async def reject(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
    """Open the modal that asks for a reason; nothing counts until it is submitted."""
    await ack()
    async with _about(body), home.refusals_on_home(body, client):
        escalation = await _voting_on(body)
        view = reject_modal(ref=_modal_ref(body, escalation), title=escalation.title)
        await client.views_open(trigger_id=body["trigger_id"], view=view)


async def approve_with_conditions(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
    """Open the modal for conditions and an optional lower amount."""
    await ack()
    async with _about(body), home.refusals_on_home(body, client):
        escalation = await _voting_on(body)
        view = conditions_modal(
            ref=_modal_ref(body, escalation),
            title=escalation.title,
            amount=escalation.amount,
            currency=escalation.currency,
        )
        await client.views_open(trigger_id=body["trigger_id"], view=view)


async def _voting_on(body: dict[str, Any]) -> Votable:
    """The escalation (at the version on the clicked message) the member may vote on, or a refusal."""
    public_id, version = ids.parse_vote_value(body["actions"][0]["value"])
    return await votes.check_can_vote(public_id=public_id, user=body["user"]["id"], version=version)


def _about(body: dict[str, Any]) -> AbstractAsyncContextManager[None]:
    """Name the clicked escalation on every line logged while handling the click."""
    return log_scope.about(public_id=ids.parse_vote_value(body["actions"][0]["value"])[0])


def _modal_ref(body: dict[str, Any], escalation: Votable) -> str:
    """The modal's private_metadata: what is voted on, and whether to show the Home tab again after."""
    value = ids.vote_value(escalation.public_id, escalation.version)
    return ids.modal_ref(value, from_home=home.clicked_on_home(body))


def _value(view: dict[str, Any], block: str, action: str) -> str:
    return str(view["state"]["values"].get(block, {}).get(action, {}).get("value") or "")


async def _submit(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    rt: Runtime,
    ballot: Ballot,
    fallback_block: str,
    client: AsyncWebClient,
) -> None:
    """Count the modal's vote, or keep the modal open with the problem next to its field."""
    value, from_home = ids.parse_modal_ref(view["private_metadata"])
    public_id, version = ids.parse_vote_value(value)
    user = body["user"]["id"]
    async with log_scope.about(public_id=public_id):
        try:
            result = await votes.cast(rt, public_id=public_id, user=user, ballot=ballot, version=version)
        except CouncilError as error:
            field = error.details.get("field") if isinstance(error.details, dict) else None
            await ack(
                response_action="errors", errors={FIELD_BLOCK.get(field or "", fallback_block): error.message}
            )
            return
        await ack()
        if from_home:  # the modal closes onto the Home tab: show it without what was just voted on
            note = home_view.voted(public_id, ballot.choice, result.changed_from)
            await home.publish(client, user, note=note)


async def reject_submitted(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], runtime: Runtime, client: AsyncWebClient
) -> None:
    reason = _value(view, ids.REASON_BLOCK, ids.REASON_INPUT)
    ballot = Ballot(Choice.REJECT, reason=reason)
    await _submit(ack, body, view, runtime, ballot, ids.REASON_BLOCK, client)


async def conditions_submitted(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], runtime: Runtime, client: AsyncWebClient
) -> None:
    conditions = _value(view, ids.CONDITIONS_BLOCK, ids.CONDITIONS_INPUT)
    if not conditions.strip():
        await ack(response_action="errors", errors={ids.CONDITIONS_BLOCK: "Say what the agent must do."})
        return
    try:
        amount = votes.parse_amount(_value(view, ids.AMOUNT_BLOCK, ids.AMOUNT_INPUT))
    except CouncilError as error:
        await ack(response_action="errors", errors={ids.AMOUNT_BLOCK: error.message})
        return
    ballot = Ballot(Choice.APPROVE, conditions=conditions, approved_amount=amount)
    await _submit(ack, body, view, runtime, ballot, ids.CONDITIONS_BLOCK, client)
