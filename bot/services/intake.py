"""Admit an agent's request: its rate limit, its mandate, and the escalation it opens."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient

from bot.db import transaction
from bot.errors import Invalid
from bot.governance import LimitsSpec, Settlement, Snapshot, electorate_for, settle
from bot.governance.ballot import Elector
from bot.governance.electorate import in_seats
from bot.governance.policy import reminders_within
from bot.outbox.enqueue import enqueue
from bot.outbox.events import Opened
from bot.schemas import EscalationIn
from bot.services import audit, decisions, rates, storms
from bot.services.routing import Route
from models import Agent, Decision, Escalation, Member
from models.enums import STATUS_ON_OPEN, DecidedBy, Kind, Outcome
from models.escalation import new_public_id


async def auto_approved_24h(conn: BaseDBAsyncClient, agent: Agent, currency: str | None = None) -> Decimal:
    """Sum what policies approved for this agent without the council in the last 24 hours.

    With a currency, only approvals in that currency count: a budget in USD is not spent by euros.
    """
    since = datetime.now(UTC) - timedelta(hours=24)
    approved = Decision.filter(
        escalation__agent_id=agent.id,
        decided_by=DecidedBy.POLICY,
        outcome=Outcome.APPROVED,
        decided_at__gte=since,
    )
    rows = await approved.using_db(conn).values_list("approved_amount", "escalation__currency")
    return sum(
        (
            Decimal(amount)
            for amount, spent_in in rows
            if amount is not None and (currency is None or (spent_in or "").upper() == currency)
        ),
        Decimal(0),
    )


async def _settle(conn: BaseDBAsyncClient, agent: Agent, body: EscalationIn, chosen: Route) -> Settlement:
    if body.kind != Kind.APPROVAL:
        return Settlement(None, chosen.reason)
    limits = LimitsSpec.model_validate(agent.limits)
    used = Decimal(0)
    budget = limits.budget()
    if chosen.decide == "approve" and budget is not None:
        # Under the agent's lock (rates.admit): one at a time, so concurrent requests cannot overshoot.
        used = await auto_approved_24h(conn, agent, budget.currency)
    return settle(
        policy_decides=chosen.decide,
        policy=chosen.policy,
        amount=body.amount,
        currency=body.action.currency if body.action else None,
        limits=limits,
        auto_used_24h=used,
        agent=agent.name,
    )


async def _snapshot(conn: BaseDBAsyncClient, chosen: Route, owner: str, voting: bool) -> Snapshot:
    """Freeze the rule and the electorate the council votes under (nothing when nobody votes)."""
    if not voting:
        return Snapshot(None, ())
    members = await Member.filter(council=chosen.council, active=True).using_db(conn).order_by("id")
    everyone = [Elector(user=m.user_id, function=m.function, role=m.role) for m in members]
    assert chosen.council is not None  # noqa: S101 - a vote always has a council
    today = datetime.now(UTC).astimezone(ZoneInfo(chosen.council.timezone)).date()
    away = {
        m.user_id: m.delegate_user_id
        for m in members
        if m.delegate_user_id and m.away_until and m.away_until >= today
    }
    return Snapshot(chosen.rule, electorate_for(in_seats(everyone, away), chosen.rule, owner))


def _fields(
    body: EscalationIn, chosen: Route, settlement: Settlement, snapshot: Snapshot, *, stormed: bool
) -> dict[str, Any]:
    """The escalation's columns, from the request, its route and what was frozen for the vote.

    An escalation in a storm gets no reminders of its own: a storm's hundreds would bury the
    council in direct messages; the grouped message shows what still waits, and the deadline holds.
    """
    now = datetime.now(UTC)
    action = body.action.model_dump(mode="json", exclude_none=True) if body.action else {}
    deadline = body.deadline or now + timedelta(seconds=body.deadline_seconds or chosen.deadline_seconds)
    voting = snapshot.rule is not None
    rule, electorate = snapshot.stored()
    return {
        "kind": body.kind,
        "title": body.title,
        "summary": body.summary,
        "action": action,
        "amount": body.amount,
        "currency": action.get("currency"),
        "category": body.category,
        "risk": body.risk,
        "context": body.context,
        "links": [link.model_dump() for link in body.links],
        "callback_url": body.callback_url,
        "run_id": body.run_id,
        "call_id": body.call_id,
        "status": STATUS_ON_OPEN[Kind(body.kind)],
        "council": chosen.council,
        "channel_id": chosen.council.channel_id if chosen.council else None,
        "policy_name": chosen.policy,
        "route_reason": settlement.reason,
        "rule": rule,
        "electorate": electorate,
        "on_timeout": chosen.on_timeout,
        "remind_at": _remind_at(chosen, now=now, deadline=deadline) if voting and not stormed else [],
        "deadline": deadline if voting or body.kind == Kind.INCIDENT else None,
        # A notice waits for no one: it is closed as it is posted.
        "closed_at": now if body.kind == Kind.NOTICE else None,
    }


def _remind_at(chosen: Route, *, now: datetime, deadline: datetime) -> list[str]:
    """When to remind, from this escalation's own deadline (the agent's, if it gave one)."""
    length = math.floor((deadline - now).total_seconds())
    return [(now + timedelta(seconds=s)).isoformat() for s in reminders_within(chosen.reminders, length)]


async def open_escalation(
    *, agent: Agent, body: EscalationIn, chosen: Route, idempotency_key: str | None, fingerprint: str
) -> tuple[Escalation, bool]:
    """Write the escalation, its audit event and its first effect (a post, or a decision) at once.

    Return it, and whether it started a storm.
    """
    async with transaction() as conn:
        locked = await rates.admit(conn, agent)
        settlement = await _settle(conn, agent, body, chosen)
        if settlement.decide is None and chosen.council is None:
            raise Invalid(
                "no council to route this to: no policy names one and there is no default council; "
                "add `defaults: {council: …}` to council.yml",
                code="no_route",
            )
        voting = body.kind == Kind.APPROVAL and settlement.decide is None
        snapshot = await _snapshot(conn, chosen, agent.owner_user_id, voting)
        admission = await storms.admit(
            conn, locked, kind=body.kind, council=chosen.council, needs_council=voting
        )
        escalation = await Escalation.create(
            using_db=conn,
            public_id=new_public_id(),
            agent=agent,
            idempotency_key=idempotency_key,
            request_hash=fingerprint,
            storm=admission.storm,
            **_fields(body, chosen, settlement, snapshot, stormed=admission.storm is not None),
        )
        await audit.record(
            conn,
            actor_type="agent",
            actor_id=agent.name,
            action="escalation.created",
            subject=escalation.public_id,
            payload={
                "request": body.model_dump(mode="json"),
                "route": settlement.reason,
                "rule": escalation.rule,
                "electorate": escalation.electorate,
            },
        )
        await _first_effect(conn, escalation, settlement, actor=chosen.policy or "mandate")
        await storms.joined(conn, admission, escalation)
    return escalation, admission.started


async def _first_effect(
    conn: BaseDBAsyncClient, escalation: Escalation, settlement: Settlement, *, actor: str
) -> None:
    """Decide at once when the policy and mandate say so; otherwise post it to the council.

    An escalation in a storm is not posted: the storm's grouped message shows it.
    """
    if settlement.decide is None:
        if escalation.storm_id is None:
            await enqueue(conn, Opened(), escalation=escalation)
        return
    await decisions.record(
        conn,
        escalation,
        outcome=Outcome.APPROVED if settlement.decide == "approve" else Outcome.REJECTED,
        decided_by=DecidedBy.POLICY,
        reasons=[settlement.reason],
        actor=actor,
    )
