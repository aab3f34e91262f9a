"""Route an escalation: the first matching policy decides it or names its council and rule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from bot.council_file import PolicySpec, RouteSpec
from bot.governance import Rule
from bot.governance.policy import Facts, first_match
from models import Agent, Council, Policy, Setting
from models.enums import Kind

INCIDENT_ACK_SECONDS = 3600


@dataclass(frozen=True)
class Route:
    """Where an escalation goes, and how it is decided, before anyone sees it."""

    policy: str | None
    council: Council | None
    rule: Rule
    deadline_seconds: int
    # As council.yml writes them ("50%", "1h"): shares of the escalation's own deadline, or times.
    reminders: tuple[str, ...] = ()
    on_timeout: str = "reject"
    decide: str | None = None
    reason: str = ""


async def policies() -> list[PolicySpec]:
    """Return the policies in their council.yml order."""
    return [PolicySpec.model_validate(p.spec) for p in await Policy.all().order_by("position")]


async def defaults() -> RouteSpec:
    """Return the route for escalations that no policy matches."""
    row = await Setting.filter(key="defaults").first()
    return RouteSpec.model_validate(row.value) if row and row.value else RouteSpec()


async def route(
    *,
    agent: Agent,
    kind: str,
    category: str | None,
    risk: str | None,
    amount: Decimal | None,
    currency: str | None,
) -> Route:
    """Match the policies in order; with no match, use the default council and rule."""
    facts = Facts(agent=agent.name, kind=kind, category=category, risk=risk, amount=amount, currency=currency)
    chosen = plan(await policies(), await defaults(), facts)
    # A council council.yml no longer lists is retired: it receives no new escalations.
    live = Council.filter(retired_at=None)
    council = await live.filter(name=chosen.council).first() if chosen.council else None
    if council is None and agent.council_id is not None:
        council = await live.filter(id=agent.council_id).first()
    return Route(
        policy=chosen.policy,
        council=council,
        rule=chosen.rule,
        deadline_seconds=chosen.deadline_seconds,
        reminders=chosen.reminders,
        on_timeout=chosen.on_timeout,
        decide=chosen.decide,
        reason=chosen.reason,
    )


@dataclass(frozen=True)
class Plan:
    """What the policies make of an escalation's facts, with its council only named (None: the agent's)."""

    policy: str | None
    council: str | None
    rule: Rule
    deadline_seconds: int
    reminders: tuple[str, ...]
    on_timeout: str
    decide: str | None
    reason: str


def plan(policies: Sequence[PolicySpec], fallback: RouteSpec, facts: Facts) -> Plan:
    """Match the policies in order, else take the default route; pure, so a replay can use it too."""
    policy = first_match(policies, facts, key=lambda p: p.match)
    spec: RouteSpec = policy if policy is not None else fallback
    name = policy.name if policy is not None else None
    deadline = spec.deadline_seconds() if spec.deadline or spec is fallback else fallback.deadline_seconds()
    if facts.kind == Kind.INCIDENT and not (spec.deadline or fallback.deadline):
        # An incident's deadline is for taking ownership: far shorter than a vote's.
        deadline = INCIDENT_ACK_SECONDS
    reminders = spec.remind if spec.remind or spec is fallback else fallback.remind
    return Plan(
        policy=name,
        council=spec.council or fallback.council,
        rule=spec.rule or fallback.rule or Rule(),
        deadline_seconds=deadline,
        reminders=tuple(reminders),
        on_timeout=spec.on_timeout,
        decide=policy.decide if policy is not None else None,
        reason=f"policy {name}" if name else "no policy matched: default route",
    )
