"""An agent changes its mind while the council votes: amend (votes voided) or withdraw."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from bot.db import transaction
from bot.errors import Conflict, EscalationClosed, Invalid, NotFound
from bot.governance import LimitsSpec, money
from bot.outbox.enqueue import announce
from bot.outbox.events import Amended, Withdrawn
from bot.runtime import Runtime
from bot.schemas import ActionIn, EscalationPatch, WithdrawIn
from bot.services import audit, rates, storms
from bot.services.agents import require_active
from bot.services.lookup import checked_id
from bot.services.routing import route
from models import Agent, Escalation, Vote
from models.enums import Status

AMENDABLE = ("title", "summary", "category", "risk", "context", "links")


async def _pending(conn: BaseDBAsyncClient, agent: Agent, public_id: str, doing: str) -> Escalation:
    escalation = (
        await Escalation.filter(public_id=checked_id(public_id), agent=agent)
        .select_for_update()
        .using_db(conn)
        .first()
    )
    if escalation is None:
        raise NotFound(f"no escalation {public_id!r} for this agent")
    if escalation.status != Status.PENDING:
        raise EscalationClosed(f"cannot {doing} {public_id}: it is already {escalation.status}")
    return escalation


def _snapshot(escalation: Escalation) -> dict[str, Any]:
    return {
        **{name: getattr(escalation, name) for name in AMENDABLE},
        "action": escalation.action,
        "amount": str(escalation.amount) if escalation.amount is not None else None,
        "version": escalation.version,
    }


async def _void_votes(conn: BaseDBAsyncClient, escalation: Escalation) -> list[dict[str, Any]]:
    votes = await Vote.filter(escalation=escalation).using_db(conn).order_by("id")
    voided = [{"user": v.user_id, "choice": v.choice, "reason": v.reason} for v in votes]
    await Vote.filter(escalation=escalation).using_db(conn).delete()
    return voided


async def amend(rt: Runtime, *, agent: Agent, public_id: str, patch: EscalationPatch) -> Escalation:
    """Change a pending escalation; votes cast so far are voided and the voters told.

    A patch that changes nothing (every value as it is) leaves the escalation as it is: the same
    version, no vote voided, nothing said in Slack. Either way the request counts against the rate.
    """
    require_active(agent)
    async with transaction() as conn:
        await rates.admit(conn, agent)
        escalation = await _pending(conn, agent, public_id, "amend")
        changed = _changed(escalation, patch)
        if not changed:
            return escalation
        before = _snapshot(escalation)
        _apply(agent, escalation, patch, changed)
        await _same_route(agent, escalation)
        escalation.version += 1
        await escalation.save(using_db=conn)
        voided = await _void_votes(conn, escalation)
        await audit.record(
            conn,
            actor_type="agent",
            actor_id=agent.name,
            action="escalation.amended",
            subject=public_id,
            payload={"before": before, "after": _snapshot(escalation), "voided_votes": voided},
        )
        event = Amended(version=escalation.version, fields=changed, voided=[v["user"] for v in voided])
        await announce(conn, escalation, event)
        await storms.touch_for(conn, escalation)
    rt.after_commit()
    return escalation


def _changed(escalation: Escalation, patch: EscalationPatch) -> list[str]:
    """Name the fields the patch gives a new value; a value equal to the present one is no change."""
    sent = patch.model_dump(mode="json", exclude_unset=True)
    changed = [name for name in AMENDABLE if name in sent and sent[name] != getattr(escalation, name)]
    # Compared as models, so 1250 and "1250.00", or "usd" and "USD", are the same action.
    if "action" in sent and (patch.action or ActionIn()) != ActionIn.model_validate(escalation.action):
        changed.insert(0, "action")
    return changed


def _apply(agent: Agent, escalation: Escalation, patch: EscalationPatch, changed: list[str]) -> None:
    sent = patch.model_dump(mode="json", exclude_unset=True)
    if "action" in changed:
        action = patch.action.model_dump(mode="json", exclude_none=True) if patch.action else {}
        escalation.action = action
        escalation.amount = patch.action.amount if patch.action else None
        escalation.currency = action.get("currency")
        _check_cap(agent, escalation)
    for name in AMENDABLE:
        if name in changed:
            setattr(escalation, name, sent[name])


async def _same_route(agent: Agent, escalation: Escalation) -> None:
    """Refuse an amendment after which the policies would route the escalation differently.

    The council votes under the rule the escalation was routed by; a change of facts that would pick
    another policy (a larger amount, another category) needs a new escalation, not a quiet edit.
    """
    chosen = await route(
        agent=agent,
        kind=escalation.kind,
        category=escalation.category,
        risk=escalation.risk,
        amount=escalation.amount,
        currency=escalation.currency,
    )
    if chosen.policy != escalation.policy_name or (
        chosen.council and chosen.council.id != escalation.council_id
    ):
        now = f"policy {chosen.policy}" if chosen.policy else "the default route"
        raise Conflict(
            f"after this change the escalation would be routed by {now}, not "
            f"{'policy ' + escalation.policy_name if escalation.policy_name else 'the default route'}; "
            "withdraw it and escalate again",
            code="reroute_required",
        )


def _check_cap(agent: Agent, escalation: Escalation) -> None:
    cap = LimitsSpec.model_validate(agent.limits).cap()
    if cap is None or escalation.amount is None or not cap.counts(escalation.currency):
        return
    if escalation.amount > cap.amount:
        raise Invalid(
            f"amount {money(escalation.amount, escalation.currency)} is over {agent.name}'s hard cap of "
            f"{money(cap.amount, cap.currency or escalation.currency)}",
            details=[{"field": "action.amount", "message": "over the agent's hard cap"}],
        )


async def withdraw(rt: Runtime, *, agent: Agent, public_id: str, body: WithdrawIn) -> Escalation:
    """Close a pending escalation as withdrawn; buttons go, voters are told."""
    async with transaction() as conn:
        escalation = await _pending(conn, agent, public_id, "withdraw")
        reason = (body.reason or "").strip() or None
        now = datetime.now(UTC)
        await (
            Escalation.filter(id=escalation.id)
            .using_db(conn)
            .update(status=Status.WITHDRAWN, resolution=reason, resolved_at=now, closed_at=now)
        )
        escalation.status, escalation.resolution = Status.WITHDRAWN, reason
        voters = await Vote.filter(escalation=escalation).using_db(conn).values_list("user_id", flat=True)
        await audit.record(
            conn,
            actor_type="agent",
            actor_id=agent.name,
            action="escalation.withdrawn",
            subject=public_id,
            payload={"reason": reason, "voters": list(voters)},
        )
        await announce(conn, escalation, Withdrawn(reason=reason, voters=[str(v) for v in voters]))
        await storms.touch_for(conn, escalation)
    rt.after_commit(decided=public_id)
    rt.metrics.closed(escalation)
    return escalation
