"""The agent API as OpenAPI 3.1, generated from the models that validate requests and render answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from bot.api_out import AgentOut, ErrorOut, EscalationOut
from bot.schemas import IDEMPOTENCY_KEY_PATTERN, EscalationIn, EscalationPatch, ExecutionIn, WithdrawIn
from bot.services.escalations import MAX_WAIT_SECONDS

REQUESTS: tuple[type[BaseModel], ...] = (EscalationIn, EscalationPatch, WithdrawIn, ExecutionIn)
ANSWERS: tuple[type[BaseModel], ...] = (EscalationOut, AgentOut, ErrorOut)

# When each error status is answered; `code` in the body says which case it is.
ERRORS = {
    400: "The body is not valid JSON, or not UTF-8 (`invalid_json`).",
    401: "No `Authorization: Bearer` header, or an unknown (`unauthorized`) or revoked (`key_revoked`) key.",
    403: "The agent is paused (`agent_paused`); `message` has the reason.",
    404: "No such escalation for this agent (`not_found`).",
    409: "A conflict: `idempotency_conflict` (an Idempotency-Key reused with another body), "
    "`escalation_closed` (it is no longer pending), `reroute_required` or `already_reported`.",
    413: "The body is over 64 KiB (`payload_too_large`).",
    415: "The body is not `application/json` (`unsupported_media_type`).",
    422: "A field, header or query value is wrong (`validation_failed`; `details` names each), "
    "or no council to route to (`no_route`).",
    429: "Too much at once (`rate_limited`): over the agent's `rate_per_minute` (escalations opened "
    "and amended in the last 60 s), or, for a long poll, past the long polls Council holds open for the "
    "agent or for all agents; wait `Retry-After` seconds.",
}
# aiohttp's HTTP parser refuses these before any route runs, so they are not in the error envelope.
BY_HTTP = (
    "by the HTTP server itself, in plain text: a request line or header over 8 KiB, "
    "or a request that is not valid HTTP."
)
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying (also in `details.retry_after`).",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}
ESCALATION_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": r"^esc_[0-9a-f]{20}$"},
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "description": "Reuse it to retry the same request: a replay answers 200 with the same escalation.",
    "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN},
}
WAIT = {
    "name": "wait",
    "in": "query",
    "description": "Long-poll: hold the request while the escalation is pending, up to this many seconds. "
    "Long polls are capped per agent and overall (429 past a cap); a decided escalation answers at once.",
    "schema": {"type": "number", "minimum": 0, "maximum": MAX_WAIT_SECONDS, "default": 0},
}
# After opening an escalation, these operations take its id.
FOLLOW_UPS = {
    "getEscalation": "Read it, or long-poll its decision",
    "amendEscalation": "Amend it while it is pending",
    "withdrawEscalation": "Withdraw it while it is pending",
    "reportExecution": "Report what ran",
}
WITH_BODY = (400, 401, 404, 409, 413, 415, 422)
PLAIN_TEXT = {"text/plain": {"schema": {"type": "string"}}}


@dataclass(frozen=True)
class Operation:
    """One method on one path: what it takes and every status it answers."""

    operation_id: str
    summary: str
    answers: dict[int, str]
    answer: str = "EscalationOut"
    errors: tuple[int, ...] = ()
    body: str | None = None
    body_required: bool = True
    parameters: tuple[dict[str, Any], ...] = ()
    secured: bool = True


def operations() -> dict[str, dict[str, Operation]]:
    """Return every operation of /api/v1, by path and method."""
    return {
        "/api/v1/escalations": {
            "post": Operation(
                "createEscalation",
                "Escalate to the council",
                {
                    201: "The escalation, opened.",
                    200: "A replay: the escalation this key opened, as it is now.",
                },
                errors=(400, 401, 403, 409, 413, 415, 422, 429),
                body="EscalationIn",
                parameters=(IDEMPOTENCY_KEY,),
            )
        },
        "/api/v1/escalations/{id}": {
            "get": Operation(
                "getEscalation",
                "Read an escalation; `wait` long-polls up to 60 s for its decision",
                {200: "The escalation as it stands."},
                errors=(401, 404, 422, 429),
                parameters=(WAIT,),
            ),
            "patch": Operation(
                "amendEscalation",
                "Amend a pending escalation (votes cast so far are voided)",
                {200: "The escalation as amended; as it was (the same version) when nothing changed."},
                errors=(*WITH_BODY, 403, 429),
                body="EscalationPatch",
            ),
        },
        "/api/v1/escalations/{id}/withdraw": {
            "post": Operation(
                "withdrawEscalation",
                "Withdraw a pending escalation; the body is optional",
                {200: "The escalation, withdrawn."},
                errors=WITH_BODY,
                body="WithdrawIn",
                body_required=False,
            )
        },
        "/api/v1/escalations/{id}/execution": {
            "post": Operation(
                "reportExecution",
                "Report what actually ran, once",
                {200: "The escalation with its execution report."},
                errors=WITH_BODY,
                body="ExecutionIn",
            )
        },
        "/api/v1/agents/me": {
            "get": Operation(
                "getAgent",
                "This agent: owner, council, status, limits",
                {200: "The agent."},
                answer="AgentOut",
                errors=(401,),
            )
        },
        "/api/v1/openapi.json": {
            "get": Operation(
                "getOpenApiDocument",
                "This document",
                {200: "The OpenAPI document of the agent API."},
                answer="",
                secured=False,
            )
        },
    }


def document() -> dict[str, Any]:
    """Return the OpenAPI document of /api/v1."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Council agent API",
            "version": "1",
            "description": "Escalate to a council of people, learn its decision, report what ran. "
            "Text may not contain NUL characters, and is stripped of surrounding whitespace before "
            "its length is checked.",
        },
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"apiKey": []}],
        "paths": {path: _path_item(path, by_method) for path, by_method in operations().items()},
    }


