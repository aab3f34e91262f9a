"""People: working hours each person sets for themselves, and the Slack timezone Council caches."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from bot.errors import Invalid
from bot.governance.hours import DEFAULT_HOURS, WorkingHours
from bot.services import people
from models import AuditEvent, Person

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


async def test_strangers_have_the_default_day_in_utc(database: str) -> None:
    assert await people.hours_for(["U0NOBODY1", "U0NOBODY2"]) == {
        "U0NOBODY1": (DEFAULT_HOURS, "UTC"),
        "U0NOBODY2": (DEFAULT_HOURS, "UTC"),
    }
    shown = await people.profile("U0NOBODY1")
    assert (shown.hours, shown.own_hours, shown.timezone, shown.timezone_known) == (
        DEFAULT_HOURS,
        False,
        "UTC",
        False,
    )


async def test_anyone_sets_their_own_hours_and_the_change_is_audited(database: str) -> None:
    assert await people.set_hours("U0TECH001", "08:00-16:00") == WorkingHours(time(8), time(16))
    await people.remember_timezone("U0TECH001", "Europe/Berlin", now=NOW)
    assert await people.hours_for(["U0TECH001"]) == {
        "U0TECH001": (WorkingHours(time(8), time(16)), "Europe/Berlin")
    }
    assert await people.set_hours("U0TECH001", "22:00-06:00") == WorkingHours(time(22), time(6))
    assert await people.set_hours("U0TECH001", "default") == DEFAULT_HOURS
    assert not (await people.profile("U0TECH001")).own_hours
    trail = await AuditEvent.filter(action="person.hours_set").order_by("id")
    assert [(e.actor_id, e.subject, e.payload) for e in trail] == [
        ("U0TECH001", "U0TECH001", {"hours": "08:00-16:00", "previous": None}),
        ("U0TECH001", "U0TECH001", {"hours": "22:00-06:00", "previous": "08:00-16:00"}),
        ("U0TECH001", "U0TECH001", {"hours": None, "previous": "22:00-06:00"}),
    ]
    assert await Person.filter(user_id="U0TECH001").count() == 1


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("8am-4pm", "`8am` is not a time"),
        ("08:05-16:00", "quarter hours"),
        ("10:00-10:00", "cannot start and end at the same time"),
    ],
)
async def test_bad_hours_are_refused_with_the_reason_and_change_nothing(
    database: str, text: str, problem: str
) -> None:
    await people.set_hours("U0TECH001", "08:00-16:00")
    with pytest.raises(Invalid, match=problem):
        await people.set_hours("U0TECH001", text)
    assert (await people.profile("U0TECH001")).hours == WorkingHours(time(8), time(16))
    assert await AuditEvent.filter(action="person.hours_set").count() == 1


async def test_the_timezone_is_asked_again_after_a_day_and_an_unknown_one_counts_as_utc(
    database: str,
) -> None:
    assert await people.needs_timezone("U0TECH001", now=NOW)
    await people.set_hours("U0TECH001", "08:00-16:00")  # a row with hours, but no timezone asked yet
    assert await people.needs_timezone("U0TECH001", now=NOW)
    await people.remember_timezone("U0TECH001", "Mars/Olympus_Mons", now=NOW)
    assert not await people.needs_timezone("U0TECH001", now=NOW + timedelta(hours=23, minutes=59))
    assert await people.needs_timezone("U0TECH001", now=NOW + timedelta(hours=24))
    assert (await people.hours_for(["U0TECH001"]))["U0TECH001"][1] == "UTC"
    assert not (await people.profile("U0TECH001")).timezone_known
    await people.remember_timezone("U0TECH001", "America/New_York", now=NOW)
    assert (await people.profile("U0TECH001")).timezone == "America/New_York"
    # Slack giving no timezone is remembered as none (UTC), and not asked again for a day.
    await people.remember_timezone("U0TECH001", None, now=NOW)
    assert (await people.hours_for(["U0TECH001"]))["U0TECH001"] == (WorkingHours(time(8), time(16)), "UTC")
    assert not await people.needs_timezone("U0TECH001", now=NOW)
