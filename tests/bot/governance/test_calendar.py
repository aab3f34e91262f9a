"""Weeks in a council's timezone: bounds at local midnight, and weekly times that keep the wall clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.governance.calendar import Week, local_moment, parse_wall, weekly_moment


def test_a_week_runs_from_local_monday_midnight_to_the_next() -> None:
    week = Week.parse("2026-W49", "Europe/Berlin")
    assert week.start == datetime(2026, 11, 29, 23, 0, tzinfo=UTC)
    assert week.end == datetime(2026, 12, 6, 23, 0, tzinfo=UTC)
    assert week.next().name == "2026-W50" and week.previous().name == "2026-W48"


def test_the_week_a_moment_falls_in_is_read_on_the_local_clock() -> None:
    # Sunday 23:30 UTC is already Monday in Berlin, still Sunday in New York.
    moment = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)
    assert Week.of(moment, "Europe/Berlin").name == "2026-W49"
    assert Week.of(moment, "America/New_York").name == "2026-W48"
    assert Week.of(moment, "UTC").name == "2026-W48"


@pytest.mark.parametrize(
    ("tz", "week", "hours", "before", "after"),
    [
        # Spring forward: the week loses an hour; 09:00 local is 08:00 UTC before, 07:00 after.
        (
            "Europe/Berlin",
            "2026-W13",
            167,
            datetime(2026, 3, 23, 8, 0, tzinfo=UTC),
            datetime(2026, 3, 30, 7, 0, tzinfo=UTC),
        ),
        # Fall back: the week gains an hour.
        (
            "Europe/Berlin",
            "2026-W43",
            169,
            datetime(2026, 10, 19, 7, 0, tzinfo=UTC),
            datetime(2026, 10, 26, 8, 0, tzinfo=UTC),
        ),
        (
            "America/New_York",
            "2026-W10",
            167,
            datetime(2026, 3, 2, 14, 0, tzinfo=UTC),
            datetime(2026, 3, 9, 13, 0, tzinfo=UTC),
        ),
        (
            "America/New_York",
            "2026-W44",
            169,
            datetime(2026, 10, 26, 13, 0, tzinfo=UTC),
            datetime(2026, 11, 2, 14, 0, tzinfo=UTC),
        ),
    ],
)
def test_a_dst_week_keeps_the_wall_clock_on_both_sides(
    tz: str, week: str, hours: int, before: datetime, after: datetime
) -> None:
    changing = Week.parse(week, tz)
    assert changing.end - changing.start == timedelta(hours=hours)
    assert weekly_moment(changing, "mon", time(9)) == before
    assert weekly_moment(changing.next(), "mon", time(9)) == after


def test_a_time_the_clock_skips_is_when_the_clock_passes_it_and_a_repeated_one_is_the_first() -> None:
    assert local_moment(date(2026, 3, 29), time(2, 30), "Europe/Berlin") == datetime(
        2026, 3, 29, 1, 30, tzinfo=UTC
    )
    assert local_moment(date(2026, 10, 25), time(2, 30), "Europe/Berlin") == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("text", "problem"), [("2026-49", "YYYY-Www"), ("2026-W54", "no week 54"), ("2025-W53", "no week 53")]
)
def test_a_malformed_week_is_refused_with_what_was_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Week.parse(text, "UTC")


def test_2026_has_53_weeks_and_week_53_is_readable() -> None:
    assert Week.parse("2026-W53", "UTC").start == datetime(2026, 12, 28, tzinfo=UTC)


@pytest.mark.parametrize("text", ["9:00", "24:00", "09:60", "nine", ""])
def test_a_malformed_time_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        parse_wall(text)
