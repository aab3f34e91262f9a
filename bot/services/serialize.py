"""The escalation JSON that agents read (API answers, callbacks), rendered through its output model."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from bot.api_out import ActionOut, DecisionOut, EscalationOut
from bot.governance import Choice, Rule
from bot.services import storms
from models import Council, Decision, Escalation, Vote


def vote_choices(votes: Iterable[Vote]) -> dict[str, Choice]:
    """Map each voter to their current choice."""
    return {vote.user_id: Choice(vote.choice) for vote in votes}


def decision_out(decision: Decision) -> DecisionOut:
    """Describe a recorded decision as agents read it."""
    return DecisionOut(
        outcome=decision.outcome,
        decided_by=decision.decided_by,
        decided_at=decision.decided_at,
        tally=decision.tally,
        votes=decision.votes,
        reasons=decision.reasons,
        conditions=decision.conditions,
        approved_amount=decision.approved_amount,
    )


def escalation_out(
    escalation: Escalation, decision: Decision | None, *, council: str | None = None
) -> EscalationOut:
    """Describe an escalation, with its decision, as agents read it."""
    rule = Rule.model_validate(escalation.rule) if escalation.rule else None
    # The stored action holds the amount as sent; the column holds it as a decimal.
    action = {**escalation.action, "amount": escalation.amount}
    return EscalationOut(
        id=escalation.public_id,
        status=escalation.status,
        kind=escalation.kind,
        title=escalation.title,
        summary=escalation.summary,
        action=ActionOut.model_validate(action),
        category=escalation.category,
        risk=escalation.risk,
        council=council,
        policy=escalation.policy_name,
        route=escalation.route_reason,
        rule=rule.describe() if rule and escalation.kind == "approval" else None,
        deadline=escalation.deadline,
        created_at=escalation.created_at,
        decision=decision_out(decision) if decision else None,
        execution=escalation.execution,
        version=escalation.version,
        context=escalation.context,
        links=escalation.links,
        run_id=escalation.run_id,
        call_id=escalation.call_id,
        owner=escalation.owner_user_id,
        acknowledged_at=escalation.acknowledged_at,
        resolved_at=escalation.resolved_at,
        resolution=escalation.resolution,
        related=escalation.related,
        storm=storms.subject(escalation.storm_id) if escalation.storm_id is not None else None,
    )


def escalation_json(
    escalation: Escalation, decision: Decision | None, *, council: str | None = None
) -> dict[str, Any]:
    """Render an escalation as the API's JSON."""
    return escalation_out(escalation, decision, council=council).as_json()


async def load_escalation_out(escalation: Escalation, conn: BaseDBAsyncClient | None = None) -> EscalationOut:
    """Fetch what the answer needs (council, decision) and describe the escalation."""
    council = (
        await Council.filter(id=escalation.council_id).using_db(conn).first()
        if escalation.council_id
        else None
    )
    decision = await Decision.filter(escalation_id=escalation.id).using_db(conn).first()
    return escalation_out(escalation, decision, council=council.name if council else None)


async def load_escalation_json(
    escalation: Escalation, conn: BaseDBAsyncClient | None = None
) -> dict[str, Any]:
    """Fetch what the JSON needs (council, decision) and render it."""
    return (await load_escalation_out(escalation, conn)).as_json()
