"""The fake's identity methods: auth.test, users.info and conversations.open."""

from __future__ import annotations

from typing import Any

from tests.fakeslack.records import SlackError
from tests.fakeslack.workspace import Workspace

Args = dict[str, Any]


def auth_test(ws: Workspace, args: Args) -> Args:
    """auth.test: who the bot token belongs to (Bolt calls this at start-up)."""
    return {
        "url": "https://council-test.slack.com/",
        "team": "Council Test",
        "user": "council",
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


def users_info(ws: Workspace, args: Args) -> Args:
    """users.info: a person's name, timezone and whether they are a bot."""
    user = args.get("user")
    if not isinstance(user, str) or not user:
        raise SlackError("user_not_found")
    return {"user": ws.user(user)}


def conversations_open(ws: Workspace, args: Args) -> Args:
    """conversations.open: the DM channel with one user, the same id every time."""
    users = args.get("users")
    if isinstance(users, str):
        users = [u for u in users.split(",") if u]
    if not users:
        raise SlackError("users_list_not_supplied")
    if len(users) > 1:
        # Group DMs are outside what Council needs; say so rather than invent an id.
        raise SlackError("not_supported_by_fake")
    return {"channel": {"id": ws.dm_channel(users[0])}}
