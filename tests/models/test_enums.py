"""The stored vocabulary and the governance vocabulary name the same things."""

from __future__ import annotations

from typing import get_args

from bot import governance
from models.enums import Kind, Outcome, Risk


def test_kinds_risks_and_outcomes_agree_between_the_database_and_the_rules() -> None:
    # models may not import bot (a layer contract), so each side names its values; they must match.
    assert {k.value for k in Kind} == set(get_args(governance.Kind))
    assert {r.value for r in Risk} == set(get_args(governance.Risk))
    assert {o.value for o in Outcome} == {o.value for o in governance.Outcome}
