"""Record a decision, close the escalation, and queue what everyone must be told."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from bot.errors import EscalationClosed
from bot.governance import Snapshot, count
from bot.outbox.enqueue import announce, enqueue
from bot.outbox.events import AgentCallback, Decided
from bot.services import audit, log_scope, storms
from bot.services.serialize import load_escalation_json, vote_choices
from models import Decision, Escalation, Vote
from models.enums import ActorType, DecidedBy, Outcome, Status

log = logging.getLogger(__name__)


async def record(
    conn: BaseDBAsyncClient,
    escalation: Escalation,
    *,
    outcome: Outcome,
    decided_by: DecidedBy,
    reasons: list[str],
    actor: str = "council",
    status: Status | None = None,
    approved_amount: Decimal | None = None,
) -> Decision:
    """Close a pending escalation with an outcome; refuse if someone else closed it first."""
    await _close(conn, escalation, Status(status or outcome))
    votes = await Vote.filter(escalation=escalation).using_db(conn).order_by("created_at", "id")
    snapshot = Snapshot.read(escalation.rule, escalation.electorate)
    tally = count(snapshot.electorate, vote_choices(votes)).as_dict() if snapshot.rule else {}
    conditions = None
    if outcome == Outcome.APPROVED and decided_by == DecidedBy.COUNCIL:
        conditions, approved_amount = approvers_terms(votes, escalation.amount)
    elif outcome == Outcome.APPROVED and approved_amount is None:
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
        approved_amount=approved_amount if outcome == Outcome.APPROVED else None,
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
            "rule": snapshot.describe(),
        },
    )
    await _tell(conn, escalation)
    # The deadline job decides outside any request: the line names its escalation itself.
    async with log_scope.about(public_id=escalation.public_id, conn=conn):
        log.info("escalation decided: %s by %s", outcome, decided_by)
    return decision


async def _close(conn: BaseDBAsyncClient, escalation: Escalation, status: Status) -> None:
    """Move the escalation from pending to its final status, or refuse: only one decision wins."""
    now = datetime.now(UTC)
    changed = (
        await Escalation.filter(id=escalation.id, status=Status.PENDING)
        .using_db(conn)
        .update(status=status, updated_at=now, closed_at=now)
    )
    if changed != 1:
        raise EscalationClosed("this escalation has already been decided")
    escalation.status, escalation.closed_at = status, now


async def _tell(conn: BaseDBAsyncClient, escalation: Escalation) -> None:
    """Queue the decision for the council's channel and the agent's callback."""
    await announce(conn, escalation, Decided())
    await storms.touch_for(conn, escalation)
    if escalation.callback_url:
        body = {
            "type": "escalation.decided",
            "id": "evt_" + secrets.token_hex(12),
            "escalation": await load_escalation_json(escalation, conn),
        }
        await enqueue(conn, AgentCallback(url=escalation.callback_url, body=body), escalation=escalation)


def _vote_json(vote: Vote) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "user": vote.user_id,
        "function": vote.function,
        "choice": vote.choice,
        "reason": vote.reason,
    }
    if vote.on_behalf_of:
        entry["on_behalf_of"] = vote.on_behalf_of
    if vote.conditions:
        entry["conditions"] = vote.conditions
    if vote.approved_amount is not None:
        entry["approved_amount"] = format(vote.approved_amount.normalize(), "f")
    return entry


def approvers_terms(votes: list[Vote], requested: Decimal | None) -> tuple[str | None, Decimal | None]:
    """Every approver's conditions bind the agent, and the lowest amount any approver allowed."""
    approvers = [v for v in votes if v.choice == "approve"]
    conditions = [f"{v.user_id} ({v.function}): {v.conditions}" for v in approvers if v.conditions]
    amounts = [v.approved_amount for v in approvers if v.approved_amount is not None]
    return ("\n".join(conditions) or None), (min(amounts) if amounts else requested)


def _actor_type(decided_by: DecidedBy) -> ActorType:
    members = (DecidedBy.COUNCIL, DecidedBy.OWNER)
    if decided_by in members:
        return ActorType.MEMBER
    return ActorType.ADMIN if decided_by == DecidedBy.ADMIN else ActorType.SYSTEM
