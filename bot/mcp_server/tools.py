"""The MCP server: three tools that ask a running Council, for one agent, before it acts."""

from __future__ import annotations

import asyncio
import hashlib
import json
from decimal import Decimal
from typing import Annotated, Any, Literal

from mcp.server.fastmcp import Context, FastMCP
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from bot.api_out import EscalationOut, amount_text
from bot.client import CouncilClient, CouncilError
from bot.mcp_server import answers
from bot.mcp_server.answers import MAX_WAIT_SECONDS, ExecutionAnswer, Verdict
from bot.schemas import Amount

# Seconds between progress notifications while a tool waits, so a client sees the call is alive.
PROGRESS_EVERY = 15.0

INSTRUCTIONS = """\
Council is where accountable humans decide what you may do beyond your mandate. Before any action \
above your limits or outside your mandate (a refund over your cap, a deploy, anything irreversible), \
call ask_council and wait. Act only on APPROVED, for at most the approved amount and within its \
conditions; on REJECTED, EXPIRED or any refusal, do not act. After acting, call report_execution."""
ASK = """\
Ask your council of humans for approval BEFORE an action past your mandate or above your limit, \
then wait for their decision (up to wait_seconds). Returns the decision in words and as data: \
APPROVED (you may act, for at most the approved amount, within the conditions; then call \
report_execution), REJECTED or EXPIRED (do not act), STILL PENDING (do not act yet; call \
check_escalation later with the escalation_id), or a refusal such as a paused agent (do not act). \
The same arguments ask once: calling again returns the same escalation; to ask anew, change the request."""
CHECK = """\
Check an escalation you opened with ask_council, optionally waiting up to wait_seconds for its \
decision. Returns the same as ask_council: APPROVED, REJECTED, EXPIRED, WITHDRAWN or STILL PENDING, \
with the approved amount, conditions and reasons, and what was reported as executed."""
REPORT = """\
Report what actually ran after acting on an approval, once per escalation (status failed if it did \
not go through). Returns whether it stayed within the approval; an execution beyond it (more than \
the approved amount, another currency, or acting on what was not approved) pauses this agent."""

EscalationId = Annotated[str, Field(description="the escalation_id (esc_…) that ask_council returned")]
Waiting = Annotated[
    int,
    Field(
        ge=0,
        description=f"seconds to wait for the decision (default as shown; at most {MAX_WAIT_SECONDS})",
    ),
]
# The API's own amount: at most 16 digits before the point and 4 after, no exponent, not negative.
Money = Annotated[Amount | None, Field(description="an amount as a number or decimal string, like 1200")]
Currency = Annotated[str | None, Field(description="ISO 4217 code, like USD")]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def build(
    council: CouncilClient, *, host: str = "127.0.0.1", port: int = 8000, log_level: LogLevel = "INFO"
) -> FastMCP:
    """Build the server with its tools, acting through `council` as its agent."""
    # The host also decides the SDK's DNS-rebinding protection: on for a loopback address.
    server = FastMCP("council", instructions=INSTRUCTIONS, host=host, port=port, log_level=log_level)
    tools = Tools(council)
    asks = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=False)
    server.add_tool(tools.ask_council, title="Ask the council", description=ASK, annotations=asks)
    reads = ToolAnnotations(readOnlyHint=True, idempotentHint=True)
    server.add_tool(tools.check_escalation, title="Check an escalation", description=CHECK, annotations=reads)
    server.add_tool(tools.report_execution, title="Report an execution", description=REPORT, annotations=asks)
    return server


