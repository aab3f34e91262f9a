"""A refund agent: a model's tool-calling loop, with a guard the model cannot talk its way past.

The model decides what to do; the agent decides what it may do. A refund above the agent's own
limit runs only under an approval the agent itself got back from Council in `ask_council`, for at
most the amount the council approved, in its currency, on its order. Once the council was asked about
an order, its answer caps every refund on that order from then on, under the approval or not. The
council's conditions are words: the model reads and follows them, and the execution report quotes
them back to Council.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from bot.api_out import EscalationOut
from bot.client import Conflict, CouncilClient, CouncilError, CouncilUnavailable
from examples.refund_agent.model import Message, Model
from examples.refund_agent.payments import Payments, Refund
from examples.refund_agent.tools import ARGUMENTS, TOOLS, AskCouncil, IssueRefund, ReportExecution

Result = dict[str, Any]


@dataclass(frozen=True)
class Approval:
    """What the council approved, as Council answered it: the terms a refund must keep to."""

    escalation_id: str
    order_id: str
    currency: str
    amount: Decimal
    conditions: str | None


@dataclass(frozen=True)
class Asked:
    """The council's latest escalation on an order, and how many refunds the agent had made before it."""

    escalation_id: str
    refunds_before: int


@dataclass(frozen=True)
class Run:
    """How a run ended: the model's last words, and the whole conversation that led there."""

    answer: str
    messages: list[Message]


class TooManyTurns(Exception):
    """The model kept calling tools past the agent's bound on turns."""


def money(amount: Decimal) -> str:
    """Write an amount as Council's API does: `1200`, `49.9`."""
    return format(amount.normalize(), "f")


