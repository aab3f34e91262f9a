"""One place where a refusal becomes a clear ephemeral line, and a crash a calm one."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import CouncilError
from bot.runtime import Runtime
from bot.slack.text import escape_keeping_mentions

log = logging.getLogger(__name__)
Listener = Callable[..., Awaitable[None]]
CRASHED = (
    "Something went wrong on Council's side and nothing was recorded. It has been logged; please try again."
)


async def present(error: Exception, body: dict[str, Any], respond: AsyncRespond | None) -> None:
    """Tell the person what went wrong, privately; never a traceback in Slack."""
    if isinstance(error, CouncilError):
        text = shown(error)
    else:
        log.error("Slack listener failed", exc_info=error)
        text = CRASHED
    if respond is not None and body.get("response_url"):
        await respond(text=text, response_type="ephemeral", replace_original=False)


def shown(error: CouncilError) -> str:
    """A refusal as the person reads it: escaped, then a person named by id is a mention again
    (refusals say who can, as `<@U123>`)."""
    return escape_keeping_mentions(error.message)


def guarded(listener: Listener, rt: Runtime) -> Listener:
    """Wrap a listener so its refusals reach the person, and give it the runtime as `runtime`.

    Bolt (1.30, HTTP mode) answers 404 after its 3-second wait when a listener raises right after
    ack(), so errors are handled here rather than left to `@app.error`. Events have no
    response_url (and Bolt acks them itself): their failures are logged, not shown. Bolt injects
    its own arguments by name; `runtime` is ours, typed, rather than a lookup in `context`.
    """
    wanted = set(inspect.signature(listener).parameters)

    # Bolt injects arguments by these parameter names.
    async def run(
        ack: AsyncAck,
        body: dict[str, Any],
        context: dict[str, Any],
        respond: AsyncRespond | None,
        client: AsyncWebClient,
        command: dict[str, Any] | None = None,
        view: dict[str, Any] | None = None,
        event: dict[str, Any] | None = None,
    ) -> None:
        given = {
            "ack": ack,
            "body": body,
            "context": context,
            "respond": respond,
            "client": client,
            "command": command,
            "view": view,
            "event": event,
            "runtime": rt,
        }
        try:
            await listener(**{name: value for name, value in given.items() if name in wanted})
        except Exception as error:  # Each failure is shown to the person; crashes are also logged.
            if ack.response is None and body.get("type") == "view_submission":
                # A modal has no response_url: keep it open and say what happened inside it.
                await ack(response_action="errors", errors=_modal_error(body, error))
                if not isinstance(error, CouncilError):
                    log.error("Slack modal listener failed", exc_info=error)
                return
            if ack.response is None:
                await ack()
            await present(error, body, respond)

    run.__name__ = listener.__name__
    return run


def _modal_error(body: dict[str, Any], error: Exception) -> dict[str, str]:
    """Show the failure on the modal's first input block."""
    text = error.message if isinstance(error, CouncilError) else CRASHED
    blocks = body.get("view", {}).get("blocks", [])
    first = next((b.get("block_id") for b in blocks if b.get("type") == "input" and b.get("block_id")), None)
    return {first: text[:150]} if first else {}


async def on_error(error: Exception, body: dict[str, Any], respond: AsyncRespond | None) -> None:
    """Fallback for failures outside listeners (middleware)."""
    await present(error, body, respond)
