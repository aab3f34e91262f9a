"""The digest's arithmetic: nearest-rank percentiles, the Gini coefficient, changes and advice."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.services.digest_figures import (
    MemberLoad,
    Week,
    busiest,
    changes,
    duration,
    gini,
    look_at,
    nearest_rank,
)


@pytest.mark.parametrize(
    ("n", "p", "index"), [(1, 0.5, 0), (3, 0.5, 1), (4, 0.5, 1), (10, 0.9, 8), (11, 0.9, 9), (3, 0.9, 2)]
)
def test_nearest_rank_picks_the_smallest_value_covering_p(n: int, p: float, index: int) -> None:
    assert nearest_rank(n, p) == index


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([5, 5, 5], 0.0),
        ([0, 0, 9], 2 / 3),
        ([1, 6, 6, 6], 15 / 76),
        ([3, 3, 3, 0], 0.25),
        ([1, 2, 3, 4], 0.25),
    ],
)
def test_gini_is_the_mean_absolute_difference_over_twice_the_mean(values: list[int], expected: float) -> None:
    pairs = sum(abs(a - b) for a in values for b in values)
    assert gini(values) == pytest.approx(pairs / (2 * len(values) ** 2 * (sum(values) / len(values))))
    assert gini(values) == pytest.approx(expected)


def test_gini_of_nobody_asked_is_unknown_not_zero() -> None:
    assert gini([0, 0, 0]) is None and gini([]) is None


def test_the_busiest_member_is_named_only_when_one_stands_out() -> None:
    tied = [
        MemberLoad(user="U1", function="people", asked=3),
        MemberLoad(user="U2", function="tech", asked=3),
    ]
    assert busiest(tied) == (None, 0.5)
    ahead = [*tied, MemberLoad(user="U3", function="finance", asked=4)]
    assert busiest(ahead) == ("U3", 0.4)
    assert busiest([MemberLoad(user="U1", function="people")]) == (None, None)


def _week(**figures: float) -> Week:
    week = Week(
        week="2026-W48",
        start=datetime(2026, 11, 23, tzinfo=UTC),
        end=datetime(2026, 11, 30, tzinfo=UTC),
        complete=True,
    )
    week.flow.p90_seconds = figures.get("p90")
    return week


def test_a_change_points_the_way_the_figure_moved() -> None:
    now, before = _week(p90=7200), _week(p90=3600)
    moved = changes(now, before)["p90_seconds"]
    assert (moved.now, moved.before, moved.arrow) == (7200, 3600, "↑")
    assert changes(before, now)["p90_seconds"].arrow == "↓"
    assert changes(now, now)["p90_seconds"].arrow == "→"


def test_a_quiet_week_says_nothing_stands_out() -> None:
    assert look_at(_week(), _week(), {}) == [
        "Nothing stands out this week: decisions kept up and the load was spread."
    ]


def test_a_doubled_p90_is_named_with_both_values() -> None:
    (line,) = look_at(_week(p90=7200), _week(p90=3600), {})
    assert line.startswith("p90 time to decision doubled (1.0 h → 2.0 h)")


def test_a_busy_member_is_named_with_the_function_to_add() -> None:
    week = _week()
    week.flourishing.members = [
        MemberLoad(user="U0FIN0001", function="finance", asked=42),
        MemberLoad(user="U0TECH001", function="technology", asked=58),
    ]
    week.flourishing.busiest, week.flourishing.busiest_share = "U0TECH001", 0.58
    (line,) = look_at(week, _week(), {"U0TECH001": "technology"})
    assert (
        line
        == "<@U0TECH001> was asked 58 % of all votes; consider adding a technology member to share the load"
    )


@pytest.mark.parametrize(
    ("seconds", "said"), [(45, "45 s"), (1200, "20 min"), (12600, "3.5 h"), (262800, "3.0 d")]
)
def test_durations_read_as_a_person_says_them(seconds: float, said: str) -> None:
    assert duration(seconds) == said
