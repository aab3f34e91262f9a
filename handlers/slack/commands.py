"""The /council slash command: parse its words, call one service, answer privately."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.services import admin_commands


async def council(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
    await ack()
    answer = await admin_commands.run(text=command.get("text", ""), user=command["user_id"])
    await respond(text=answer, response_type="ephemeral")
