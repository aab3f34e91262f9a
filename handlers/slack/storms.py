"""A storm's grouped message: reject all pending, pause the agent, review ten at a time."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import CouncilError
from bot.governance import Choice
from bot.runtime import Runtime
from bot.services import storm_actions, votes
from bot.services.votes import Ballot
from bot.slack import ids, storm_review
from bot.slack.text import escape
from bot.slack.vote_modals import reject_modal, storm_reject_modal


def _storm_of(body: dict[str, Any]) -> int:
    return ids.parse_review_ref(body["actions"][0]["value"])[0]


async def reject_all(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
    """Open the modal that asks for a reason and says what the member's reject will do."""
    await ack()
    storm_id = _storm_of(body)
    preview = await storm_actions.preview_reject(storm_id=storm_id, user=body["user"]["id"])
    view = storm_reject_modal(
        ref=str(storm_id), agent=preview.agent, seated=preview.seated, alone=preview.alone
    )
    await client.views_open(trigger_id=body["trigger_id"], view=view)


async def reject_all_submitted(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], runtime: Runtime
) -> None:
    """Check the reason and the member, close the modal, then cast the Reject on each pending one."""
    values = view["state"]["values"].get(ids.REASON_BLOCK, {}).get(ids.REASON_INPUT, {})
    reason = str(values.get("value") or "")
    storm_id, user = ids.parse_review_ref(view["private_metadata"])[0], body["user"]["id"]
    if not reason.strip():
        await ack(response_action="errors", errors={ids.REASON_BLOCK: "A rejection needs a reason."})
        return
    try:
        await storm_actions.preview_reject(storm_id=storm_id, user=user)
    except CouncilError as error:
        await ack(response_action="errors", errors={ids.REASON_BLOCK: error.message})
        return
    # Hundreds of votes take longer than Slack's 3 s: answer first, the grouped message shows the rest.
    await ack()
    await storm_actions.reject_all(runtime, storm_id=storm_id, user=user, reason=reason)


async def pause(ack: AsyncAck, body: dict[str, Any], runtime: Runtime, respond: AsyncRespond) -> None:
    await ack()
    agent = await storm_actions.pause_agent(runtime, storm_id=_storm_of(body), user=body["user"]["id"])
    await respond(
        text=f"Paused *{escape(agent.name)}*: its requests are refused until it is resumed.",
        response_type="ephemeral",
        replace_original=False,
    )


async def review(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
    """Open the first page of the storm's pending escalations."""
    await ack()
    page = await storm_actions.review_page(storm_id=_storm_of(body), user=body["user"]["id"], page=0)
    await client.views_open(trigger_id=body["trigger_id"], view=storm_review.build(page))


async def _show(
    body: dict[str, Any], client: AsyncWebClient, page: int | None = None, note: str | None = None
) -> None:
    """Re-read the page the member has open (or another one) and show it in the same modal."""
    storm_id, current = ids.parse_review_ref(body["view"]["private_metadata"])
    shown = await storm_actions.review_page(
        storm_id=storm_id, user=body["user"]["id"], page=current if page is None else page
    )
    await client.views_update(view_id=body["view"]["id"], view=storm_review.build(shown, note=note))


async def turn_page(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
    await ack()
    await _show(body, client, page=int(body["actions"][0]["value"]))


async def _vote(choice: Choice, body: dict[str, Any], rt: Runtime, client: AsyncWebClient) -> None:
    public_id, version = ids.parse_vote_value(body["actions"][0]["value"])
    try:
        await votes.cast(
            rt, public_id=public_id, user=body["user"]["id"], ballot=Ballot(choice), version=version
        )
    except CouncilError as error:
        # A modal has no response_url for the usual ephemeral refusal: the page itself says it.
        await _show(body, client, note=f"{public_id}: {error.message}")
        return
    await _show(body, client)


async def review_approve(
    ack: AsyncAck, body: dict[str, Any], runtime: Runtime, client: AsyncWebClient
) -> None:
    await ack()
    await _vote(Choice.APPROVE, body, runtime, client)


async def review_abstain(
    ack: AsyncAck, body: dict[str, Any], runtime: Runtime, client: AsyncWebClient
) -> None:
    await ack()
    await _vote(Choice.ABSTAIN, body, runtime, client)


async def review_reject(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
    """Put the reason modal on top of the review page; its submission counts as any Reject does."""
    await ack()
    public_id, version = ids.parse_vote_value(body["actions"][0]["value"])
    try:
        votable = await votes.check_can_vote(public_id=public_id, user=body["user"]["id"], version=version)
    except CouncilError as error:
        await _show(body, client, note=f"{public_id}: {error.message}")
        return
    view = reject_modal(ref=ids.vote_value(votable.public_id, votable.version), title=votable.title)
    await client.views_push(trigger_id=body["trigger_id"], view=view)
