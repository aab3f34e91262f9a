"""What crosses the agent API boundary: request bodies in, escalation JSON out."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from bot.errors import Invalid
from bot.governance import Kind, Risk

MAX_BODY_BYTES = 64 * 1024
MAX_CONTEXT_BYTES = 16 * 1024
MAX_DEADLINE_SECONDS = 30 * 24 * 3600

# Visible ASCII, no spaces: what the Idempotency-Key header may be; shared with the document.
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
HTTP_URL_PATTERN = r"^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]"
# Digits, optionally a point and more digits: what a decimal written as a string may look like.
AMOUNT_SHAPE = re.compile(r"[0-9]+(\.[0-9]+)?")

Line = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class WrittenWithExponent(float):
    """A JSON number the agent wrote with an exponent (`1e3`); an amount must not be (money is exact)."""


def read_float(text: str) -> float:
    """Read a JSON number with a fraction or exponent, remembering whether it had an exponent."""
    return WrittenWithExponent(text) if "e" in text or "E" in text else float(text)


def _plain_decimal(value: object) -> object:
    # A bool is an int to Python; an amount of `true` is a bug in the agent, not 1. Python's Decimal
    # also reads "1e3", "1_000" and " 5 "; an amount as text is plain digits, as the document says.
    if isinstance(value, bool):
        raise ValueError("amount must be a number")
    if isinstance(value, WrittenWithExponent):
        raise ValueError("amount must be written without an exponent (1000, not 1e3)")
    if isinstance(value, str) and not AMOUNT_SHAPE.fullmatch(value):
        raise ValueError("amount must be a number, or a string of digits with an optional decimal point")
    return value


# What max_digits=20 with decimal_places=4 means, in JSON Schema's words; the database column is the same.
AMOUNT_SCHEMA = {
    "description": "a decimal ≥ 0 with at most 16 digits before the point and 4 after",
    "anyOf": [
        {"type": "number", "minimum": 0, "exclusiveMaximum": 10**16, "multipleOf": 0.0001},
        {"type": "string", "pattern": r"^0*[0-9]{1,16}(\.[0-9]{1,4}0*)?$", "examples": ["1250", "49.90"]},
    ],
}
Amount = Annotated[
    Decimal,
    BeforeValidator(_plain_decimal),
    Field(ge=0, max_digits=20, decimal_places=4, allow_inf_nan=False),
    WithJsonSchema(AMOUNT_SCHEMA, mode="validation"),
]
CONTEXT = f"a JSON object of at most {MAX_CONTEXT_BYTES} bytes as compact JSON"
HttpText = Annotated[
    str, StringConstraints(max_length=2000), Field(json_schema_extra={"pattern": HTTP_URL_PATTERN})
]


def _http_url(value: str, name: str) -> str:
    if not re.match(HTTP_URL_PATTERN, value):
        raise ValueError(f"{name} must be an http:// or https:// URL with a host")
    HttpUrl(value)
    return value


def not_nullable(schema: dict[str, Any]) -> None:
    """Describe an optional field by its value's schema alone: it may be left out, never sent as null."""
    branches = schema.pop("anyOf", None)
    if branches:
        schema.update(next(b for b in branches if b != {"type": "null"}))
    schema.pop("default", None)


def left_out(**constraints: Any) -> Any:
    """Declare a field that may be left out but, when sent, is not null."""
    return Field(default=None, json_schema_extra=not_nullable, **constraints)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ActionIn(Strict):
    type: Line | None = None
    amount: Amount | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$", to_upper=True)] | None = None
    target: Line | None = None


class LinkIn(Strict):
    title: Annotated[Line, StringConstraints(min_length=1)]
    url: HttpText

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        return _http_url(value, "url")


