"""Admit an agent's request: its rate limit, its mandate, and the escalation it opens."""

from __future__ import annotations

import math
import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tortoise.backends.base.client import BaseDBAsyncClient

from bot.db import transaction
from bot.errors import Invalid, RateLimited
from bot.governance.electorate import electorate_for
from bot.governance.mandate import Limits, Settlement, settle
from bot.governance.rules import Elector
from bot.schemas import EscalationIn
from bot.services import audit, decisions, outbox
from bot.services.routing import Route
from models import Agent, Decision, Escalation, Member

STATUS_ON_OPEN = {"approval": "pending", "incident": "open", "notice": "posted"}


async def check_rate(agent: Agent) -> None:
    """Refuse with 429 an agent over its `rate_per_minute` (counted in the database, for every replica)."""
    rate = Limits.from_json(agent.limits).rate_per_minute
    if rate is None:
        return
    since = datetime.now(UTC) - timedelta(minutes=1)
    recent = Escalation.filter(agent=agent, created_at__gte=since)
    if await recent.count() < rate:
        return
    oldest = await recent.order_by("created_at").first()
    left = 60 - (datetime.now(UTC) - oldest.created_at).total_seconds() if oldest else 60
    raise RateLimited(
        f"agent {agent.name} is over its limit of {rate} escalations per minute",
        retry_after=max(1, math.ceil(left)),
    )


async def auto_approved_24h(conn: BaseDBAsyncClient, agent: Agent) -> Decimal:
    """Sum what policies approved for this agent without the council in the last 24 hours."""
    since = datetime.now(UTC) - timedelta(hours=24)
    amounts = (
        await Decision.filter(
            escalation__agent_id=agent.id, decided_by="policy", outcome="approved", decided_at__gte=since
        )
        .using_db(conn)
        .values_list("approved_amount", flat=True)
    )
    return sum((Decimal(a) for a in amounts if a is not None), Decimal(0))


async def _settle(conn: BaseDBAsyncClient, agent: Agent, body: EscalationIn, chosen: Route) -> Settlement:
    if body.kind != "approval":
        return Settlement(None, chosen.reason)
    limits = Limits.from_json(agent.limits)
    used = Decimal(0)
    if chosen.decide == "approve" and limits.auto_budget_24h is not None:
        # One agent's auto-approvals are settled one at a time, so concurrent requests cannot overshoot.
        await Agent.filter(id=agent.id).select_for_update().using_db(conn).first()
        used = await auto_approved_24h(conn, agent)
    return settle(
        policy_decides=chosen.decide,
        policy=chosen.policy,
        amount=body.amount,
        currency=body.action.currency if body.action else None,
        limits=limits,
        auto_used_24h=used,
        agent=agent.name,
    )


async def _electorate(conn: BaseDBAsyncClient, chosen: Route, owner: str) -> list[Elector]:
    members = await Member.filter(council=chosen.council, active=True).using_db(conn).order_by("id")
    everyone = [Elector(user=m.user_id, function=m.function, role=m.role) for m in members]
    return list(electorate_for(everyone, chosen.rule, owner))


async def open_escalation(
    *, agent: Agent, body: EscalationIn, chosen: Route, idempotency_key: str | None, fingerprint: str
) -> Escalation:
    """Write the escalation, its audit event and its first effect (a post, or a decision) at once."""
    now = datetime.now(UTC)
    action = body.action.model_dump(mode="json", exclude_none=True) if body.action else {}
    async with transaction() as conn:
        settlement = await _settle(conn, agent, body, chosen)
        voting = body.kind == "approval" and settlement.decide is None
        if settlement.decide is None and chosen.council is None:
            raise Invalid(
                "no council to route this to: no policy names one and there is no default council; "
                "add `defaults: {council: …}` to council.yml",
                code="no_route",
            )
        electorate = await _electorate(conn, chosen, agent.owner_user_id) if voting else []
        deadline = body.deadline or now + timedelta(seconds=body.deadline_seconds or chosen.deadline_seconds)
        escalation = await Escalation.create(
            using_db=conn,
            public_id="esc_" + secrets.token_hex(10),
            agent=agent,
            idempotency_key=idempotency_key,
            request_hash=fingerprint,
            kind=body.kind,
            title=body.title,
            summary=body.summary,
            action=action,
            amount=body.amount,
            currency=action.get("currency"),
            category=body.category,
            risk=body.risk,
            context=body.context,
            links=[link.model_dump() for link in body.links],
            callback_url=body.callback_url,
            run_id=body.run_id,
            call_id=body.call_id,
            status=STATUS_ON_OPEN[body.kind],
            council=chosen.council,
            channel_id=chosen.council.channel_id if chosen.council else None,
            policy_name=chosen.policy,
            route_reason=settlement.reason,
            rule=chosen.rule.model_dump(mode="json") if voting else {},
            electorate=[vars(e) for e in electorate],
            on_timeout=chosen.on_timeout,
            remind_at=[(now + timedelta(seconds=s)).isoformat() for s in chosen.remind_offsets]
            if voting
            else [],
            deadline=deadline if voting or body.kind == "incident" else None,
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
        if settlement.decide is not None:
            outcome = "approved" if settlement.decide == "approve" else "rejected"
            await decisions.record(
                conn,
                escalation,
                outcome=outcome,
                decided_by="policy",
                reasons=[settlement.reason],
                actor=chosen.policy or "mandate",
            )
        else:
            await outbox.enqueue(conn, outbox.POST_ESCALATION, escalation=escalation)
    return escalation
