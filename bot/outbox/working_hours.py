"""When a DM may reach its person: inside their working hours, or at once when a deadline is near.

Reminders and the weekly pulse go through `send_at` before they are sent. It makes sure the
person's timezone is known (Slack's users.info, cached for a day in `bot.services.people`), then
says when to send: now inside their hours or when the deadline is under an hour away, otherwise
when their hours begin (but no later than an hour before the deadline). A deliverer that must wait
raises `Later`, and the worker reschedules the row to that moment without counting an attempt.

users.info failing never holds a DM back: the cached timezone, or UTC, stands in for it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.outbox.pacing import Call
from bot.services import people

log = logging.getLogger(__name__)
# Closer to its deadline than this, a DM goes whatever the hour: it would be too late in the morning.
NEAR_DEADLINE = timedelta(hours=1)
# The lookup send_at may make first; planned for every such DM, since a cached timezone is not known
# before the row starts (Tier 4 has the room: the DM's own conversations.open is Tier 3).
LOOKUP = Call("users.info")


class Later(Exception):
    """The person is outside their working hours: deliver the row at `until`; no attempt, no error."""

    def __init__(self, until: datetime, user: str) -> None:
        super().__init__(f"{user} is outside their working hours until {until.isoformat()}")
        self.until = until


async def send_at(slack: AsyncWebClient, user: str, *, now: datetime, deadline: datetime | None) -> datetime:
    """When a DM to `user` should go: `now`, or when their hours begin (at the latest deadline - 1 h)."""
    await _learn_timezone(slack, user, now=now)
    hours, tz = (await people.hours_for([user]))[user]
    if hours.covers(now, tz) or (deadline is not None and deadline - now <= NEAR_DEADLINE):
        return now
    begins = hours.next_start(now, tz)
    return begins if deadline is None else min(begins, deadline - NEAR_DEADLINE)


async def _learn_timezone(slack: AsyncWebClient, user: str, *, now: datetime) -> None:
    """Ask Slack for the person's timezone unless it was asked within a day; a failure keeps the cache."""
    if not await people.needs_timezone(user, now=now):
        return
    try:
        response = await slack.users_info(user=user)
    except (SlackApiError, aiohttp.ClientError, TimeoutError, OSError) as error:
        said = error.response.get("error") if isinstance(error, SlackApiError) else None
        reason = said or str(error) or type(error).__name__
        log.warning("users.info for %s failed (%s); using the cached timezone, or UTC", user, reason)
        return
    found = response.get("user") or {}
    await people.remember_timezone(user, found.get("tz") if isinstance(found, dict) else None, now=now)
