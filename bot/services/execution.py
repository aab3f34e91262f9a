"""Execution reports: what actually ran, beside what was proposed and approved."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from tortoise.backends.base.client import BaseDBAsyncClient

from bot.api_out import amount_text, utc_text
from bot.db import transaction
from bot.errors import Conflict, NotFound
from bot.governance import money
from bot.outbox.enqueue import announce
from bot.outbox.events import ExecutionReported
from bot.runtime import Runtime
from bot.schemas import ExecutionIn
from bot.services import audit, incidents
from bot.services.lookup import checked_id
from models import Agent, Decision, Escalation
from models.enums import AgentStatus, Kind, Outcome, Status


@dataclass(frozen=True)
class Breach:
    """Why an execution went beyond what the council approved."""

    summary: str


def breach_of(escalation: Escalation, decision: Decision | None, report: ExecutionIn) -> Breach | None:
    """Compare what ran with what was approved; None when it stayed within the approval."""
    if report.status == "failed":
        return None
    if escalation.kind != Kind.APPROVAL or escalation.status != Status.APPROVED or decision is None:
        return Breach(f"executed {escalation.public_id} although it was {escalation.status}, not approved")
    approved = decision.approved_amount if decision.approved_amount is not None else escalation.amount
    if report.currency and escalation.currency and report.currency != escalation.currency:
        return Breach(f"executed in {report.currency}, but {escalation.currency} was approved")
    if report.amount is None:
        return None
    if approved is None or report.amount > approved:
        allowed = money(approved, escalation.currency) if approved is not None else "no amount"
        return Breach(f"executed {money(report.amount, escalation.currency)} against {allowed} approved")
    return None


def execution_json(
    escalation: Escalation, decision: Decision | None, report: ExecutionIn, breach: Breach | None
) -> dict[str, object]:
    approved = decision.approved_amount if decision and decision.outcome == Outcome.APPROVED else None
    return {
        "status": report.status,
        "proposed_amount": _text(escalation.amount),
        "approved_amount": _text(approved),
        "executed_amount": _text(report.amount),
        "currency": report.currency or escalation.currency,
        "details": report.details,
        "executed_at": utc_text(report.executed_at or datetime.now(UTC)),
        "reported_at": utc_text(datetime.now(UTC)),
        "within_approval": breach is None,
        "breach": breach.summary if breach else None,
    }


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else amount_text(amount)


async def report(rt: Runtime, *, agent: Agent, public_id: str, body: ExecutionIn) -> Escalation:
    """Record an execution; one beyond the approval opens an incident and pauses the agent."""
    async with transaction() as conn:
        # The agent row first, as intake and admin changes take it: the same lock order, no deadlock.
        await Agent.filter(id=agent.id).select_for_update().using_db(conn).first()
        escalation = (
            await Escalation.filter(public_id=checked_id(public_id), agent=agent)
            .select_for_update()
            .using_db(conn)
            .first()
        )
        if escalation is None:
            raise NotFound(f"no escalation {public_id!r} for this agent")
        if escalation.execution is not None:
            raise Conflict(f"the execution of {public_id} was already reported", code="already_reported")
        decision = await Decision.filter(escalation_id=escalation.id).using_db(conn).first()
        breach = breach_of(escalation, decision, body)
        escalation.execution = execution_json(escalation, decision, body, breach)
        escalation.executed_amount = body.amount
        await escalation.save(using_db=conn, update_fields=["execution", "executed_amount", "updated_at"])
        await audit.record(
            conn,
            actor_type="agent",
            actor_id=agent.name,
            action="escalation.executed",
            subject=public_id,
            payload=escalation.execution,
        )
        await announce(conn, escalation, ExecutionReported())
        if breach is not None:
            await _stop(conn, agent, escalation, breach)
    rt.after_commit()
    return escalation


async def _stop(conn: BaseDBAsyncClient, agent: Agent, escalation: Escalation, breach: Breach) -> None:
    """Pause the agent and open an incident that names it and its owner."""
    reason = f"{breach.summary} ({escalation.public_id})"
    await Agent.filter(id=agent.id).using_db(conn).update(status=AgentStatus.PAUSED, paused_reason=reason)
    await audit.record(
        conn,
        actor_type="system",
        actor_id="execution-check",
        action="agent.paused",
        subject=agent.name,
        payload={"reason": reason},
    )
    await incidents.open_for_breach(conn, agent=agent, escalation=escalation, summary=breach.summary)
