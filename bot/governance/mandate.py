"""An agent's mandate: what a policy may decide for it without the council. Pure arithmetic."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Limits:
    """The agent's limits from council.yml; None means no limit."""

    max_amount: Decimal | None = None
    auto_budget_24h: Decimal | None = None
    rate_per_minute: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Limits:
        def amount(key: str) -> Decimal | None:
            value = data.get(key)
            return None if value is None else Decimal(str(value))

        rate = data.get("rate_per_minute")
        return cls(
            amount("max_amount"), amount("auto_budget_24h"), int(str(rate)) if rate is not None else None
        )


@dataclass(frozen=True)
class Settlement:
    """What the mandate makes of a policy's route: decide now ('approve'/'reject') or ask the council."""

    decide: str | None
    reason: str


def money(amount: Decimal, currency: str | None) -> str:
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency or "", "")
    text = f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"
    return f"{symbol}{text}" if symbol else f"{text} {currency}".strip()


def settle(
    *,
    policy_decides: str | None,
    policy: str | None,
    amount: Decimal | None,
    currency: str | None,
    limits: Limits,
    auto_used_24h: Decimal,
    agent: str,
) -> Settlement:
    """Apply the hard cap and the rolling auto-approval budget to what the policy wants."""
    if limits.max_amount is not None and amount is not None and amount > limits.max_amount:
        return Settlement(
            "reject",
            f"{money(amount, currency)} is over {agent}'s hard cap of "
            f"{money(limits.max_amount, currency)} per action",
        )
    if policy_decides == "reject":
        return Settlement("reject", f"rejected by policy {policy}")
    if policy_decides != "approve":
        return Settlement(None, f"policy {policy}" if policy else "no policy matched: default route")
    budget = limits.auto_budget_24h
    if budget is not None and (amount or Decimal(0)) + auto_used_24h > budget:
        return Settlement(
            None,
            f"auto-approval budget of {money(budget, currency)} per 24 h used "
            f"({money(auto_used_24h, currency)} approved automatically so far); "
            f"sent to the council",
        )
    return Settlement("approve", f"approved by policy {policy} within {agent}'s mandate")
