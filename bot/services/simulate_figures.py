"""What a simulation found: how each escalation was and would be handled, and the figures added up.

These models are what `council policy simulate --json` prints (docs/governance.md lists the fields).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel

from bot.api_out import Amount, Timestamp

Fate = Literal["auto_approved", "auto_rejected", "council", "refused"]
Change = Literal[
    "auto_approved", "auto_rejected", "over_budget", "to_council", "rerouted", "refused", "unchanged"
]
CHANGES: tuple[Change, ...] = (
    "auto_approved",
    "auto_rejected",
    "over_budget",
    "to_council",
    "rerouted",
    "refused",
    "unchanged",
)


class Handling(BaseModel):
    """How an escalation was, or would be, handled: decided at once, sent to a council, or refused."""

    fate: Fate
    council: str | None = None
    policy: str | None = None
    # The voting rule in words, for an approval sent to a council's vote.
    rule: str | None = None
    over_budget: bool = False
    reason: str = ""


class Happened(Handling):
    """What actually happened to an escalation, and where it stands now."""

    status: str
    outcome: str | None = None
    decided_by: str | None = None


class Replayed(BaseModel):
    """One escalation of the period: what happened, what the proposal would have done, and the change."""

    id: str
    created_at: Timestamp
    agent: str
    kind: str
    title: str
    amount: Amount | None
    currency: str | None
    change: Change
    actual: Happened
    proposed: Handling


class Total(BaseModel):
    """The amounts of one currency added up (currency None: amounts given without one)."""

    currency: str | None
    amount: Amount


class Figure(BaseModel):
    """How many escalations, and their amounts added up per currency."""

    count: int = 0
    amounts: list[Total] = []


class Side(BaseModel):
    """The period's escalations by how they were (or would be) handled; over_budget is part of council."""

    auto_approved: Figure
    auto_rejected: Figure
    council: Figure
    over_budget: Figure
    refused: Figure


class Changes(BaseModel):
    """The period's escalations by what the proposal changes for each: every one is counted once."""

    auto_approved: Figure
    auto_rejected: Figure
    over_budget: Figure
    to_council: Figure
    rerouted: Figure
    refused: Figure
    unchanged: Figure


class Simulation(BaseModel):
    """What a proposed council.yml would have done with a period's escalations, beside what happened."""

    file: str
    since: str
    start: Timestamp
    end: Timestamp
    escalations: int
    actual: Side
    proposed: Side
    changes: Changes
    # Only the escalations that would change, oldest first.
    changed: list[Replayed]


def change(actual: Handling, proposed: Handling) -> Change:
    """Name what the proposal changes for one escalation (the first that applies, in CHANGES order)."""
    if proposed.fate != "council":
        return "unchanged" if proposed.fate == actual.fate else proposed.fate
    if proposed.over_budget and not actual.over_budget:
        return "over_budget"
    if actual.fate != "council":
        return "to_council"
    if (proposed.council, proposed.rule) != (actual.council, actual.rule):
        return "rerouted"
    return "unchanged"


def side(rows: list[Replayed], which: Callable[[Replayed], Handling]) -> Side:
    """Add up the escalations by how `which` says each was handled."""

    def fate(name: Fate) -> Figure:
        return figure(r for r in rows if which(r).fate == name)

    return Side(
        auto_approved=fate("auto_approved"),
        auto_rejected=fate("auto_rejected"),
        council=fate("council"),
        over_budget=figure(r for r in rows if which(r).over_budget),
        refused=fate("refused"),
    )


def figure(rows: Iterable[Replayed]) -> Figure:
    """Count the escalations and add up their amounts per currency (no currency last)."""
    count, sums = 0, dict[str | None, Decimal]()
    for row in rows:
        count += 1
        if row.amount is not None:
            currency = row.currency.upper() if row.currency else None
            sums[currency] = sums.get(currency, Decimal(0)) + row.amount
    order = sorted(sums, key=lambda c: (c is None, c or ""))
    return Figure(count=count, amounts=[Total(currency=c, amount=sums[c]) for c in order])


def summarise(rows: list[Replayed], *, file: str, since: str, start: datetime, end: datetime) -> Simulation:
    """Add up the period's replayed escalations, actually and as proposed, and list those that change."""
    return Simulation(
        file=file,
        since=since,
        start=start,
        end=end,
        escalations=len(rows),
        actual=side(rows, lambda r: r.actual),
        proposed=side(rows, lambda r: r.proposed),
        changes=Changes.model_validate(
            {name: figure(r for r in rows if r.change == name) for name in CHANGES}
        ),
        changed=[r for r in rows if r.change != "unchanged"],
    )
