"""Replay a period's escalations through a proposed council.yml, writing nothing: `council policy simulate`.

Each stored escalation is routed again by the proposed policies (`routing.plan`) and settled by the
proposed mandate (`governance.settle`), oldest first, with a running auto-approval budget per agent.
The replay starts a day before the period, unreported, so the rolling 24 h budget is already spent as
the proposal would have spent it when the period opens. It only reads: no row, outbox item or Slack
message comes of it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.council_file import CouncilFile, RouteSpec
from bot.governance import LimitsSpec, Rule, Settlement, settle
from bot.governance.policy import Facts, format_duration
from bot.services.agents import REMOVED_FROM_FILE
from bot.services.routing import Plan, plan
from bot.services.simulate_figures import Fate, Handling, Happened, Replayed, Simulation, change, summarise
from models import Agent, Escalation, Setting
from models.enums import DecidedBy, Kind, Outcome

BUDGET_WINDOW = timedelta(hours=24)
# How mandate.settle's reason begins when the budget, not the policy, sent an approval to a council;
# intake stores that reason as the escalation's route_reason.
OVER_BUDGET = "auto-approval budget of "


@dataclass(frozen=True)
class Stored:
    """A stored escalation, as the replay reads it."""

    id: str
    created_at: datetime
    agent: str
    kind: str
    title: str
    amount: Decimal | None
    currency: str | None
    category: str | None
    risk: str | None
    status: str
    council: str | None
    policy: str | None
    rule: dict[str, Any]
    reason: str
    outcome: str | None
    decided_by: str | None


COLUMNS = {
    "id": "public_id",
    "created_at": "created_at",
    "agent": "agent__name",
    "kind": "kind",
    "title": "title",
    "amount": "amount",
    "currency": "currency",
    "category": "category",
    "risk": "risk",
    "status": "status",
    "council": "council__name",
    "policy": "policy_name",
    "rule": "rule",
    "reason": "route_reason",
    "outcome": "decision__outcome",
    "decided_by": "decision__decided_by",
}
ENUMS = ("kind", "risk", "status", "outcome", "decided_by")


@dataclass(frozen=True)
class Mandate:
    """An agent as applying the proposed file would leave it; no limits: it would be paused."""

    limits: LimitsSpec | None
    council: str | None


class Budgets:
    """What the proposal approved automatically, per agent, within the last 24 h of the replay.

    Running sums per agent and currency, so each look-up costs what leaves the window, not the day.
    """

    def __init__(self) -> None:
        self._spent: dict[str, deque[tuple[datetime, Decimal, str]]] = {}
        self._sums: dict[str, dict[str | None, Decimal]] = {}

    def used(self, agent: str, currency: str | None, at: datetime) -> Decimal:
        """Sum the agent's automatic approvals in the 24 h up to `at` (only `currency`'s, if given)."""
        spent, sums = self._spent.setdefault(agent, deque()), self._sums.setdefault(agent, {})
        while spent and spent[0][0] < at - BUDGET_WINDOW:
            _, amount, spent_in = spent.popleft()
            sums[None] -= amount
            sums[spent_in] -= amount
        return sums.get(currency, Decimal(0))

    def spend(self, agent: str, at: datetime, amount: Decimal | None, currency: str | None) -> None:
        """Count an automatic approval against the agent's budget."""
        if amount is None:
            return
        spent_in = (currency or "").upper()
        self._spent.setdefault(agent, deque()).append((at, amount, spent_in))
        sums = self._sums.setdefault(agent, {})
        for key in (None, spent_in):
            sums[key] = sums.get(key, Decimal(0)) + amount


async def simulate(config: CouncilFile, *, source: str, period: timedelta, now: datetime) -> Simulation:
    """Replay the escalations of the period up to `now` through the proposed file; change nothing."""
    start = now - period
    mandates = await _mandates(config)
    budgets = Budgets()
    replayed = []
    for row in await _stored(start - BUDGET_WINDOW, now):
        proposed = _propose(row, config, mandates[row.agent], budgets)
        if row.created_at >= start:
            replayed.append(_replayed(row, proposed))
    return summarise(
        replayed,
        file=source,
        since=format_duration(int(period.total_seconds())),
        start=start,
        end=now,
    )


async def _stored(start: datetime, end: datetime) -> list[Stored]:
    """The escalations created from `start` to `end`, oldest first, with their decisions."""
    query = Escalation.filter(created_at__gte=start, created_at__lte=end).order_by("created_at", "id")
    rows = await query.values(*COLUMNS.values())
    found = []
    for row in rows:
        values = {name: row[column] for name, column in COLUMNS.items()}
        for name in ENUMS:
            values[name] = str(values[name]) if values[name] is not None else None
        found.append(Stored(**values | {"rule": values["rule"] or {}, "reason": values["reason"] or ""}))
    return found


