"""Wire Council's Slack listeners onto a Bolt app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.runtime import Runtime
from bot.slack import ids
from handlers.slack import commands, errors, home, incidents, votes
from handlers.slack.errors import guarded


def register(app: AsyncApp, rt: Runtime) -> None:
    """Attach the runtime to every request's context and add the listeners."""

    async def attach_runtime(context: dict[str, Any], next: Callable[[], Awaitable[None]]) -> None:  # noqa: A002
        context["runtime"] = rt
        await next()

    app.middleware(attach_runtime)
    app.action(ids.APPROVE)(guarded(votes.approve))
    app.action(ids.REJECT)(guarded(votes.reject))
    app.action(ids.ABSTAIN)(guarded(votes.abstain))
    app.action(ids.RECUSE)(guarded(votes.recuse))
    app.action(ids.APPROVE_WITH_CONDITIONS)(guarded(votes.approve_with_conditions))
    app.view(ids.REJECT_MODAL)(guarded(votes.reject_submitted))
    app.view(ids.CONDITIONS_MODAL)(guarded(votes.conditions_submitted))
    app.action(ids.TAKE_OWNERSHIP)(guarded(incidents.take_ownership))
    app.action(ids.RESOLVE)(guarded(incidents.resolve))
    app.view(ids.RESOLVE_MODAL)(guarded(incidents.resolve_submitted))
    app.command("/council")(guarded(commands.council))
    app.event("app_home_opened")(guarded(home.app_home_opened))
    app.error(errors.on_error)
