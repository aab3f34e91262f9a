"""Policy matching, durations and reminders."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

import pytest
from pydantic import ValidationError

from bot.governance.policy import (
    Facts,
    PolicyMatch,
    first_match,
    format_duration,
    matches,
    parse_duration,
    parse_reminders,
    reminders_within,
)

REFUND = Facts(
    agent="refund-bot",
    kind="approval",
    category="Refunds",
    risk="high",
    amount=Decimal("499.99"),
    currency="eur",
)


@pytest.mark.parametrize(
    ("match", "holds"),
    [
        ({}, True),
        ({"agent": "refund-bot"}, True),
        ({"agent": "Refund-Bot"}, False),
        ({"kind": "approval"}, True),
        ({"kind": "incident"}, False),
        ({"category": "refunds"}, True),  # categories compare ignoring case
        ({"category": "payroll"}, False),
        ({"risk": "high"}, True),
        ({"risk": "critical"}, False),
        ({"amount_lt": 500}, True),
        ({"amount_lt": "499.99"}, False),  # strictly below
        ({"amount_gte": "499.99"}, True),
        ({"amount_gte": 500}, False),
        ({"amount_gte": 100, "amount_lt": 500}, True),
        ({"currency": "EUR"}, True),
        ({"currency": "usd"}, False),
        ({"agent": "refund-bot", "kind": "approval", "amount_lt": 500, "currency": "eur"}, True),
        ({"agent": "refund-bot", "kind": "approval", "amount_lt": 100}, False),  # every key must hold
    ],
)
def test_every_key_given_must_hold(match: dict[str, object], holds: bool) -> None:
    assert matches(PolicyMatch.model_validate(match), REFUND) is holds


@pytest.mark.parametrize(
    "match",
    [{"amount_lt": 500}, {"amount_gte": 0}, {"category": "refunds"}, {"risk": "high"}, {"currency": "EUR"}],
)
def test_a_condition_never_matches_a_fact_the_escalation_lacks(match: dict[str, object]) -> None:
    bare = Facts(agent="refund-bot", kind="approval", category=None, risk=None, amount=None, currency=None)
    assert not matches(PolicyMatch.model_validate(match), bare)
    assert matches(PolicyMatch(), bare)


@pytest.mark.parametrize(
    ("match", "message"),
    [
        ({"amount": 5}, "Extra inputs are not permitted"),
        ({"kind": "question"}, "'approval', 'incident' or 'notice'"),
        ({"risk": "extreme"}, "'low', 'medium', 'high' or 'critical'"),
        ({"amount_lt": -1}, "greater than or equal to 0"),
        ({"amount_gte": "lots"}, "valid decimal"),
        ({"amount_lt": "NaN"}, "finite number"),
        ({"currency": "EURO"}, "currency must be a 3-letter code like 'EUR', not 'EURO'"),
        ({"amount_gte": 500, "amount_lt": 500}, "amount_gte (500) must be below amount_lt (500)"),
    ],
)
def test_a_bad_match_is_refused_with_a_clear_message(match: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as error:
        PolicyMatch.model_validate(match)
    assert message in str(error.value)


def test_a_currency_is_kept_in_capitals() -> None:
    assert PolicyMatch(currency="eur").currency == "EUR"


@dataclass(frozen=True)
class Policy:
    name: str
    match: PolicyMatch


POLICIES = [
    Policy("small-refunds", PolicyMatch(agent="refund-bot", amount_lt=Decimal(100))),
    Policy("refunds", PolicyMatch(agent="refund-bot")),
    Policy("approvals", PolicyMatch(kind="approval")),
]


def test_the_first_matching_policy_wins() -> None:
    assert first_match(POLICIES, REFUND) == POLICIES[1]
    assert first_match(POLICIES, replace(REFUND, amount=Decimal(5))) == POLICIES[0]
    assert first_match(POLICIES, replace(REFUND, agent="hr-bot")) == POLICIES[2]


def test_no_match_is_none_so_the_caller_takes_the_default_route() -> None:
    assert first_match(POLICIES, replace(REFUND, agent="hr-bot", kind="incident")) is None
    assert first_match([], REFUND) is None


def test_first_match_can_read_the_match_through_a_key() -> None:
    rows = [{"name": "notices", "match": {"kind": "notice"}}, {"name": "all", "match": {}}]
    chosen = first_match(rows, REFUND, key=lambda row: PolicyMatch.model_validate(row["match"]))
    assert chosen == rows[1]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("30m", 1800),
        ("4h", 14_400),
        ("2d", 172_800),
        ("1h30m", 5400),
        ("1d2h3m4s", 93_784),
        (" 4h ", 14_400),
        ("365d", 31_536_000),
    ],
)
def test_a_duration_reads_as_seconds(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "use whole numbers with units d, h, m, s (largest first), like '90s', '30m', '4h'"),
        ("90", "use whole numbers with units"),
        ("4 hours", "use whole numbers with units"),
        ("30m1h", "use whole numbers with units"),
        ("1.5h", "use whole numbers with units"),
        ("-5m", "use whole numbers with units"),
        ("4H", "use whole numbers with units"),
        ("1h1h", "use whole numbers with units"),
        ("٤h", "use whole numbers with units"),  # an Arabic-Indic digit is not a digit here
        ("0s", "it must be longer than zero"),
        ("0h0m", "it must be longer than zero"),
        ("366d", "it must be at most 365d"),
    ],
)
def test_a_bad_duration_says_what_to_write(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match="invalid duration") as error:
        parse_duration(text)
    assert problem in str(error.value)
    assert repr(text) in str(error.value)


def test_a_duration_that_is_not_text_is_refused() -> None:
    with pytest.raises(ValueError, match="invalid duration 90"):
        parse_duration(90)  # type: ignore[arg-type]


@pytest.mark.parametrize("seconds", [1, 59, 60, 90, 3600, 5400, 93_784, 86_400])
def test_format_duration_writes_what_parse_duration_reads(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


def test_format_duration_is_compact() -> None:
    assert format_duration(5400) == "1h30m"
    assert format_duration(0) == "0s"


@pytest.mark.parametrize(
    ("items", "deadline", "offsets"),
    [
        (["50%", "90%"], 14_400, [7200, 12_960]),
        (["90%", "1h", "50%"], 14_400, [3600, 7200, 12_960]),  # sorted
        (["50%", "2h"], 14_400, [7200]),  # the same moment twice is one reminder
        (["33.3%"], 100, [33]),  # rounded down to the second
        (["3h59m59s"], 14_400, [14_399]),
        ([], 14_400, []),
        ((item for item in ["1h"]), 14_400, [3600]),
    ],
)
def test_reminders_read_as_sorted_offsets_before_the_deadline(
    items: list[str], deadline: int, offsets: list[int]
) -> None:
    assert parse_reminders(items, deadline) == offsets


@pytest.mark.parametrize(
    ("items", "deadline", "problem"),
    [
        (["100%"], 14_400, "reminder '100%' is not before the deadline (4h)"),
        (["4h"], 14_400, "reminder '4h' is not before the deadline (4h)"),
        (["5h"], 14_400, "reminder '5h' is not before the deadline (4h)"),
        (["150%"], 5400, "reminder '150%' is not before the deadline (1h30m)"),
        (["0%"], 14_400, "reminder '0%' falls at creation (deadline 4h)"),
        (["1%"], 10, "reminder '1%' falls at creation (deadline 10s)"),
        (["soon"], 14_400, "invalid reminder 'soon': use a share of the deadline like '50%'"),
        (["-10%"], 14_400, "invalid reminder '-10%'"),
        ([50], 14_400, "invalid reminder 50"),
        ("50%", 14_400, "reminders must be a list, like ['50%', '1h'], not '50%'"),
        (["50%"], 0, "the deadline must be in the future, not 0 seconds"),
    ],
)
def test_a_bad_reminder_says_what_is_wrong(items: object, deadline: int, problem: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_reminders(items, deadline)  # type: ignore[arg-type]
    assert problem in str(error.value)


@pytest.mark.parametrize(
    ("items", "deadline", "offsets"),
    [
        (["50%", "90%"], 60, [30, 54]),  # shares of this escalation's own minute
        (["50%", "1h"], 600, [300]),  # an hour in is after a 10-minute deadline: left out
        (["1%", "50%"], 60, [30]),  # 1% of a minute is under a second: at creation, left out
        (["4h"], 14_400, []),  # at the deadline, not before it
        (["50%", "1h"], 7200, [3600]),  # the same moment twice is one reminder
    ],
)
def test_reminders_within_an_escalations_own_deadline_keep_only_those_before_it(
    items: list[str], deadline: int, offsets: list[int]
) -> None:
    assert reminders_within(items, deadline) == offsets