class EscalationIn(Strict):
    """The body of POST /api/v1/escalations."""

    kind: Kind
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    summary: Annotated[str, StringConstraints(max_length=4000)] = ""
    action: ActionIn | None = None
    category: Annotated[str, StringConstraints(max_length=80)] | None = None
    risk: Risk | None = None
    context: dict[str, Any] = Field(default_factory=dict, description=CONTEXT)
    links: list[LinkIn] = Field(default_factory=list, max_length=10)
    callback_url: HttpText | None = Field(
        default=None,
        description="refused if it is, or resolves to, a loopback or private address (unless allowed)",
    )
    deadline: AwareDatetime | None = Field(
        default=None,
        description=(
            "with a time zone; 60 seconds to 30 days from now. An approval: when the council must have "
            "decided; an incident: when a member must have taken ownership; a notice: ignored. Without "
            "it or deadline_seconds: the policy's deadline, else the defaults', else 24 hours for an "
            "approval and 1 hour for an incident"
        ),
    )
    deadline_seconds: Annotated[int, Field(ge=60, le=MAX_DEADLINE_SECONDS)] | None = Field(
        default=None, description="the deadline as seconds from now; give this or deadline, not both"
    )
    run_id: Line | None = None
    call_id: Line | None = None

    @field_validator("context")
    @classmethod
    def _context_size(cls, value: dict[str, Any]) -> dict[str, Any]:
        size = len(json.dumps(value, separators=(",", ":")).encode())
        if size > MAX_CONTEXT_BYTES:
            raise ValueError(f"context is {size} bytes; the limit is {MAX_CONTEXT_BYTES}")
        return value

    @field_validator("callback_url")
    @classmethod
    def _callback_http(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value, "callback_url")

    @model_validator(mode="after")
    def _one_deadline(self) -> EscalationIn:
        if self.deadline is not None and self.deadline_seconds is not None:
            raise ValueError("give deadline or deadline_seconds, not both")
        return self

    def check_deadline(self) -> None:
        """Refuse a deadline too close or too far; checked when opening, so a replay still answers."""
        if self.deadline is None:
            return
        ahead = (self.deadline - datetime.now(UTC)).total_seconds()
        if not 60 <= ahead <= MAX_DEADLINE_SECONDS:
            raise Invalid(
                "deadline must be between 60 seconds and 30 days from now",
                details=[{"field": "deadline", "message": "out of range"}],
            )

    @property
    def amount(self) -> Decimal | None:
        return self.action.amount if self.action else None


class EscalationPatch(Strict):
    """The body of PATCH /api/v1/escalations/{id}: what the agent amends while the vote is open."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = (
        left_out()
    )
    summary: Annotated[str, StringConstraints(max_length=4000)] | None = left_out()
    action: ActionIn | None = None
    category: Annotated[str, StringConstraints(max_length=80)] | None = None
    risk: Risk | None = None
    context: dict[str, Any] | None = left_out(description=CONTEXT)
    links: list[LinkIn] | None = left_out(max_length=10)

    @field_validator("context")
    @classmethod
    def _context_size(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else EscalationIn._context_size(value)

    @model_validator(mode="after")
    def _something(self) -> EscalationPatch:
        if not self.model_fields_set:
            raise ValueError("send at least one field to amend")
        return self

    @field_validator("title", "summary", "context", "links", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # These always have a value; to clear one send "" or [] or {} (category, risk and action may be null).
        if value is None:
            raise ValueError("cannot be null")
        return value


class WithdrawIn(Strict):
    """The body of POST /api/v1/escalations/{id}/withdraw (optional)."""

    reason: Annotated[str, StringConstraints(max_length=2000)] | None = None


class ExecutionIn(Strict):
    """The body of POST /api/v1/escalations/{id}/execution: what actually ran."""

    status: Literal["succeeded", "failed"] = "succeeded"
    amount: Amount | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$", to_upper=True)] | None = None
    details: Annotated[str, StringConstraints(max_length=4000)] = ""
    executed_at: AwareDatetime | None = Field(
        default=None, description="with a time zone; between the year 2000 and now"
    )

    @field_validator("executed_at")
    @classmethod
    def _plausible(cls, value: datetime | None) -> datetime | None:
        if value is not None and not datetime(2000, 1, 1, tzinfo=UTC) <= value <= datetime.now(
            UTC
        ) + timedelta(days=1):
            raise ValueError("executed_at must be between the year 2000 and now")
        return value
