"""The weekly pulse's buttons: ack at once, record the answer, show it in the DM with the buttons kept."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.errors import Invalid
from bot.services import pulse
from bot.slack import ids, pulse_message


async def answer(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
    await ack()
    try:
        council, week, score = ids.parse_pulse_value(str(body["actions"][0].get("value", "")))
    except ValueError:
        raise Invalid("That button is not one of Council's pulse answers.") from None
    asking = await pulse.answer(council=council, user=body["user"]["id"], week=week, score=score)
    text, blocks = pulse_message.render(asking)
    await respond(text=text, blocks=blocks, replace_original=True)
