"""An agent's mandate: what a policy may decide for it without the council. Pure arithmetic."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.governance.policy import parse_duration

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
STORM_AFTER = 20
STORM_QUIET_SECONDS = 300


class LimitsSpec(BaseModel):
    """An agent's limits, as council.yml writes them and the agent row stores them; None is no limit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_amount: Annotated[Decimal, Field(ge=0)] | None = None
    auto_budget_24h: Annotated[Decimal, Field(ge=0)] | None = None
    rate_per_minute: Annotated[int, Field(ge=1, le=100_000)] | None = None
    # Storm control: escalations needing the council within a minute before they are grouped.
    storm_after: Annotated[int, Field(ge=1, le=100_000)] | None = None
    auto_pause_after: Annotated[int, Field(ge=1, le=100_000)] | None = None
    storm_quiet: str | None = None

    @field_validator("storm_quiet")
    @classmethod
    def _quiet(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @model_validator(mode="after")
    def _pause_past_storm(self) -> LimitsSpec:
        if self.auto_pause_after is not None and self.auto_pause_after <= self.storm_threshold():
            raise ValueError(
                f"auto_pause_after ({self.auto_pause_after}) must be above storm_after "
                f"({self.storm_threshold()}): the agent is paused in a storm, not before one"
            )
        return self

    def storm_threshold(self) -> int:
        """Escalations needing the council within a minute that are posted one by one (default 20)."""
        return self.storm_after if self.storm_after is not None else STORM_AFTER

    def storm_quiet_seconds(self) -> int:
        """Seconds without a new escalation after which a storm ends (default 5 minutes)."""
        return parse_duration(self.storm_quiet) if self.storm_quiet else STORM_QUIET_SECONDS


@dataclass(frozen=True)
class Settlement:
    """What the mandate makes of a policy's route: decide now ('approve'/'reject') or ask the council."""

    decide: str | None
    reason: str


def money(amount: Decimal | None, currency: str | None) -> str:
    """Write an amount as people read it, the same everywhere: `$1,250`, `€99.50`, `1,250 CHF`."""
    if amount is None:
        return "—"
    whole = amount == amount.to_integral_value()
    symbol = SYMBOLS.get((currency or "").upper())
    if symbol:
        return f"{symbol}{amount:,.0f}" if whole else f"{symbol}{amount:,.2f}"
    text = f"{amount:,.0f}" if whole else f"{amount:,.2f}"
    return f"{text} {currency}" if currency else text


def settle(
    *,
    policy_decides: str | None,
    policy: str | None,
    amount: Decimal | None,
    currency: str | None,
    limits: LimitsSpec,
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
