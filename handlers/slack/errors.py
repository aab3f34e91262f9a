"""One place where a refusal becomes a clear ephemeral line, and a crash a calm one."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.errors import CouncilError
from bot.slack.text import escape

log = logging.getLogger(__name__)


async def on_error(error: Exception, body: dict[str, Any], respond: AsyncRespond | None) -> None:
    """Tell the person what went wrong, privately; never a traceback in Slack."""
    if isinstance(error, CouncilError):
        text = escape(error.message)
    else:
        log.error("Slack listener failed", exc_info=error)
        text = "Something went wrong on Council's side and nothing was recorded. It has been logged; please try again."
    if respond is not None and body.get("response_url"):
        await respond(text=text, response_type="ephemeral", replace_original=False)
