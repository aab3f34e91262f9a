"""Working hours: when, on a person's own wall clock, Council may DM them without it waiting.

Pure: every function takes the moment it reasons about. Hours are a daily window in the person's
IANA timezone, 09:00–18:00 unless they set their own; an end before the start is an overnight
window (22:00–06:00). The wall clock decides, across DST changes too: 09:00 in Berlin is 08:00 UTC
in winter and 07:00 UTC in summer. A timezone this Python does not know is read as UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The digest counts asks in quarter hours of each person's day, so hours begin and end on one.
QUARTERS = (0, 15, 30, 45)
HOURS = re.compile(r"(\S+?)\s*[-–—]\s*(\S+)")
WALL = re.compile(r"(\d{1,2}):(\d{2})")
EXAMPLE = "for example `08:00-16:00`, or `22:00-06:00` overnight"
# Hours begin within a day of any moment; a DST change moves that by an hour at most.
_LOOKAHEAD_HOURS = 50


@dataclass(frozen=True)
class WorkingHours:
    """A daily window on the wall clock: from `start` (included) to `end` (excluded)."""

    start: time
    end: time  # end < start means overnight (22:00-06:00); 00:00 is midnight at the day's end

    def covers(self, moment: datetime, tz: str) -> bool:
        """Whether the aware `moment` falls inside the hours, on the wall clock of `tz`."""
        wall = moment.astimezone(zone(tz)).time()
        if self.start < self.end:
            return self.start <= wall < self.end
        return wall >= self.start or wall < self.end

    def next_start(self, moment: datetime, tz: str) -> datetime:
        """The first UTC moment at or after `moment` inside the hours: `moment` itself when it is.

        The hours begin when the wall clock reaches `start`, or when a DST change makes it jump
        into them (a start inside the hour that spring-forward skips begins at the jump).
        """
        if self.covers(moment, tz):
            return moment
        place = zone(tz)
        today = moment.astimezone(place).date()
        starts = [_reading(today + timedelta(days=n), self.start, place) for n in range(-1, 3)]
        candidates = [at for readings in starts for at in readings] + _offset_changes(moment, place)
        return min(at for at in candidates if at > moment and self.covers(at, tz))

    @property
    def text(self) -> str:
        """The hours as `parse_hours` reads them: "08:00-16:00" (an end at midnight is 24:00)."""
        end = "24:00" if self.end == time(0) else f"{self.end:%H:%M}"
        return f"{self.start:%H:%M}-{end}"


DEFAULT_HOURS = WorkingHours(time(9), time(18))


def parse_hours(text: str) -> WorkingHours:
    """Read "08:00-16:00" (24-hour, quarter hours); ValueError with what to write instead."""
    if not text.strip():
        raise ValueError(f"Give your working hours as HH:MM-HH:MM, {EXAMPLE}.")
    found = HOURS.fullmatch(text.strip())
    if found is None:
        raise ValueError(f"`{text.strip()[:40]}` is not working hours; write them as HH:MM-HH:MM, {EXAMPLE}.")
    start, end = _wall(found[1], "start"), _wall(found[2], "end")
    if start == end:
        raise ValueError(
            f"Working hours cannot start and end at the same time ({start:%H:%M}); give a start and an "
            f"end, {EXAMPLE}."
        )
    return WorkingHours(start, end)


def zone_name(tz: str | None) -> str:
    """The IANA name `tz` when this Python knows it, else "UTC"."""
    if not tz:
        return "UTC"
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return tz


def zone(tz: str | None) -> ZoneInfo:
    """The timezone `tz`, or UTC when this Python does not know it."""
    return ZoneInfo(zone_name(tz))


def _wall(text: str, which: str) -> time:
    found = WALL.fullmatch(text)
    if found is None:
        raise ValueError(f"`{text[:20]}` is not a time; write the {which} as HH:MM, 24-hour, {EXAMPLE}.")
    hour, minute = int(found[1]), int(found[2])
    if which == "end" and (hour, minute) == (24, 0):
        return time(0)
    if hour > 23 or minute > 59:
        latest = "24:00" if which == "end" else "23:45"
        raise ValueError(f"`{text}` is not a time of day; the {which} must be between 00:00 and {latest}.")
    if minute not in QUARTERS:
        raise ValueError(
            f"Working hours go by quarter hours, and `{text}` is not on one: "
            "use :00, :15, :30 or :45 past the hour."
        )
    return time(hour, minute)


def _reading(day: date, wall: time, place: ZoneInfo) -> list[datetime]:
    """The UTC moments the wall clock of `place` reads `wall` on `day`: none in a gap, two in a fold."""
    readings = []
    for fold in (0, 1):
        moment = datetime.combine(day, wall, tzinfo=place).replace(fold=fold).astimezone(UTC)
        local = moment.astimezone(place)
        if (local.date(), local.time()) == (day, wall) and moment not in readings:
            readings.append(moment)
    return readings


def _offset_changes(after: datetime, place: ZoneInfo) -> list[datetime]:
    """The moments in the next two days when `place` changes its UTC offset (DST), to the second."""

    def offset(second: int) -> timedelta | None:
        return datetime.fromtimestamp(second, UTC).astimezone(place).utcoffset()

    changes = []
    low = int(after.timestamp())
    for _ in range(_LOOKAHEAD_HOURS):
        high = low + 3600
        if offset(low) != offset(high):
            before, changed = low, high
            while changed - before > 1:
                middle = (before + changed) // 2
                before, changed = (middle, changed) if offset(middle) == offset(low) else (before, middle)
            changes.append(datetime.fromtimestamp(changed, UTC))
        low = high
    return changes
