"""The App Home tab: publish what awaits the viewer each time they open it."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.services import home
from bot.slack import home_view


async def app_home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
    # The event also fires for the Messages tab, which has nothing to publish.
    if event.get("tab", "home") != "home":
        return
    user = event["user"]
    await client.views_publish(user_id=user, view=home_view.build(await home.for_user(user)))
