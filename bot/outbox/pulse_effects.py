"""Say the weekly pulse in Slack: one DM per member and week, in their working hours, never late.

The pulse has no deadline, so it waits for the member's hours whatever they are; a DM that could
only arrive after the week is over is dropped, since its answer would be refused.
"""

from __future__ import annotations

from bot.outbox import working_hours
from bot.outbox.events import Event, PulseAsked
from bot.outbox.pacing import Call
from bot.outbox.slack_effects import Moot, Transport, direct_calls
from bot.services import pulse
from bot.slack import pulse_message
from models import OutboxItem


async def ask(ctx: Transport, row: OutboxItem, event: Event) -> None:
    """DM a member this week's pulse question, with its five buttons (and their answer so far)."""
    assert isinstance(event, PulseAsked)  # noqa: S101 - the worker dispatches on the event's type
    now = ctx.clock()
    asking = await pulse.asking(council=event.council, user=event.user, week=event.week, now=now)
    if asking is None:
        raise Moot("the week is over, the council retired, or they left it")
    at = await working_hours.send_at(ctx.slack, event.user, now=now, deadline=None)
    if at >= asking.closes:
        raise Moot(f"the hours of {event.user} begin after the week is over")
    if at > now:
        raise working_hours.Later(at, event.user)
    text, blocks = pulse_message.render(asking)
    opened = await ctx.slack.conversations_open(users=event.user)
    await ctx.slack.chat_postMessage(channel=opened["channel"]["id"], text=text, blocks=blocks)


def planned_calls(deliverer: object, row: OutboxItem, event: Event) -> list[Call]:
    """The Slack calls the pulse DM makes: perhaps users.info, then the DM itself."""
    if deliverer is ask and isinstance(event, PulseAsked):
        return [working_hours.LOOKUP, *direct_calls(event.user)]
    return []
