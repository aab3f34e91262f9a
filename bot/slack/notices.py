"""What Council says about an event: in the escalation's thread, or in a direct message.

Pure: each function takes the event (the facts of its moment) and the escalation's view (its state
now) and returns mrkdwn. Everything an agent wrote is escaped here.
"""

from __future__ import annotations

from bot.outbox.events import (
    AgentPaused,
    Amended,
    Breach,
    EscalatedToYou,
    Event,
    Extended,
    IncidentOwned,
    IncidentResolved,
    IncidentUnowned,
    IncidentUnownedAlert,
    Reminder,
    Withdrawn,
)
from bot.slack.escalation_message import decision_reply
from bot.slack.escalation_view import EscalationView
from bot.slack.text import escape, mention, safe, utc


def _names(users: list[str]) -> str:
    return ", ".join(mention(user) for user in users)


def _amended(event: Amended, view: EscalationView) -> str:
    text = (
        f":pencil2: The agent amended this escalation (version {event.version}): {', '.join(event.fields)}."
    )
    if event.voided:
        return text + f" Votes voided — {_names(event.voided)}, please vote again."
    return text + " No votes had been cast."


def _withdrawn(event: Withdrawn, view: EscalationView) -> str:
    because = f": {safe(event.reason, 2000).rstrip('.')}." if event.reason else "."
    thanks = f" Thanks {_names(event.voters)} — no further vote is needed." if event.voters else ""
    return f":leftwards_arrow_with_hook: Withdrawn by the agent{because}{thanks}"


def _extended(event: Extended, view: EscalationView) -> str:
    if event.escalated:
        return (
            ":rotating_light: No decision by the deadline: escalated to the chair and the agent's "
            f"owner; closes at {utc(event.deadline)}."
        )
    return f":hourglass: No decision by the deadline. Extended once, to {utc(event.deadline)}."


def _owned(event: IncidentOwned, view: EscalationView) -> str:
    return f":raising_hand: {mention(event.user)} owns this incident."


def _resolved(event: IncidentResolved, view: EscalationView) -> str:
    return f":white_check_mark: Resolved by {mention(event.user)}: {safe(event.notes, 2000)}"


def _unowned(event: IncidentUnowned, view: EscalationView) -> str:
    return f":rotating_light: No owner by the deadline: escalated to {_names(event.told)}."


def _breach(event: Breach, view: EscalationView) -> str:
    return (
        f":rotating_light: Execution beyond approval: {safe(event.summary, 1000)}. "
        f"{escape(event.agent)} is paused; incident `{event.incident}` opened."
    )


THREAD = {
    Amended: _amended,
    Withdrawn: _withdrawn,
    Extended: _extended,
    IncidentOwned: _owned,
    IncidentResolved: _resolved,
    IncidentUnowned: _unowned,
    Breach: _breach,
}


def thread_reply(event: Event, view: EscalationView) -> str:
    """The reply in the escalation's thread that says what happened; a decision gives its reasons."""
    say = THREAD.get(type(event))
    return say(event, view) if say is not None else decision_reply(view)  # type: ignore[operator]


def _title(view: EscalationView) -> str:
    return f"`{view.public_id}` *{safe(view.title, 200)}*"


def _reminder(event: Reminder, view: EscalationView) -> str:
    return f"Reminder: your vote is needed on {_title(view)} before {utc(view.deadline, none='soon')}."


def _escalated(event: EscalatedToYou, view: EscalationView) -> str:
    return (
        f":rotating_light: {_title(view)} reached its deadline without a decision and is escalated to you. "
        f"It now closes at {utc(event.deadline)}."
    )


def _unowned_alert(event: IncidentUnownedAlert, view: EscalationView) -> str:
    return (
        f":rotating_light: Nobody has taken ownership of incident {_title(view)}. "
        "Please take it or assign it."
    )


def _paused(event: AgentPaused, view: EscalationView) -> str:
    return (
        f":rotating_light: Your agent *{escape(event.agent)}* was paused: {safe(event.summary, 1000)} "
        f"(`{event.escalation}`). Incident `{event.incident}` is open in the council channel."
    )


DIRECT = {
    Reminder: _reminder,
    EscalatedToYou: _escalated,
    IncidentUnownedAlert: _unowned_alert,
    AgentPaused: _paused,
}


def direct_message(event: Event, view: EscalationView) -> str:
    """The text of a direct message about an escalation."""
    return DIRECT[type(event)](event, view)  # type: ignore[operator]