async def _mandates(config: CouncilFile) -> dict[str, Mandate]:
    """Each agent's limits and council once the proposed file were applied.

    An agent the file lists takes its limits and council from it; one the last applied file declared
    (or already removed) and this one leaves out would be paused; one created outside council.yml
    keeps its own, its council only while the file still lists that council.
    """
    row = await Setting.filter(key="declared_agents").first()
    declared = set(row.value if row else [])
    listed = {spec.name: spec for spec in config.agents}
    councils = {spec.name for spec in config.councils}
    mandates = {}
    for agent in await Agent.all().select_related("council"):
        spec = listed.get(agent.name)
        if spec is not None:
            mandates[agent.name] = Mandate(spec.mandate(), spec.council)
        elif agent.name in declared or agent.paused_reason == REMOVED_FROM_FILE:
            mandates[agent.name] = Mandate(None, None)
        else:
            own = agent.council.name if agent.council is not None else None
            mandates[agent.name] = Mandate(
                LimitsSpec.model_validate(agent.limits), own if own in councils else None
            )
    return mandates


def _propose(row: Stored, config: CouncilFile, mandate: Mandate, budgets: Budgets) -> Handling:
    """Route and settle one escalation as the proposed file would have, spending the budget it uses."""
    if mandate.limits is None:
        return Handling(fate="refused", reason=f"{row.agent} would be paused: {REMOVED_FROM_FILE}")
    facts = Facts(
        agent=row.agent,
        kind=row.kind,
        category=row.category,
        risk=row.risk,
        amount=row.amount,
        currency=row.currency,
    )
    chosen = plan(config.policies, config.defaults or RouteSpec(), facts)
    council = chosen.council or mandate.council
    settlement = _settle(row, chosen, mandate.limits, budgets)
    if settlement.decide == "approve":
        budgets.spend(row.agent, row.created_at, row.amount, row.currency)
        return Handling(fate="auto_approved", council=council, policy=chosen.policy, reason=settlement.reason)
    if settlement.decide == "reject":
        return Handling(fate="auto_rejected", council=council, policy=chosen.policy, reason=settlement.reason)
    if council is None:
        # Intake refuses such a request (`no_route`): it never becomes an escalation.
        return Handling(
            fate="refused",
            policy=chosen.policy,
            reason="no council to route it to: no policy names one and there is no default council",
        )
    return Handling(
        fate="council",
        council=council,
        policy=chosen.policy,
        rule=chosen.rule.describe() if row.kind == Kind.APPROVAL else None,
        over_budget=settlement.reason.startswith(OVER_BUDGET),
        reason=settlement.reason,
    )


def _settle(row: Stored, chosen: Plan, limits: LimitsSpec, budgets: Budgets) -> Settlement:
    """What the mandate makes of the route, as intake settles it: only approvals are decided at once."""
    if row.kind != Kind.APPROVAL:
        return Settlement(None, chosen.reason)
    budget = limits.budget()
    used = Decimal(0)
    if chosen.decide == "approve" and budget is not None:
        used = budgets.used(row.agent, budget.currency, row.created_at)
    return settle(
        policy_decides=chosen.decide,
        policy=chosen.policy,
        amount=row.amount,
        currency=row.currency,
        limits=limits,
        auto_used_24h=used,
        agent=row.agent,
    )


def _happened(row: Stored) -> Happened:
    """What the stored escalation says happened: a policy's decision at once, or a council."""
    fate: Fate = "council"
    if row.decided_by == DecidedBy.POLICY:
        fate = "auto_approved" if row.outcome == Outcome.APPROVED else "auto_rejected"
    return Happened(
        fate=fate,
        council=row.council,
        policy=row.policy,
        rule=Rule.model_validate(row.rule).describe() if row.rule else None,
        over_budget=fate == "council" and row.reason.startswith(OVER_BUDGET),
        reason=row.reason,
        status=row.status,
        outcome=row.outcome,
        decided_by=row.decided_by,
    )


def _replayed(row: Stored, proposed: Handling) -> Replayed:
    actual = _happened(row)
    return Replayed(
        id=row.id,
        created_at=row.created_at,
        agent=row.agent,
        kind=row.kind,
        title=row.title,
        amount=row.amount,
        currency=row.currency,
        change=change(actual, proposed),
        actual=actual,
        proposed=proposed,
    )