class RefundAgent:
    """Serve one customer conversation: refund within the limit, ask the council above it."""

    def __init__(
        self,
        *,
        model: Model,
        council: CouncilClient,
        payments: Payments,
        limit: Decimal,
        decision_timeout: float = 4 * 3600,
    ) -> None:
        self.model = model
        self.council = council
        self.payments = payments
        self.limit = limit
        self.decision_timeout = decision_timeout
        self.refunds: list[Refund] = []
        self._approvals: dict[str, Approval] = {}
        self._asked: dict[str, Asked] = {}  # by order id
        self._reported: set[str] = set()
        # One key space per conversation: a retried escalation is the same one, a new conversation asks anew.
        self._run_id = f"run_{uuid.uuid4().hex[:12]}"

    def instructions(self) -> str:
        """Return the system prompt: the agent's mandate, in the model's words."""
        return (
            f"You are a refund agent. You may refund up to {money(self.limit)} on an order yourself. "
            "Above that, call ask_council and wait for its decision. Refund only if it is approved, "
            "at most its approved_amount on that order in all, and follow every one of its conditions. "
            "After a refund under an approval, call report_execution once. Then tell the customer what "
            "happened."
        )

    async def run(self, request: str, *, max_turns: int = 12) -> Run:
        """Loop: the model answers, the agent runs each tool it called, until the model speaks."""
        messages: list[Message] = [
            {"role": "system", "content": self.instructions()},
            {"role": "user", "content": request},
        ]
        for _ in range(max_turns):
            reply = await self.model.complete(messages, TOOLS)
            messages.append(reply)
            calls = reply.get("tool_calls") or []
            if not calls:
                return Run(answer=reply.get("content") or "", messages=messages)
            for tool_call in calls:
                function = tool_call["function"]
                result = await self.call(function["name"], function["arguments"], call_id=tool_call["id"])
                messages.append(
                    {"role": "tool", "tool_call_id": tool_call["id"], "content": json.dumps(result)}
                )
        raise TooManyTurns(f"no answer after {max_turns} turns")

    async def call(self, name: str, arguments: str, *, call_id: str) -> Result:
        """Run one tool call; a mistake comes back to the model as an error it can read and fix."""
        schema = ARGUMENTS.get(name)
        if schema is None:
            return {"error": f"there is no tool named {name!r}"}
        try:
            parsed = schema.model_validate_json(arguments)
        except ValidationError as invalid:
            return {"error": f"invalid arguments: {invalid}"}
        try:
            match parsed:
                case IssueRefund():
                    return await self.issue_refund(parsed)
                case AskCouncil():
                    return await self.ask_council(parsed, call_id=call_id)
                case ReportExecution():
                    return await self.report_execution(parsed)
        except CouncilUnavailable:
            return {"error": "Council cannot be reached; refund nothing above your limit"}
        except CouncilError as refused:
            return {"error": f"Council refused: {refused.message}"}
        raise AssertionError(f"a tool without a handler: {name}")

    async def issue_refund(self, args: IssueRefund) -> Result:
        """Refund, if the agent's limit or a council approval allows this much; refuse otherwise."""
        approval = self._approvals.get(args.escalation_id) if args.escalation_id else None
        refusal = self._refusal(args, approval)
        if refusal:
            return {"error": f"refused: {refusal}"}
        refund = Refund(
            args.order_id,
            args.amount,
            args.currency,
            args.destination,
            approval.escalation_id if approval else None,
        )
        reference = await self.payments.refund(refund)
        self.refunds.append(refund)
        return {
            "refunded": money(refund.amount),
            "currency": refund.currency,
            "destination": refund.destination,
            "reference": reference,
        }

    def _refusal(self, args: IssueRefund, approval: Approval | None) -> str | None:
        """Say why this refund may not run, or None when it may."""
        if args.escalation_id and approval is None:
            return f"{args.escalation_id} is not an approval this agent received from the council"
        if approval is None and (over_limit := self._beyond_limit(args)):
            return over_limit
        return self._beyond_council(args)

    def _beyond_limit(self, args: IssueRefund) -> str | None:
        # Counted per order, so splitting a refund into small ones does not get under the limit.
        unapproved = (r.amount for r in self.refunds if r.order_id == args.order_id and not r.escalation_id)
        total = sum(unapproved, Decimal(0)) + args.amount
        if total <= self.limit:
            return None
        return (
            f"{money(total)} on order {args.order_id} is above this agent's limit of {money(self.limit)}; "
            "ask the council first and pass its escalation_id"
        )

    def _beyond_council(self, args: IssueRefund) -> str | None:
        # A refund without an escalation_id counts too: else the approved amount and refunds "within
        # the limit" add up past what the council approved, and the execution report misses them.
        asked = self._asked.get(args.order_id)
        if args.escalation_id and (asked is None or asked.escalation_id != args.escalation_id):
            return f"{args.escalation_id} is not the council's latest answer on order {args.order_id}"
        if asked is None:
            return None
        current = asked.escalation_id
        approval = self._approvals.get(current)
        if approval is None:
            return f"the council did not approve {current}; refund nothing more on order {args.order_id}"
        if current in self._reported:
            return f"the execution of {current} was already reported; ask again"
        approved = f"{money(approval.amount)} {approval.currency} on order {approval.order_id}"
        if args.currency != approval.currency:
            return f"{current} approved {approved}, not a refund in {args.currency}"
        left = approval.amount - self._refunded_since_asked(args.order_id)
        if args.amount > left:
            return f"the council approved at most {approved} ({money(left)} of it left, all refunds counted)"
        return None

    def _refunded_since_asked(self, order_id: str) -> Decimal:
        """Sum the refunds on an order since the council was last asked about it: what its answer covers."""
        later = self.refunds[self._asked[order_id].refunds_before :]
        return sum((r.amount for r in later if r.order_id == order_id), Decimal(0))

    async def ask_council(self, args: AskCouncil, *, call_id: str) -> Result:
        """Escalate the refund and wait for the council; withdraw it if no decision comes in time."""
        if unreported := self._unreported(args.order_id):
            # A new answer would cap the order's refunds from now on: the ones before it go to Council first.
            return {"error": f"report the execution of {unreported} before asking about this order again"}
        amount = money(args.amount)
        escalation = await self.council.escalate(
            kind="approval",
            title=f"Refund order {args.order_id}",
            summary=args.reason,
            action={
                "type": "refund",
                "amount": amount,
                "currency": args.currency,
                "target": f"order {args.order_id}",
            },
            run_id=self._run_id,
            call_id=call_id,
            idempotency_key=f"{self._run_id}:refund:{args.order_id}:{amount}:{args.currency}",
        )
        escalation = await self.council.wait_for_decision(escalation.id, timeout=self.decision_timeout)
        if escalation.status == "pending":
            escalation = await self._withdraw(escalation.id)
        return self._learn(escalation, args)

    def _unreported(self, order_id: str) -> str | None:
        asked = self._asked.get(order_id)
        if asked is None or asked.escalation_id in self._reported or not self._refunded_since_asked(order_id):
            return None
        return asked.escalation_id

    async def _withdraw(self, escalation_id: str) -> EscalationOut:
        """Withdraw an escalation nobody decided in time, unless a decision beat the withdrawal."""
        try:
            return await self.council.withdraw(
                escalation_id,
                reason=f"no decision within {self.decision_timeout:g} s; a person will follow up",
            )
        except Conflict:
            return await self.council.get(escalation_id)

    def _learn(self, escalation: EscalationOut, args: AskCouncil) -> Result:
        """Keep the council's answer and an approval's terms for the guard; tell the model what it said."""
        asked = self._asked.get(args.order_id)
        if asked is None or asked.escalation_id != escalation.id:
            self._asked[args.order_id] = Asked(escalation.id, refunds_before=len(self.refunds))
        decision = escalation.decision
        result: Result = {"escalation_id": escalation.id, "status": str(escalation.status)}
        if decision is None:
            return result
        said = [f"{vote.function}: {vote.reason}" for vote in decision.votes if vote.reason]
        result |= {"decided_by": str(decision.decided_by), "reasons": decision.reasons + said}
        if escalation.status == "approved":
            approved = decision.approved_amount if decision.approved_amount is not None else args.amount
            self._approvals[escalation.id] = Approval(
                escalation.id, args.order_id, args.currency, approved, decision.conditions
            )
            result |= {"approved_amount": money(approved), "conditions": decision.conditions}
        return result

    async def report_execution(self, args: ReportExecution) -> Result:
        """Report to Council what ran under its approval: the agent's own record, not the model's word."""
        if args.escalation_id in self._reported:
            return {"error": f"the execution of {args.escalation_id} was already reported"}
        approval = self._approvals.get(args.escalation_id)
        if approval is None or self._asked[approval.order_id].escalation_id != approval.escalation_id:
            return {"error": f"{args.escalation_id} is not the council's latest approval on an order"}
        # Every refund on the order since the council was asked, under the approval or not: its own record.
        refunded = self._refunded_since_asked(approval.order_id)
        if not refunded:
            return {"error": f"nothing was refunded under {args.escalation_id}; there is nothing to report"}
        details = args.details
        if approval.conditions:
            details += f"\nConditions it was issued under: {approval.conditions}"
        escalation = await self.council.report_execution(
            approval.escalation_id,
            status="succeeded",
            amount=money(refunded),
            currency=approval.currency,
            details=details[:4000],  # the API's limit; the conditions stay on the decision in full
        )
        self._reported.add(approval.escalation_id)
        execution = escalation.execution
        return {
            "escalation_id": escalation.id,
            "executed_amount": money(refunded),
            "within_approval": execution.within_approval if execution else None,
            "breach": execution.breach if execution else None,
        }
