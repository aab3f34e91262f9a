"""Storm control's limits in council.yml, and who may reject alone."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.governance import Elector, LimitsSpec, Rule


def test_storm_limits_default_to_twenty_a_minute_and_five_quiet_minutes() -> None:
    limits = LimitsSpec()
    assert (limits.storm_threshold(), limits.storm_quiet_seconds(), limits.auto_pause_after) == (
        20,
        300,
        None,
    )
    assert LimitsSpec().model_dump(exclude_none=True) == {}  # an export stays as it was written


def test_storm_limits_are_read_as_written() -> None:
    limits = LimitsSpec.model_validate({"storm_after": 50, "auto_pause_after": 500, "storm_quiet": "10m"})
    assert (limits.storm_threshold(), limits.auto_pause_after, limits.storm_quiet_seconds()) == (50, 500, 600)


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"auto_pause_after": 20}, "must be above storm_after"),
        ({"storm_after": 100, "auto_pause_after": 50}, "must be above storm_after"),
        ({"storm_after": 0}, "greater than or equal to 1"),
        ({"storm_quiet": "soon"}, "duration"),
    ],
)
def test_bad_storm_limits_are_refused(limits: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        LimitsSpec.model_validate(limits)


CHAIR = Elector("U0PEOPLE1", "people", "chair")
MEMBER = Elector("U0TECH001", "technology")


@pytest.mark.parametrize(
    ("rule", "elector", "alone"),
    [
        (Rule(type="majority", veto=("chair",)), CHAIR, True),
        (Rule(type="majority", veto=("chair",)), MEMBER, False),
        (Rule(type="single"), MEMBER, True),
        (Rule(type="single", quorum=2), MEMBER, False),
        (Rule(type="single", require_functions=("people",)), MEMBER, False),
        (Rule(type="unanimous"), CHAIR, False),
    ],
)
def test_who_rejects_alone(rule: Rule, elector: Elector, alone: bool) -> None:
    assert rule.rejects_alone(elector) is alone
