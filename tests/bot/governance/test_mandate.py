"""The agent's mandate with currencies: a limit never measures an amount it cannot compare."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from bot.governance import LimitsSpec, settle
from bot.governance.mandate import Limit


def _settle(limits: dict[str, object], amount: str | None, currency: str | None, decides: str = "approve"):
    return settle(
        policy_decides=decides,
        policy="small-refunds",
        amount=Decimal(amount) if amount is not None else None,
        currency=currency,
        limits=LimitsSpec.model_validate(limits),
        auto_used_24h=Decimal(0),
        agent="refund-bot",
    )


CAP_USD = {"max_amount": {"amount": 100, "currency": "usd"}}
BUDGET_USD = {"auto_budget_24h": 50, "currency": "USD"}


@pytest.mark.parametrize(
    ("limits", "amount", "currency", "decide", "reason"),
    [
        (CAP_USD, "500", "USD", "reject", "$500 is over refund-bot's hard cap of $100 per action"),
        (CAP_USD, "500", "usd", "reject", "$500 is over refund-bot's hard cap of $100 per action"),
        (
            CAP_USD,
            "500",
            "EUR",
            None,
            "the amount is in EUR, and refund-bot's hard cap is in USD: not comparable, "
            "so sent to the council",
        ),
        (
            CAP_USD,
            "5",
            None,
            None,
            "the amount is without a currency, and refund-bot's hard cap is in USD: not comparable, "
            "so sent to the council",
        ),
        (BUDGET_USD, "20", "USD", "approve", "approved by policy small-refunds within refund-bot's mandate"),
        (
            BUDGET_USD,
            "20",
            "GBP",
            None,
            "the amount is in GBP, and refund-bot's auto-approval budget is in USD: not comparable, "
            "so sent to the council",
        ),
        # A plain limit keeps measuring every amount, as before currencies could be given.
        (
            {"max_amount": 100},
            "500",
            "EUR",
            "reject",
            "€500 is over refund-bot's hard cap of €100 per action",
        ),
        # With nothing to count, there is nothing to compare: a budget does not stop it.
        (BUDGET_USD, None, None, "approve", "approved by policy small-refunds within refund-bot's mandate"),
    ],
)
def test_a_limit_in_a_currency_measures_only_that_currency(
    limits: dict[str, object], amount: str | None, currency: str | None, decide: str | None, reason: str
) -> None:
    settlement = _settle(limits, amount, currency)
    assert (settlement.decide, settlement.reason) == (decide, reason)


def test_a_policy_rejection_still_holds_in_another_currency() -> None:
    settlement = _settle(CAP_USD, "500", "EUR", decides="reject")
    assert (settlement.decide, settlement.reason) == ("reject", "rejected by policy small-refunds")


def test_the_agent_currency_applies_to_plain_limits_only() -> None:
    limits = LimitsSpec.model_validate(
        {"currency": "eur", "max_amount": 10, "auto_budget_24h": {"amount": 5, "currency": "USD"}}
    )
    assert limits.cap() == Limit(Decimal(10), "EUR")
    assert limits.budget() == Limit(Decimal(5), "USD")


@pytest.mark.parametrize(
    "limits",
    [
        {"max_amount": {"amount": 100}},
        {"max_amount": {"amount": 100, "currency": "dollars"}},
        {"max_amount": {"amount": -1, "currency": "USD"}},
        {"currency": "US"},
    ],
)
def test_a_malformed_money_limit_is_refused(limits: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        LimitsSpec.model_validate(limits)
