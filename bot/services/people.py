"""People as Council knows them across councils: their Slack timezone (cached) and working hours."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.db import transaction
from bot.errors import Invalid
from bot.governance.hours import DEFAULT_HOURS, WorkingHours, parse_hours, zone_name
from bot.services import audit
from models import Person

# users.info is asked again after this long: people travel, and change their profile's timezone.
TIMEZONE_FRESH = timedelta(hours=24)
# What `/council me hours=default` means: back to the default working day.
DEFAULT_WORDS = ("default", "reset")


@dataclass(frozen=True)
class Profile:
    """What `/council me` shows: a person's hours, whether they set them, and their timezone."""

    user: str
    hours: WorkingHours
    own_hours: bool
    timezone: str  # an IANA name; "UTC" while unknown
    timezone_known: bool


def _hours_of(person: Person | None) -> WorkingHours | None:
    """The person's own hours, or None for the default (a stored value that no longer reads is None)."""
    if person is None or not person.work_start or not person.work_end:
        return None
    try:
        return parse_hours(f"{person.work_start}-{person.work_end}")
    except ValueError:
        return None


async def hours_for(users: Sequence[str]) -> dict[str, tuple[WorkingHours, str]]:
    """Each user's working hours and IANA timezone ("UTC" when unknown), defaults for strangers."""
    people = {p.user_id: p for p in await Person.filter(user_id__in=list(users))}
    found = {}
    for user in users:
        person = people.get(user)
        found[user] = (_hours_of(person) or DEFAULT_HOURS, zone_name(person.timezone if person else None))
    return found


async def profile(user: str) -> Profile:
    """Read what Council knows of one person."""
    person = await Person.filter(user_id=user).first()
    own = _hours_of(person)
    timezone = person.timezone if person else None
    return Profile(
        user=user,
        hours=own or DEFAULT_HOURS,
        own_hours=own is not None,
        timezone=zone_name(timezone),
        timezone_known=zone_name(timezone) == timezone,
    )


async def set_hours(user: str, text: str) -> WorkingHours:
    """Set a person's own working hours ("08:00-16:00"; "default" for 09:00–18:00), audited."""
    own = None if text.strip().lower() in DEFAULT_WORDS else _parsed(text)
    start, end = own.text.split("-") if own else (None, None)
    await Person.get_or_create(user_id=user)
    async with transaction() as conn:
        person = await Person.filter(user_id=user).select_for_update().using_db(conn).get()
        before = _hours_of(person)
        await Person.filter(id=person.id).using_db(conn).update(work_start=start, work_end=end)
        await audit.record(
            conn,
            actor_type="member",
            actor_id=user,
            action="person.hours_set",
            subject=user,
            payload={"hours": own.text if own else None, "previous": before.text if before else None},
        )
    return own or DEFAULT_HOURS


def _parsed(text: str) -> WorkingHours:
    try:
        return parse_hours(text)
    except ValueError as error:
        raise Invalid(str(error), details={"field": "hours"}) from None


async def remember_timezone(user: str, tz: str | None, *, now: datetime) -> None:
    """Cache the timezone Slack gives for `user` (None: Slack gives none), checked as of `now`."""
    await Person.get_or_create(user_id=user)
    await Person.filter(user_id=user).update(timezone=tz[:64] if tz else None, timezone_checked_at=now)


async def needs_timezone(user: str, *, now: datetime) -> bool:
    """Whether Slack should be asked for the person's timezone: never asked, or a day ago or more."""
    person = await Person.filter(user_id=user).first()
    checked = person.timezone_checked_at if person else None
    return checked is None or now - checked >= TIMEZONE_FRESH