def _schemas() -> dict[str, Any]:
    _, schemas = models_json_schema(
        [(m, "validation") for m in REQUESTS] + [(m, "serialization") for m in ANSWERS],
        ref_template="#/components/schemas/{model}",
    )
    return dict(schemas["$defs"])


def _path_item(path: str, by_method: dict[str, Operation]) -> dict[str, Any]:
    item: dict[str, Any] = {method: _operation(op) for method, op in by_method.items()}
    if "{id}" in path:
        item["parameters"] = [ESCALATION_ID]
    return item


def _operation(op: Operation) -> dict[str, Any]:
    spec: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary}
    if op.parameters:
        spec["parameters"] = list(op.parameters)
    if op.body:
        spec["requestBody"] = {"required": op.body_required, "content": _json(op.body)}
    errors = {str(status): _error(status) for status in op.errors}
    errors.setdefault("400", {"description": f"Refused {BY_HTTP}", "content": PLAIN_TEXT})
    spec["responses"] = {
        **{str(status): _answer(op, status, text) for status, text in op.answers.items()},
        **dict(sorted(errors.items())),
    }
    if not op.secured:
        spec["security"] = []
    return spec


def _answer(op: Operation, status: int, text: str) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": text, "content": _json(op.answer)}
    if op.operation_id == "createEscalation":
        answer["links"] = {
            name[0].upper() + name[1:]: {
                "operationId": name,
                "parameters": {"id": "$response.body#/id"},
                "description": description,
            }
            for name, description in FOLLOW_UPS.items()
        }
    return answer


def _error(status: int) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": ERRORS[status], "content": _json("ErrorOut")}
    if status == 400:
        answer["description"] += f" Or refused {BY_HTTP}"
        answer["content"] |= PLAIN_TEXT
    if status == 429:
        answer["headers"] = RETRY_AFTER
    return answer


def _json(schema: str) -> dict[str, Any]:
    described = {"$ref": f"#/components/schemas/{schema}"} if schema else {"type": "object"}
    return {"application/json": {"schema": described}}
