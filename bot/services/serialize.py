"""The escalation JSON that agents read (GET, callbacks), built in one place."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from bot.governance import Choice, Rule
from models import Council, Decision, Escalation, Vote


def vote_choices(votes: Iterable[Vote]) -> dict[str, Choice]:
    """Map each voter to their current choice."""
    return {vote.user_id: Choice(vote.choice) for vote in votes}


def _time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def decision_json(decision: Decision) -> dict[str, Any]:
    return {
        "outcome": decision.outcome,
        "decided_by": decision.decided_by,
        "decided_at": _time(decision.decided_at),
        "tally": decision.tally,
        "votes": decision.votes,
        "reasons": decision.reasons,
        "conditions": decision.conditions,
        "approved_amount": _amount(decision.approved_amount),
    }


def escalation_json(
    escalation: Escalation, decision: Decision | None, *, council: str | None = None
) -> dict[str, Any]:
    """Render an escalation as the API's JSON."""
    rule = Rule.model_validate(escalation.rule) if escalation.rule else None
    return {
        "id": escalation.public_id,
        "status": escalation.status,
        "kind": escalation.kind,
        "title": escalation.title,
        "summary": escalation.summary,
        "action": {
            **escalation.action,
            **({"amount": _amount(escalation.amount)} if escalation.amount is not None else {}),
        },
        "category": escalation.category,
        "risk": escalation.risk,
        "council": council,
        "policy": escalation.policy_name,
        "route": escalation.route_reason,
        "rule": rule.describe() if rule and escalation.kind == "approval" else None,
        "deadline": _time(escalation.deadline),
        "created_at": _time(escalation.created_at),
        "decision": decision_json(decision) if decision else None,
        "execution": escalation.execution,
        "version": escalation.version,
        "context": escalation.context,
        "links": escalation.links,
        "run_id": escalation.run_id,
        "call_id": escalation.call_id,
        **(_incident_json(escalation) if escalation.kind == "incident" else {}),
    }


def _incident_json(escalation: Escalation) -> dict[str, Any]:
    return {
        "owner": escalation.owner_user_id,
        "acknowledged_at": _time(escalation.acknowledged_at),
        "resolved_at": _time(escalation.resolved_at),
        "resolution": escalation.resolution,
        "related": escalation.related,
    }


async def load_escalation_json(
    escalation: Escalation, conn: BaseDBAsyncClient | None = None
) -> dict[str, Any]:
    """Fetch what the JSON needs (council, decision) and render it."""
    council = (
        await Council.filter(id=escalation.council_id).using_db(conn).first()
        if escalation.council_id
        else None
    )
    decision = await Decision.filter(escalation_id=escalation.id).using_db(conn).first()
    return escalation_json(escalation, decision, council=council.name if council else None)
