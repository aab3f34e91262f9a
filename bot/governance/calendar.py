"""Weeks and local times: the ISO week a moment falls in, in a council's timezone, and its bounds.

Pure: every function takes the moment it reasons about. A week runs from Monday 00:00 to the next
Monday 00:00 *local*, so a week across a DST change is 167 or 169 hours long, and a weekly time
("mon 09:00 Europe/Berlin") is 09:00 on the wall clock on both sides of the change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEK_NAME = re.compile(r"(\d{4})-W(\d{2})")


@dataclass(frozen=True)
class Week:
    """One ISO week in one timezone."""

    year: int
    number: int
    tz: str

    @classmethod
    def of(cls, moment: datetime, tz: str) -> Week:
        """The week `moment` falls in, on the wall clock of `tz`."""
        year, number, _ = moment.astimezone(ZoneInfo(tz)).isocalendar()
        return cls(year, number, tz)

    @classmethod
    def parse(cls, name: str, tz: str) -> Week:
        """Read "2026-W49"; ValueError, with what was wrong, for anything else."""
        found = WEEK_NAME.fullmatch(name.strip())
        if found is None:
            raise ValueError(f"{name!r} is not a week; write it as YYYY-Www, for example 2026-W49")
        year, number = int(found[1]), int(found[2])
        try:
            date.fromisocalendar(year, number, 1)
        except ValueError:
            raise ValueError(f"{year} has no week {number:02d}") from None
        return cls(year, number, tz)

    @property
    def name(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    def day(self, index: int) -> date:
        """The week's day `index` (0 is Monday)."""
        return date.fromisocalendar(self.year, self.number, 1) + timedelta(days=index)

    def at(self, index: int, wall: time) -> datetime:
        """The UTC moment of `wall` o'clock on day `index`, in the week's timezone."""
        return local_moment(self.day(index), wall, self.tz)

    @property
    def start(self) -> datetime:
        return self.at(0, time(0))

    @property
    def end(self) -> datetime:
        return self.next().start

    def next(self) -> Week:
        following = self.day(7).isocalendar()
        return Week(following[0], following[1], self.tz)

    def previous(self) -> Week:
        before = self.day(-7).isocalendar()
        return Week(before[0], before[1], self.tz)

    def days(self) -> list[tuple[date, datetime, datetime]]:
        """Each day of the week with its UTC start and end (a DST day is 23 or 25 hours)."""
        return [(self.day(i), self.at(i, time(0)), self.at(i + 1, time(0))) for i in range(7)]


def local_moment(day: date, wall: time, tz: str) -> datetime:
    """The UTC moment the wall clock of `tz` shows `wall` on `day`.

    In the hour a spring-forward skips, the time an hour later is meant (09:30 that does not exist
    is 10:30 on the clock, the moment the clock passes it); in the hour a fall-back repeats, the
    first of the two.
    """
    zone = ZoneInfo(tz)
    first = datetime.combine(day, wall, tzinfo=zone)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == first.replace(tzinfo=None):
        return first.astimezone(UTC)
    # In the gap, the two readings straddle the change; the later is when the clock passes `wall`.
    return max(first.astimezone(UTC), first.replace(fold=1).astimezone(UTC))


def parse_wall(text: str) -> time:
    """Read "09:00" (24-hour HH:MM); ValueError otherwise."""
    found = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", text.strip())
    if found is None:
        raise ValueError(f"{text!r} is not a time; write it as HH:MM, 24-hour, for example 09:00")
    return time(int(found[1]), int(found[2]))


def weekly_moment(week: Week, day: str, wall: time) -> datetime:
    """When a weekly event set for `day` at `wall` falls in `week`, as a UTC moment."""
    return week.at(DAYS.index(day), wall)