class Tools:
    """The tools, bound to one agent's client."""

    def __init__(self, council: CouncilClient) -> None:
        self.council = council

    async def ask_council(
        self,
        title: Annotated[str, Field(description="what you want to do, in one line (at most 200 characters)")],
        ctx: Context,
        summary: Annotated[str, Field(description="why, and what happens if it is approved")] = "",
        action_type: Annotated[str | None, Field(description="the kind of action: refund, deploy, …")] = None,
        amount: Money = None,
        currency: Currency = None,
        target: Annotated[str | None, Field(description="what it acts on: an order, a system, …")] = None,
        risk: Literal["low", "medium", "high", "critical"] | None = None,
        category: Annotated[str | None, Field(description="a category that policies may route on")] = None,
        context: Annotated[dict[str, Any] | None, Field(description="facts for the council, as JSON")] = None,
        wait_seconds: Waiting = 300,
        idempotency_key: Annotated[
            str | None,
            Field(
                description=(
                    "the same key again returns the same escalation, never a second one "
                    "(default: made from the arguments)"
                )
            ),
        ] = None,
    ) -> Annotated[CallToolResult, Verdict]:
        """Escalate an approval and wait for the council's decision."""
        action = {"type": action_type, "amount": _plain(amount), "currency": currency, "target": target}
        fields = {"summary": summary, "category": category, "risk": risk, "context": context}
        body = {
            "kind": "approval",
            "title": title,
            "action": {key: value for key, value in action.items() if value is not None} or None,
            **{key: value for key, value in fields.items() if value},
        }
        # The same request asks once: a call repeated after a lost answer finds the first escalation.
        key = idempotency_key or _key_for(body)
        try:
            escalation = await self.council.escalate(idempotency_key=key, **body)
        except CouncilError as error:
            again = f"call ask_council again with the same arguments and idempotency_key {key!r}"
            return _verdict_refused(error, escalation_id=None, again=again, key=key)
        return await self._decided(escalation, wait_seconds, ctx, key=key)

    async def check_escalation(
        self,
        escalation_id: EscalationId,
        ctx: Context,
        wait_seconds: Waiting = 0,
    ) -> Annotated[CallToolResult, Verdict]:
        """Read an escalation, waiting for its decision if asked to."""
        try:
            escalation = await self.council.get(escalation_id)
        except (CouncilError, ValueError) as error:
            again = f"call check_escalation again with escalation_id {escalation_id}"
            return _verdict_refused(error, escalation_id=escalation_id, again=again)
        return await self._decided(escalation, wait_seconds, ctx)

    async def report_execution(
        self,
        escalation_id: EscalationId,
        status: Annotated[Literal["succeeded", "failed"], Field(description="whether it went through")],
        executed_amount: Money = None,
        currency: Currency = None,
        details: Annotated[str, Field(description="what ran, for the audit trail")] = "",
    ) -> Annotated[CallToolResult, ExecutionAnswer]:
        """Report what ran after an approval, and say whether it stayed within it."""
        report = {
            "status": status,
            "amount": _plain(executed_amount),
            "currency": currency,
            "details": details,
        }
        try:
            escalation = await self.council.report_execution(
                escalation_id, **{key: value for key, value in report.items() if value is not None}
            )
        except (CouncilError, ValueError) as error:
            code, message, details = _refusal(error)
            text = answers.failure_text(code, message, details, escalation_id=escalation_id)
            return _result(text, ExecutionAnswer(escalation_id=escalation_id, error=code), error=True)
        execution = escalation.execution
        assert execution is not None  # noqa: S101 - Council answers a report with it recorded
        recorded = ExecutionAnswer(
            escalation_id=escalation.id,
            recorded=True,
            within_approval=execution.within_approval,
            breach=execution.breach,
            executed_amount=_plain(execution.executed_amount),
            approved_amount=_plain(execution.approved_amount),
            currency=execution.currency,
            error=None,
        )
        return _result(f"RECORDED for {escalation.id}. {answers.execution_words(execution)}", recorded)

    async def _decided(
        self,
        escalation: EscalationOut,
        seconds: int,
        ctx: Context,
        *,
        key: str | None = None,
    ) -> CallToolResult:
        """Wait up to `seconds` for a pending escalation's decision, reporting progress as it waits."""
        seconds = min(seconds, MAX_WAIT_SECONDS)
        clock = asyncio.get_running_loop()
        started = clock.time()
        waited = 0.0
        while escalation.status == "pending" and waited < seconds:
            step = min(PROGRESS_EVERY, seconds - waited)
            try:
                escalation = await self.council.get(escalation.id, wait=step)
            except CouncilError as error:  # the escalation is open: the refusal names it, to check later
                again = f"call check_escalation with escalation_id {escalation.id}"
                return _verdict_refused(error, escalation_id=escalation.id, again=again, key=key)
            waited = clock.time() - started
            await ctx.report_progress(min(waited, seconds), seconds, "waiting for the council's decision")
        data = answers.verdict(escalation).model_copy(update={"idempotency_key": key})
        return _result(answers.verdict_text(escalation, waited=waited), data)


def _verdict_refused(
    error: CouncilError | ValueError,
    *,
    escalation_id: str | None,
    again: str | None = None,
    key: str | None = None,
) -> CallToolResult:
    code, message, details = _refusal(error)
    text = answers.failure_text(code, message, details, escalation_id=escalation_id, again=again)
    data = Verdict(escalation_id=escalation_id, reasons=[message], error=code, idempotency_key=key)
    return _result(text, data, error=True)


def _key_for(body: dict[str, Any]) -> str:
    """Return the idempotency key of a request: the same arguments, the same key."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return "mcp-" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


def _refusal(error: CouncilError | ValueError) -> tuple[str, str, Any]:
    """The code, message and details of a refusal; the client refuses a malformed id before sending."""
    if isinstance(error, CouncilError):
        return error.code, error.message, error.details
    return "invalid_escalation_id", str(error), None


def _result(text: str, data: BaseModel, *, error: bool = False) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structuredContent=data.model_dump(mode="json"),
        isError=error,
    )


def _plain(amount: Decimal | None) -> str | None:
    return None if amount is None else amount_text(amount)
