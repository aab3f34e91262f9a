"""Working hours on each person's wall clock: DST days, overnight hours, and what a person may type."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.governance.hours import DEFAULT_HOURS, WorkingHours, parse_hours, zone_name

BERLIN, NEW_YORK = "Europe/Berlin", "America/New_York"
# Zones with DST at 02:00 and 03:00, at midnight (Santiago), by half an hour (Lord Howe), and on a
# quarter-hour offset (Chatham), besides none at all.
ZONES = [
    "UTC",
    BERLIN,
    NEW_YORK,
    "America/Santiago",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Kolkata",
]


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# -- DST days, said as a person would see them --------------------------------------------------


@pytest.mark.parametrize(
    ("evening", "tz", "morning"),
    [
        # Berlin springs forward on 29 March 2026: 09:00 that Sunday is 07:00 UTC, not 08:00.
        (at(2026, 3, 28, 19), BERLIN, at(2026, 3, 29, 7)),
        # ... and falls back on 25 October: 09:00 is 08:00 UTC again, though 20:00 the day before was 18:00.
        (at(2026, 10, 24, 18), BERLIN, at(2026, 10, 25, 8)),
        # New York springs forward on 8 March (EST, then EDT) and falls back on 1 November.
        (at(2026, 3, 8, 1), NEW_YORK, at(2026, 3, 8, 13)),
        (at(2026, 11, 1, 0), NEW_YORK, at(2026, 11, 1, 14)),
    ],
)
def test_a_message_at_20_00_waits_for_09_00_on_the_wall_clock_across_a_dst_change(
    evening: datetime, tz: str, morning: datetime
) -> None:
    assert not DEFAULT_HOURS.covers(evening, tz)
    assert DEFAULT_HOURS.next_start(evening, tz) == morning
    assert DEFAULT_HOURS.covers(morning, tz)
    assert not DEFAULT_HOURS.covers(morning - timedelta(seconds=1), tz)


def test_the_same_utc_time_is_in_hours_on_one_side_of_a_dst_change_only() -> None:
    # 07:30 UTC: 08:30 in Berlin on Saturday (winter time), 09:30 on Sunday (summer time).
    assert not DEFAULT_HOURS.covers(at(2026, 3, 28, 7, 30), BERLIN)
    assert DEFAULT_HOURS.covers(at(2026, 3, 29, 7, 30), BERLIN)
    # 17:30 UTC: 18:30 in Berlin before the change (outside), 17:30 after (inside).
    assert not DEFAULT_HOURS.covers(at(2026, 10, 24, 16, 30), BERLIN)
    assert DEFAULT_HOURS.covers(at(2026, 10, 25, 16, 30), BERLIN)


def test_overnight_hours_run_past_midnight_and_last_an_hour_longer_on_the_fall_back_night() -> None:
    night = parse_hours("22:00-06:00")
    assert night == WorkingHours(time(22), time(6))
    # New York, 31 October to 1 November 2026: 22:00 EDT is 02:00 UTC, 06:00 EST is 11:00 UTC.
    assert not night.covers(at(2026, 11, 1, 1, 59), NEW_YORK)
    assert night.covers(at(2026, 11, 1, 2), NEW_YORK)
    assert night.covers(at(2026, 11, 1, 10, 59), NEW_YORK)
    assert not night.covers(at(2026, 11, 1, 11), NEW_YORK)
    # At noon the next night is what comes: 22:00 EST is 03:00 UTC.
    assert night.next_start(at(2026, 11, 1, 17), NEW_YORK) == at(2026, 11, 2, 3)
    # Inside the hours, now is the time.
    assert night.next_start(at(2026, 11, 1, 4), NEW_YORK) == at(2026, 11, 1, 4)


def test_hours_that_start_in_the_skipped_hour_begin_when_the_clock_jumps_into_them() -> None:
    early = parse_hours("02:30-04:00")
    # Berlin's clock goes from 02:00 to 03:00 at 01:00 UTC on 29 March: at 03:00 it is in the hours.
    assert early.next_start(at(2026, 3, 28, 23), BERLIN) == at(2026, 3, 29, 1)


def test_hours_inside_the_repeated_hour_come_round_twice_on_the_fall_back_night() -> None:
    # Berlin reads 02:15 twice on 25 October: at 00:15 UTC (summer time) and at 01:15 UTC (winter time).
    short = parse_hours("02:15-02:45")
    assert short.next_start(at(2026, 10, 24, 23), BERLIN) == at(2026, 10, 25, 0, 15)
    assert short.next_start(at(2026, 10, 25, 0, 50), BERLIN) == at(2026, 10, 25, 1, 15)


def test_an_unknown_timezone_is_read_as_utc() -> None:
    assert zone_name("Mars/Olympus_Mons") == zone_name(None) == zone_name("") == "UTC"
    assert zone_name(BERLIN) == BERLIN
    for hour in range(24):
        moment = at(2026, 6, 1, hour)
        assert DEFAULT_HOURS.covers(moment, "Mars/Olympus_Mons") == DEFAULT_HOURS.covers(moment, "UTC")
    assert DEFAULT_HOURS.next_start(at(2026, 6, 1, 20), "../etc/passwd") == at(2026, 6, 2, 9)


# -- what a person may type -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("08:00-16:00", WorkingHours(time(8), time(16))),
        (" 8:15 – 16:45 ", WorkingHours(time(8, 15), time(16, 45))),
        ("22:00-06:00", WorkingHours(time(22), time(6))),
        ("08:00-24:00", WorkingHours(time(8), time(0))),
        ("00:00-23:45", WorkingHours(time(0), time(23, 45))),
    ],
)
def test_hours_read_as_written(text: str, hours: WorkingHours) -> None:
    assert parse_hours(text) == hours
    assert parse_hours(hours.text) == hours


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "Give your working hours as HH:MM-HH:MM"),
        ("nine to five", "`nine to five` is not working hours; write them as HH:MM-HH:MM"),
        ("8-16", "`8` is not a time; write the start as HH:MM, 24-hour"),
        ("08:00-4pm", "`4pm` is not a time; write the end as HH:MM"),
        ("08:10-16:00", "Working hours go by quarter hours, and `08:10` is not on one"),
        ("08:00-16:20", "`16:20` is not on one: use :00, :15, :30 or :45"),
        ("25:00-16:00", "`25:00` is not a time of day; the start must be between 00:00 and 23:45"),
        ("08:00-24:15", "the end must be between 00:00 and 24:00"),
        ("24:00-08:00", "`24:00` is not a time of day; the start must be between"),
        ("09:00-09:00", "cannot start and end at the same time (09:00)"),
        ("00:00-24:00", "cannot start and end at the same time (00:00)"),
    ],
)
def test_bad_hours_say_precisely_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError) as refusal:
        parse_hours(text)
    assert problem in str(refusal.value)


# -- properties, against a minute-by-minute reading of the wall clock -------------------------------

quarters = st.integers(min_value=0, max_value=95).map(lambda q: time(q // 4, q % 4 * 15))
hours_strategy = (
    st.tuples(quarters, quarters)
    .filter(lambda pair: pair[0] != pair[1])
    .map(lambda pair: WorkingHours(*pair))
)
moments = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31)).map(
    lambda naive: naive.replace(second=0, microsecond=0, tzinfo=UTC)
)
# DST days, where it matters most: each zone's changes in 2026, give or take a day.
dst_days = st.sampled_from(
    [
        at(2026, 3, 29),
        at(2026, 10, 25),
        at(2026, 3, 8),
        at(2026, 11, 1),
        at(2026, 4, 5),
        at(2026, 9, 6),
        at(2026, 9, 27),
    ]
).flatmap(
    lambda day: st.integers(min_value=-36 * 60, max_value=36 * 60).map(lambda m: day + timedelta(minutes=m))
)


def first_minute_is_next_start(hours: WorkingHours, tz: str, moment: datetime) -> None:
    """`next_start` against reading the wall clock minute by minute from `moment`."""
    begins = hours.next_start(moment, tz)
    assert hours.covers(begins, tz)
    assert (begins == moment) == hours.covers(moment, tz)
    # Offsets and DST changes fall on whole minutes, and hours on quarter hours: the hours begin on a
    # minute, and none before it is covered.
    assert begins.second == 0 and begins.microsecond == 0
    minute = moment
    while minute < begins:
        assert not hours.covers(minute, tz), minute
        minute += timedelta(minutes=1)
    assert minute == begins
    assert begins - moment <= timedelta(hours=26)


@settings(max_examples=300, deadline=None)
@given(hours=hours_strategy, tz=st.sampled_from(ZONES), moment=st.one_of(moments, dst_days))
def test_next_start_is_the_first_minute_the_hours_cover(
    hours: WorkingHours, tz: str, moment: datetime
) -> None:
    first_minute_is_next_start(hours, tz, moment)


# Hours that begin or end in the small hours, where the clocks change.
small_hours = st.integers(min_value=0, max_value=15).map(lambda q: time(q // 4, q % 4 * 15))
changing_hours = (
    st.one_of(st.tuples(small_hours, quarters), st.tuples(quarters, small_hours))
    .filter(lambda pair: pair[0] != pair[1])
    .map(lambda pair: WorkingHours(*pair))
)


@settings(max_examples=300, deadline=None)
@given(hours=changing_hours, tz=st.sampled_from(ZONES), moment=dst_days)
def test_next_start_is_exact_when_the_clocks_change_inside_the_hours(
    hours: WorkingHours, tz: str, moment: datetime
) -> None:
    first_minute_is_next_start(hours, tz, moment)


@given(hours=hours_strategy)
def test_hours_written_out_read_back_the_same(hours: WorkingHours) -> None:
    assert parse_hours(hours.text) == hours


@given(hours=hours_strategy, moment=moments)
def test_a_moment_is_in_overnight_hours_exactly_when_it_is_outside_their_complement(
    hours: WorkingHours, moment: datetime
) -> None:
    complement = WorkingHours(hours.end, hours.start)
    assert hours.covers(moment, BERLIN) != complement.covers(moment, BERLIN)
