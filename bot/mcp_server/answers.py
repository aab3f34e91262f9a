"""What the tools answer: where an escalation stands, in words an LLM acts on and as data."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from bot.api_out import ActionOut, DecisionOut, EscalationOut, ExecutionOut, TallyOut, VoteOut, amount_text

# The longest a tool waits for a decision in one call; an LLM waits longer by calling again.
MAX_WAIT_SECONDS = 600
CHOICE_WORDS = {"approve": "approved", "reject": "rejected", "abstain": "abstained", "recuse": "recused"}
INCIDENT_STATUSES = ("open", "acknowledged", "resolved")


class Verdict(BaseModel):
    """Where an escalation stands; `proceed` is true only when the action is approved."""

    escalation_id: str | None = Field(
        default=None, description="esc_…: for check_escalation and report_execution"
    )
    status: str | None = Field(
        default=None,
        description=(
            "pending, approved, rejected, expired or withdrawn (incidents: open, acknowledged, resolved; "
            "notices: posted); null when the call failed"
        ),
    )
    proceed: bool = Field(
        default=False,
        description=(
            "true only when approved and not yet executed: act once, within approved_amount and conditions"
        ),
    )
    outcome: str | None = Field(default=None, description="approved or rejected; null until decided")
    decided_by: str | None = Field(default=None, description="council, policy, timeout, owner or admin")
    requested_amount: str | None = Field(
        default=None, description="the amount asked for, as a decimal string"
    )
    approved_amount: str | None = Field(default=None, description="when approved: the most you may execute")
    currency: str | None = None
    conditions: str | None = Field(default=None, description="conditions of the approval; they bind")
    reasons: list[str] = Field(
        default_factory=list, description="why it was decided so, including each member's reason"
    )
    error: str | None = Field(
        default=None, description="Council's error code when the call failed, such as not_found"
    )
    idempotency_key: str | None = Field(
        default=None,
        description="ask_council: the key it asked with; the same arguments and key never ask twice",
    )


class ExecutionAnswer(BaseModel):
    """What Council recorded of an execution report."""

    escalation_id: str = Field(description="the escalation reported on")
    recorded: bool = Field(default=False, description="true when Council recorded this report")
    within_approval: bool | None = Field(
        default=None, description="false when it went beyond what was approved"
    )
    breach: str | None = Field(default=None, description="how it went beyond the approval; null when within")
    executed_amount: str | None = None
    approved_amount: str | None = None
    currency: str | None = None
    error: str | None = Field(default=None, description="Council's error code when the report was refused")


def verdict(escalation: EscalationOut) -> Verdict:
    """Describe an escalation as data."""
    decision = escalation.decision
    action = escalation.action
    approved = escalation.status == "approved"
    return Verdict(
        escalation_id=escalation.id,
        status=str(escalation.status),
        proceed=approved and escalation.execution is None,
        outcome=str(decision.outcome) if decision else None,
        decided_by=str(decision.decided_by) if decision else None,
        requested_amount=_text(action.amount),
        approved_amount=_text(_most(escalation)) if approved else None,
        currency=action.currency,
        conditions=decision.conditions if decision else None,
        reasons=_reasons(decision) if decision else [],
        error=None,
    )


def verdict_text(escalation: EscalationOut, *, waited: float = 0) -> str:
    """Say where an escalation stands and what the agent may do now."""
    status = str(escalation.status)
    if escalation.kind != "approval":
        lines = _not_an_approval(escalation)
    elif status == "pending":
        lines = _pending(escalation, waited)
    elif status == "approved" and escalation.execution is not None:
        lines = [
            f"ALREADY EXECUTED: {_named(escalation)} was approved and you reported its execution. "
            "Do not act on it again; a new action needs a new ask_council."
        ]
    elif status == "approved":
        lines = _approved(escalation)
    elif status == "withdrawn":
        lines = [f"WITHDRAWN: {_named(escalation)} was withdrawn, so nothing was approved: do not proceed."]
    else:
        lines = _refused(escalation)
    if escalation.execution is not None:
        lines.append(execution_words(escalation.execution))
    return "\n".join(lines)


def _approved(escalation: EscalationOut) -> list[str]:
    decision = escalation.decision
    assert decision is not None  # noqa: S101 - Council decides before it approves
    lines = [f"APPROVED {_by(escalation, decision)}: {_named(escalation)}."]
    most, asked = _most(escalation), escalation.action.amount
    what = _action_words(escalation.action)
    if most is None:
        lines.append(f"You may proceed with {what}, as proposed.")
    elif asked is not None and most < asked:
        lines.append(
            f"You may proceed with {what} for at most {_money(most, escalation)} "
            f"(you asked for {_money(asked, escalation)})."
        )
    else:
        lines.append(f"You may proceed with {what} for at most {_money(most, escalation)}.")
    if decision.conditions:
        lines.append(f"Conditions (they bind): {decision.conditions}")
    lines.append(f"Reasons: {'; '.join(_reasons(decision))}")
    lines.append("Act once. Do not exceed the approved amount or do more than was proposed.")
    lines.append(
        f"When done, call report_execution with escalation_id {escalation.id} and what actually ran "
        "(status failed if it did not go through)."
    )
    return lines


def _refused(escalation: EscalationOut) -> list[str]:
    decision = escalation.decision
    if escalation.status == "expired" or (decision is not None and decision.decided_by == "timeout"):
        lines = [
            f"EXPIRED: the council did not decide {_named(escalation)} by its deadline, and a timeout "
            "never approves: do not proceed."
        ]
    else:
        by = _by(escalation, decision) if decision else ""
        lines = [f"REJECTED {by}: {_named(escalation)}. Do not proceed."]
    if decision is not None:
        lines.append(f"Reasons: {'; '.join(_reasons(decision))}")
    lines.append(
        "Do not retry the same action; ask again (a new ask_council) only with a changed request "
        "that answers the reasons."
    )
    return lines


def _pending(escalation: EscalationOut, waited: float) -> list[str]:
    head = f"STILL PENDING after {waited:.0f} s" if waited else "PENDING"
    closes = f"; the vote closes at {escalation.deadline:%Y-%m-%d %H:%M} UTC" if escalation.deadline else ""
    return [
        f"{head}: the council has not decided {_named(escalation)} yet{closes}.",
        f"Do not act yet. Call check_escalation with escalation_id {escalation.id} and wait_seconds "
        f"(up to {MAX_WAIT_SECONDS}) to wait for the decision.",
    ]


def _not_an_approval(escalation: EscalationOut) -> list[str]:
    status = str(escalation.status)
    what = "an incident" if status in INCIDENT_STATUSES else f"a {escalation.kind}"
    owner = f", owned by {escalation.owner}" if escalation.owner else ""
    resolution = f" Resolution: {escalation.resolution}" if escalation.resolution else ""
    return [
        f"{status.upper()}: {escalation.id} ({escalation.title}) is {what}{owner}.{resolution}",
        "It asks for no approval: nothing in it permits an action.",
    ]


def execution_words(execution: ExecutionOut) -> str:
    """Say what the agent reported ran, and whether it stayed within the approval."""
    amount = f" {amount_text(execution.executed_amount)}" if execution.executed_amount is not None else ""
    currency = f" {execution.currency}" if amount and execution.currency else ""
    ran = f"Execution reported: {execution.status}{amount}{currency}"
    if execution.within_approval:
        return f"{ran}, within the approval."
    return (
        f"{ran}, BEYOND THE APPROVAL: {execution.breach}. Council paused this agent and opened an "
        "incident; stop, and tell your owner. Only a human can resume you."
    )


def _by(escalation: EscalationOut, decision: DecisionOut) -> str:
    if decision.decided_by == "council":
        return f"by the council ({_tally(decision.tally)})"
    if decision.decided_by == "policy":
        return f"by policy {escalation.policy}" if escalation.policy else "by policy"
    return {"timeout": "at the deadline", "owner": "by your owner", "admin": "by a Council admin"}.get(
        str(decision.decided_by), f"by {decision.decided_by}"
    )


def _tally(tally: TallyOut) -> str:
    # Approvals and rejections always, as they decide; abstentions and recusals only when there were some.
    counts = {"approve": tally.approve or 0, "reject": tally.reject or 0}
    counts |= {
        choice: count for choice, count in (("abstain", tally.abstain), ("recuse", tally.recuse)) if count
    }
    return ", ".join(f"{count} {choice}" for choice, count in counts.items())


def _reasons(decision: DecisionOut) -> list[str]:
    return [
        *decision.reasons,
        *(_vote_words(vote) for vote in decision.votes if vote.reason or vote.conditions),
    ]


def _vote_words(vote: VoteOut) -> str:
    # The conditions themselves are the decision's `conditions`, said once, not once per vote.
    conditions = " with conditions" if vote.conditions else ""
    said = f": {vote.reason}" if vote.reason else ""
    return (
        f"{vote.function} ({vote.user}) {CHOICE_WORDS.get(str(vote.choice), vote.choice)}{conditions}{said}"
    )


def _most(escalation: EscalationOut) -> Decimal | None:
    """The most the agent may execute: the approved amount, else the amount it asked for."""
    decision = escalation.decision
    if decision is not None and decision.approved_amount is not None:
        return decision.approved_amount
    return escalation.action.amount


def _action_words(action: ActionOut) -> str:
    what = action.type or "the action"
    return f"{what} on {action.target}" if action.target else what


def _named(escalation: EscalationOut) -> str:
    return f"escalation {escalation.id} ({escalation.title})"


def _money(amount: Decimal, escalation: EscalationOut) -> str:
    currency = escalation.action.currency
    return f"{amount_text(amount)} {currency}" if currency else amount_text(amount)


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else amount_text(amount)


def failure_text(
    code: str, message: str, details: Any, *, escalation_id: str | None, again: str | None = None
) -> str:
    """Say in words why Council refused a call, and what the agent should do.

    `again`: how to repeat this call safely, for the refusals that pass (a rate limit, an outage).
    """
    about = f" (escalation_id {escalation_id})" if escalation_id else ""
    advice = ADVICE.get(code, "Do not act past your mandate until Council answers.")
    if code in PASSING and again:
        advice = f"{advice} Then {again}."
    problems = _problems(details)
    return f"REFUSED by Council{about}: {message} [{code}].{problems} {advice}"


def _problems(details: Any) -> str:
    if not isinstance(details, list):
        return ""
    fields = [f"{_part(item, 'field') or '(request)'}: {_part(item, 'message')}" for item in details]
    return f" Problems: {'; '.join(fields)}." if fields else ""


def _part(problem: Any, name: str) -> Any:
    # The client gives a 422's problems as models (`.field`, `.message`); a plain dict reads the same.
    return problem.get(name) if isinstance(problem, dict) else getattr(problem, name, None)


ADVICE = {
    "not_found": "Check the escalation_id: an agent sees only its own escalations. Do not act on it.",
    "agent_paused": "You are paused: do not act past your mandate, and tell your owner; only a human "
    "can resume you.",
    "unauthorized": "Council does not accept this agent's API key (COUNCIL_API_KEY); tell your owner.",
    "key_revoked": "This agent's API key was revoked; tell your owner to configure the new one.",
    "validation_failed": "Fix the named arguments and call again.",
    "rate_limited": "Too many requests: do not act; wait a minute.",
    "idempotency_conflict": "That idempotency_key was used for a different request: use a new key.",
    "already_reported": "Nothing to do: the first report stands.",
    "no_route": "No council takes this kind of request; tell your owner. Do not proceed.",
    "unavailable": "Council did not answer: do not act past your mandate; wait a minute.",
    "invalid_escalation_id": "Pass the escalation_id (esc_…) exactly as ask_council returned it.",
}
# Refusals that pass: the same call, repeated as `again` says, can succeed.
PASSING = frozenset({"rate_limited", "unavailable", "unexpected_response"})
