"""An agent's mandate: what a policy may decide for it without the council. Pure arithmetic."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from bot.governance.policy import parse_duration

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
STORM_AFTER = 20
STORM_QUIET_SECONDS = 300


CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$", to_upper=True)]


class MoneyLimit(BaseModel):
    """A limit in one currency: `{amount: 100000, currency: USD}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    amount: Annotated[Decimal, Field(ge=0)]
    currency: CurrencyCode


class LimitsSpec(BaseModel):
    """An agent's limits, as council.yml writes them and the agent row stores them; None is no limit.

    A money limit is a plain number (it counts every amount, whatever its currency) or an amount with
    a currency; `currency` gives one to every plain money limit of the agent. A limit with a currency
    never counts an amount of another currency, or of none, against it: such an escalation goes to
    the council with the reason said.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_amount: Annotated[Decimal, Field(ge=0)] | MoneyLimit | None = None
    auto_budget_24h: Annotated[Decimal, Field(ge=0)] | MoneyLimit | None = None
    rate_per_minute: Annotated[int, Field(ge=1, le=100_000)] | None = None
    # Storm control: escalations needing the council within a minute before they are grouped.
    storm_after: Annotated[int, Field(ge=1, le=100_000)] | None = None
    auto_pause_after: Annotated[int, Field(ge=1, le=100_000)] | None = None
    storm_quiet: str | None = None
    currency: CurrencyCode | None = None

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

    def cap(self) -> Limit | None:
        """The hard cap per action, with its currency if it has one."""
        return self._limit(self.max_amount)

    def budget(self) -> Limit | None:
        """The rolling 24-hour auto-approval budget, with its currency if it has one."""
        return self._limit(self.auto_budget_24h)

    def _limit(self, value: Decimal | MoneyLimit | None) -> Limit | None:
        if value is None:
            return None
        if isinstance(value, MoneyLimit):
            return Limit(value.amount, value.currency)
        return Limit(value, self.currency)


@dataclass(frozen=True)
class Limit:
    """One money limit: the amount, and the currency it is in (None: it counts every currency)."""

    amount: Decimal
    currency: str | None

    def counts(self, currency: str | None) -> bool:
        """Whether an amount in `currency` is measured against this limit."""
        return self.currency is None or (currency or "").upper() == self.currency

    def mismatch(self, what: str, agent: str, currency: str | None) -> str:
        """Say why an amount in another currency (or none) is not measured against the limit."""
        given = f"in {currency.upper()}" if currency else "without a currency"
        return (
            f"the amount is {given}, and {agent}'s {what} is in {self.currency}: "
            f"not comparable, so sent to the council"
        )


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
    """Apply the hard cap and the rolling auto-approval budget to what the policy wants.

    An amount a limit cannot measure (another currency, or none, against a limit with a currency)
    is never decided by the mandate: it goes to the council, saying why, unless a policy rejects it.
    """
    cap = limits.cap()
    if cap is not None and amount is not None:
        if not cap.counts(currency):
            if policy_decides == "reject":
                return Settlement("reject", f"rejected by policy {policy}")
            return Settlement(None, cap.mismatch("hard cap", agent, currency))
        if amount > cap.amount:
            return Settlement(
                "reject",
                f"{money(amount, currency)} is over {agent}'s hard cap of "
                f"{money(cap.amount, cap.currency or currency)} per action",
            )
    if policy_decides == "reject":
        return Settlement("reject", f"rejected by policy {policy}")
    if policy_decides != "approve":
        return Settlement(None, f"policy {policy}" if policy else "no policy matched: default route")
    budget = limits.budget()
    if budget is not None:
        if amount is not None and not budget.counts(currency):
            return Settlement(None, budget.mismatch("auto-approval budget", agent, currency))
        if (amount or Decimal(0)) + auto_used_24h > budget.amount:
            shown = budget.currency or currency
            return Settlement(
                None,
                f"auto-approval budget of {money(budget.amount, shown)} per 24 h used "
                f"({money(auto_used_24h, shown)} approved automatically so far); "
                f"sent to the council",
            )
    return Settlement("approve", f"approved by policy {policy} within {agent}'s mandate")
