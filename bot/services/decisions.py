"""Record a decision, close the escalation, and queue what everyone must be told."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from bot.errors import EscalationClosed
from bot.governance.rules import Elector, Rule, count
from bot.services import audit, outbox
from bot.services.serialize import load_escalation_json, vote_choices
from models import Decision, Escalation, Vote


async def record(
    conn: BaseDBAsyncClient,
    escalation: Escalation,
    *,
    outcome: str,
    decided_by: str,
    reasons: list[str],
    actor: str = "council",
    status: str | None = None,
    conditions: str | None = None,
    approved_amount: Decimal | None = None,
) -> Decision:
    """Close a pending escalation with an outcome; refuse if someone else closed it first."""
    new_status = status or outcome
    changed = (
        await Escalation.filter(id=escalation.id, status="pending")
        .using_db(conn)
        .update(status=new_status, updated_at=datetime.now(UTC))
    )
    if changed != 1:
        raise EscalationClosed("this escalation has already been decided")
    escalation.status = new_status
    votes = await Vote.filter(escalation=escalation).using_db(conn).order_by("created_at", "id")
    electorate = [Elector(**e) for e in escalation.electorate]
    tally = count(electorate, vote_choices(votes)).as_dict() if escalation.rule else {}
    if outcome == "approved" and decided_by == "council":
        conditions, approved_amount = _approvers_terms(votes, escalation.amount)
    elif outcome == "approved" and approved_amount is None:
        approved_amount = escalation.amount
    decision = await Decision.create(
        using_db=conn,
        escalation=escalation,
        outcome=outcome,
        decided_by=decided_by,
        reasons=reasons,
        tally=tally,
        votes=[_vote_json(v) for v in votes],
        conditions=conditions,
        approved_amount=approved_amount if outcome == "approved" else None,
    )
    await audit.record(
        conn,
        actor_type=_actor_type(decided_by),
        actor_id=actor,
        action="escalation.decided",
        subject=escalation.public_id,
        payload={
            "outcome": outcome,
            "decided_by": decided_by,
            "reasons": reasons,
            "tally": tally,
            "rule": Rule.model_validate(escalation.rule).describe() if escalation.rule else None,
        },
    )
    if await outbox.has_message(conn, escalation):
        await outbox.enqueue(conn, outbox.UPDATE_ESCALATION, escalation=escalation)
        await outbox.enqueue(conn, outbox.THREAD_REPLY, escalation=escalation, payload={"event": "decided"})
    if escalation.callback_url:
        body = {
            "type": "escalation.decided",
            "id": "evt_" + secrets.token_hex(12),
            "escalation": await load_escalation_json(escalation, conn),
        }
        await outbox.enqueue(
            conn,
            outbox.CALLBACK,
            escalation=escalation,
            payload={"url": escalation.callback_url, "body": body},
        )
    return decision


def _vote_json(vote: Vote) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "user": vote.user_id,
        "function": vote.function,
        "choice": vote.choice,
        "reason": vote.reason,
    }
    if vote.conditions:
        entry["conditions"] = vote.conditions
    if vote.approved_amount is not None:
        entry["approved_amount"] = format(vote.approved_amount.normalize(), "f")
    return entry


def _approvers_terms(votes: list[Vote], requested: Decimal | None) -> tuple[str | None, Decimal | None]:
    """Every approver's conditions bind the agent, and the lowest amount any approver allowed."""
    approvers = [v for v in votes if v.choice == "approve"]
    conditions = [f"{v.user_id} ({v.function}): {v.conditions}" for v in approvers if v.conditions]
    amounts = [v.approved_amount for v in approvers if v.approved_amount is not None]
    return ("\n".join(conditions) or None), (min(amounts) if amounts else requested)


def _actor_type(decided_by: str) -> str:
    return {"council": "member", "owner": "member", "admin": "admin"}.get(decided_by, "system")
