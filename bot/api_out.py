"""What the agent API answers, as models: they render the JSON and write the OpenAPI document.

A field that an answer leaves out when it has no value (an action's `amount`, a vote's `conditions`)
is `omitted()`: absent from the JSON, never `null`, and not nullable in the document.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, PlainSerializer, WithJsonSchema

from bot.governance import Choice
from bot.schemas import not_nullable
from models.enums import AgentStatus, DecidedBy, Kind, Outcome, Risk, Status

AMOUNT_TEXT = r"^[0-9]+(\.[0-9]+)?$"
INCIDENT_FIELDS = frozenset({"owner", "acknowledged_at", "resolved_at", "resolution", "related"})


def amount_text(amount: Decimal) -> str:
    """Write an amount as the API does: a plain decimal string, `1250` or `49.9`."""
    return format(amount.normalize(), "f")


def utc_text(moment: datetime) -> str:
    """Write a time as the API does: ISO 8601 in UTC, ending in Z."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# Amounts go out as decimal strings ("1250", "49.9"), so no client parses money as a float.
Amount = Annotated[
    Decimal,
    PlainSerializer(amount_text, return_type=str),
    WithJsonSchema({"type": "string", "pattern": AMOUNT_TEXT, "examples": ["1250", "49.9"]}),
]
Timestamp = Annotated[
    datetime,
    PlainSerializer(utc_text, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": "Z$", "description": "UTC"}),
]


def _is_none(value: object) -> bool:
    return value is None


def omitted(description: str | None = None) -> Any:
    """Declare a field that the JSON leaves out when it has no value."""
    return Field(default=None, exclude_if=_is_none, json_schema_extra=not_nullable, description=description)


class ActionOut(BaseModel):
    """What would happen if approved; each key is there only when the agent gave it."""

    type: str | None = omitted()
    amount: Amount | None = omitted()
    currency: str | None = omitted("ISO 4217 code, upper case")
    target: str | None = omitted()


class LinkOut(BaseModel):
    title: str
    url: str


class VoteOut(BaseModel):
    """One member's vote as it stood when the escalation was decided."""

    user: str = Field(description="Slack user id")
    function: str
    on_behalf_of: str | None = omitted("the away member whose seat a delegate voted in (Slack user id)")
    choice: Choice
    reason: str | None = Field(description="always given for a reject")
    conditions: str | None = omitted("an approval's conditions")
    approved_amount: Amount | None = omitted("the amount an approver lowered the request to")


class TallyOut(BaseModel):
    """Counts of each choice and of electors still `waiting`; empty when there was no vote."""

    approve: int | None = omitted()
    reject: int | None = omitted()
    abstain: int | None = omitted()
    recuse: int | None = omitted()
    waiting: int | None = omitted()


class DecisionOut(BaseModel):
    outcome: Outcome
    decided_by: DecidedBy
    decided_at: Timestamp
    tally: TallyOut
    votes: list[VoteOut]
    reasons: list[str]
    conditions: str | None = Field(description="every approver's conditions, one line each; they bind")
    approved_amount: Amount | None = Field(description="the most the agent may execute")


class ExecutionOut(BaseModel):
    """What the agent reported actually ran, beside what was proposed and approved."""

    status: Literal["succeeded", "failed"]
    proposed_amount: Amount | None
    approved_amount: Amount | None
    executed_amount: Amount | None
    currency: str | None
    details: str
    executed_at: Timestamp
    reported_at: Timestamp
    within_approval: bool
    breach: str | None = Field(description="why it went beyond the approval; null when within")


class EscalationOut(BaseModel):
    """An escalation as its agent sees it; the incident fields are present on incidents only."""

    id: str = Field(pattern=r"^esc_[0-9a-f]{20}$")
    status: Status
    kind: Kind
    title: str
    summary: str
    action: ActionOut
    category: str | None
    risk: Risk | None
    council: str | None
    policy: str | None = Field(description="the policy that matched; null for the default route")
    route: str | None = Field(description="why it went where it went, in words")
    rule: str | None = Field(description="the voting rule frozen on it, in words; null without a vote")
    deadline: Timestamp | None = Field(
        description=(
            "approvals: when the vote closes (later after an extend or escalate timeout; null when "
            "decided at once); incidents: by when a member must take ownership; notices: null"
        )
    )
    created_at: Timestamp
    decision: DecisionOut | None = Field(description="null until decided")
    execution: ExecutionOut | None = Field(description="null until the agent reports an execution")
    version: int = Field(ge=1, description="1 when opened, one more after each amendment")
    context: dict[str, Any]
    links: list[LinkOut]
    run_id: str | None
    call_id: str | None
    storm: str | None = Field(
        default=None,
        pattern=r"^storm-[0-9]+$",
        description=(
            "the storm it joined (storm control: shown to the council in one grouped message); "
            "null when it has a message of its own"
        ),
    )
    owner: str | None = Field(default=None, description="incidents only: the member who owns it")
    acknowledged_at: Timestamp | None = Field(default=None, description="incidents only")
    resolved_at: Timestamp | None = Field(default=None, description="incidents only")
    resolution: str | None = Field(default=None, description="incidents only: how it was resolved")
    related: str | None = Field(default=None, description="incidents only: the escalation it is about")

    def as_json(self) -> dict[str, Any]:
        """Return the JSON agents read, without the incident fields unless it is an incident."""
        incident = self.kind == Kind.INCIDENT
        return self.model_dump(mode="json", exclude=None if incident else set(INCIDENT_FIELDS))


class MoneyLimitOut(BaseModel):
    """A money limit in one currency, as council.yml writes it."""

    amount: Amount
    currency: str = Field(description="ISO 4217 code, upper case")


class LimitsOut(BaseModel):
    """The agent's mandate from council.yml; a limit that is not set is absent.

    A money limit is a plain amount (it counts every currency) or `{amount, currency}` (it counts only
    that currency); `currency`, when given, is the currency of every plain money limit.
    """

    max_amount: Amount | MoneyLimitOut | None = omitted()
    auto_budget_24h: Amount | MoneyLimitOut | None = omitted()
    rate_per_minute: int | None = omitted()
    currency: str | None = omitted("ISO 4217 code of the plain money limits")
    storm_after: int | None = omitted("approvals needing a council within a minute before a storm starts")
    auto_pause_after: int | None = omitted("approvals needing a council within a minute that pause the agent")
    storm_quiet: str | None = omitted("how long without a new escalation ends a storm, as written (5m)")


class AgentOut(BaseModel):
    """The agent itself: who answers for it, where it escalates, whether it is paused."""

    name: str
    owner: str = Field(description="Slack user id of the accountable human")
    council: str | None
    status: AgentStatus
    paused_reason: str | None
    limits: LimitsOut


class Problem(BaseModel):
    """One thing wrong with a request; `field` is a path such as `links[0].url`."""

    field: str
    message: str


class ErrorBody(BaseModel):
    code: str = Field(description="stable, for programs to branch on")
    message: str = Field(description="for people")
    details: list[Problem] | dict[str, Any] | None


class ErrorOut(BaseModel):
    """Every answer that is not a success."""

    error: ErrorBody
