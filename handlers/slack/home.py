"""The App Home tab: publish what awaits the viewer when they open it, and again after they act on it.

A click on the Home tab comes with the `view` and no `channel`, `message` or `response_url`, so
there is no ephemeral to answer with: the answer (a vote counted, a refusal) is a note atop the
re-published tab, which also drops what the click settled.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import CouncilError
from bot.services import agent_admin, home
from bot.slack import admin_views, home_view


async def publish(client: AsyncWebClient, user: str, *, note: str | None = None) -> None:
    """Show the user their Home tab as it stands now, with `note` (mrkdwn) on top."""
    await client.views_publish(user_id=user, view=home_view.build(await home.for_user(user), note=note))


def clicked_on_home(body: dict[str, Any]) -> bool:
    """Whether a block_actions request came from a button on the Home tab."""
    view = body.get("view")
    return isinstance(view, dict) and view.get("type") == "home"


@asynccontextmanager
async def refusals_on_home(body: dict[str, Any], client: AsyncWebClient) -> AsyncIterator[None]:
    """Show a refusal of a Home click on the re-published tab; a click elsewhere raises it as usual."""
    try:
        yield
    except CouncilError as error:
        if not clicked_on_home(body):
            raise
        await publish(client, body["user"]["id"], note=home_view.refusal(error.message))


async def app_home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
    # The event also fires for the Messages tab, which has nothing to publish.
    if event.get("tab", "home") != "home":
        return
    await publish(client, event["user"])


# The kill switch on Home takes no text; the agent's 403 and the channel say where it came from.
PAUSED_FROM_HOME = "paused from the App Home tab"


async def pause_agent(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
    """The Pause button (admins; chairs, for their council's agents): the kill switch, then the tab again."""
    await ack()
    user, name = body["user"]["id"], str(body["actions"][0]["value"])
    async with refusals_on_home(body, client):
        agent = await agent_admin.pause(actor=user, name=name, reason=PAUSED_FROM_HOME)
        await publish(client, user, note=admin_views.agent_status(agent.name, agent.status))


async def resume_agent(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
    """The Resume button (admins; chairs, for their council's agents): escalate again, then the tab again."""
    await ack()
    user, name = body["user"]["id"], str(body["actions"][0]["value"])
    async with refusals_on_home(body, client):
        agent = await agent_admin.resume(actor=user, name=name)
        await publish(client, user, note=admin_views.agent_status(agent.name, agent.status))
