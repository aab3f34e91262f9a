"""Incident buttons: Take ownership, and Resolve (with notes)."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import CouncilError
from bot.runtime import Runtime
from bot.services import incidents
from bot.slack import ids
from bot.slack.vote_modals import resolve_modal


async def take_ownership(
    ack: AsyncAck, body: dict[str, Any], runtime: Runtime, respond: AsyncRespond
) -> None:
    await ack()
    incident = await incidents.take_ownership(
        runtime, public_id=body["actions"][0]["value"], user=body["user"]["id"]
    )
    await respond(
        text=f"You own incident `{incident.public_id}`.", response_type="ephemeral", replace_original=False
    )


async def resolve(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
    await ack()
    public_id = body["actions"][0]["value"]
    title = await incidents.title_of(public_id)
    await client.views_open(trigger_id=body["trigger_id"], view=resolve_modal(ref=public_id, title=title))


async def resolve_submitted(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], runtime: Runtime
) -> None:
    notes = view["state"]["values"].get(ids.NOTES_BLOCK, {}).get(ids.NOTES_INPUT, {}).get("value") or ""
    try:
        await incidents.resolve(
            runtime, public_id=view["private_metadata"], user=body["user"]["id"], notes=notes
        )
    except CouncilError as error:
        await ack(response_action="errors", errors={ids.NOTES_BLOCK: error.message})
        return
    await ack()
