"""The refund agent's tools, as the model sees them: OpenAI-style function schemas.

Each tool's arguments are a pydantic model. The JSON Schema the model is shown and the check of what
it sends back are made from the same class, so the two cannot drift apart.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

Tool = dict[str, Any]

# Money travels as a decimal string ("1200", "49.90"), as in Council's API: no float ever holds it.
Amount = Annotated[
    Decimal,
    Field(gt=0, max_digits=12, decimal_places=2),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^[0-9]+(\.[0-9]{1,2})?$",
            "description": "a decimal string, like 1200",
        }
    ),
]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, like USD")]


class Arguments(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IssueRefund(Arguments):
    order_id: str = Field(min_length=1, max_length=64)
    amount: Amount
    currency: Currency
    destination: Literal["original_card", "store_credit"] = Field(description="where the money goes")
    escalation_id: str | None = Field(
        default=None, description="the council's approval this refund acts on; required above your limit"
    )


class AskCouncil(Arguments):
    order_id: str = Field(min_length=1, max_length=64)
    amount: Amount
    currency: Currency
    reason: str = Field(min_length=1, max_length=2000, description="why the customer is owed it")


class ReportExecution(Arguments):
    escalation_id: str
    details: str = Field(max_length=2000, description="what you did, for the people who read it later")


def function_schema(name: str, description: str, arguments: type[Arguments]) -> Tool:
    """Describe one tool as an OpenAI-style function, its parameters the arguments' JSON Schema."""
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": arguments.model_json_schema()},
    }


ARGUMENTS: dict[str, type[Arguments]] = {
    "issue_refund": IssueRefund,
    "ask_council": AskCouncil,
    "report_execution": ReportExecution,
}
TOOLS: list[Tool] = [
    function_schema(
        "issue_refund",
        "Refund money on an order. Above your own limit, first get the council's approval with "
        "ask_council and pass its escalation_id; refund at most the amount it approved.",
        IssueRefund,
    ),
    function_schema(
        "ask_council",
        "Ask the AI council to approve a refund above your limit, and wait for its decision. The answer "
        "says whether it was approved, the most you may refund (approved_amount) and the conditions "
        "you must follow.",
        AskCouncil,
    ),
    function_schema(
        "report_execution",
        "Tell the council what you did under its approval: once, after the refund ran.",
        ReportExecution,
    ),
]
