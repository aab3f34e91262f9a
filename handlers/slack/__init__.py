"""Wire Council's Slack listeners onto a Bolt app."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.runtime import Runtime
from bot.slack import ids
from handlers.slack import commands, errors, home, incidents, pulse, storms, votes
from handlers.slack.errors import guarded


def register(app: AsyncApp, rt: Runtime) -> None:
    """Add the listeners; each is given the runtime as its typed `runtime` argument."""
    app.action(ids.APPROVE)(guarded(votes.approve, rt))
    app.action(ids.REJECT)(guarded(votes.reject, rt))
    app.action(ids.ABSTAIN)(guarded(votes.abstain, rt))
    app.action(ids.RECUSE)(guarded(votes.recuse, rt))
    app.action(ids.APPROVE_WITH_CONDITIONS)(guarded(votes.approve_with_conditions, rt))
    app.view(ids.REJECT_MODAL)(guarded(votes.reject_submitted, rt))
    app.view(ids.CONDITIONS_MODAL)(guarded(votes.conditions_submitted, rt))
    app.action(ids.TAKE_OWNERSHIP)(guarded(incidents.take_ownership, rt))
    app.action(ids.RESOLVE)(guarded(incidents.resolve, rt))
    app.view(ids.RESOLVE_MODAL)(guarded(incidents.resolve_submitted, rt))
    app.action(ids.STORM_REJECT_ALL)(guarded(storms.reject_all, rt))
    app.view(ids.STORM_REJECT_MODAL)(guarded(storms.reject_all_submitted, rt))
    app.action(ids.STORM_PAUSE)(guarded(storms.pause, rt))
    app.action(ids.STORM_REVIEW)(guarded(storms.review, rt))
    app.action(ids.REVIEW_PREVIOUS)(guarded(storms.turn_page, rt))
    app.action(ids.REVIEW_NEXT)(guarded(storms.turn_page, rt))
    app.action(ids.REVIEW_APPROVE)(guarded(storms.review_approve, rt))
    app.action(ids.REVIEW_ABSTAIN)(guarded(storms.review_abstain, rt))
    app.action(ids.REVIEW_REJECT)(guarded(storms.review_reject, rt))
    for score in ids.PULSE_ANSWERS:
        app.action(score)(guarded(pulse.answer, rt))
    app.command("/council")(guarded(commands.council, rt))
    app.event("app_home_opened")(guarded(home.app_home_opened, rt))
    app.action(ids.HOME_PAUSE_AGENT)(guarded(home.pause_agent, rt))
    app.action(ids.HOME_RESUME_AGENT)(guarded(home.resume_agent, rt))
    app.error(errors.on_error)
