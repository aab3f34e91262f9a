"""The agent API described as OpenAPI 3.1, built from the same pydantic models that validate it."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from bot.schemas import EscalationIn, EscalationPatch, ExecutionIn, WithdrawIn

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {}},
        }
    },
}
ESCALATION = {
    "type": "object",
    "description": "An escalation as agents see it; `decision` is null until decided.",
    "properties": {
        name: {}
        for name in (
            "id",
            "status",
            "kind",
            "title",
            "summary",
            "action",
            "category",
            "risk",
            "council",
            "policy",
            "route",
            "rule",
            "deadline",
            "created_at",
            "decision",
            "execution",
            "context",
            "links",
            "run_id",
            "call_id",
        )
    },
}


def _answers(ok: str, *errors: int) -> dict[str, Any]:
    answers: dict[str, Any] = {
        ok: {
            "description": "the escalation",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Escalation"}}},
        }
    }
    for status in errors:
        answers[str(status)] = {
            "description": "an error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    return answers


def _body(name: str) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
    }


def document() -> dict[str, Any]:
    """Return the OpenAPI document of /api/v1."""
    _, schemas = models_json_schema(
        [(m, "validation") for m in (EscalationIn, EscalationPatch, ExecutionIn, WithdrawIn)],
        ref_template="#/components/schemas/{model}",
    )
    one = {"parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Council agent API", "version": "1"},
        "components": {
            "schemas": {**schemas.get("$defs", {}), "Error": ERROR, "Escalation": ESCALATION},
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"apiKey": []}],
        "paths": {
            "/api/v1/escalations": {
                "post": {
                    "summary": "Escalate to the council",
                    "parameters": [{"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}}],
                    "requestBody": _body("EscalationIn"),
                    "responses": _answers("201", 400, 401, 403, 409, 413, 415, 422, 429),
                }
            },
            "/api/v1/escalations/{id}": {
                **one,
                "get": {
                    "summary": "Read an escalation; `wait` long-polls up to 60 s for its decision",
                    "parameters": [
                        {"name": "wait", "in": "query", "schema": {"type": "number", "maximum": 60}}
                    ],
                    "responses": _answers("200", 401, 404, 422),
                },
                "patch": {
                    "summary": "Amend a pending escalation (votes cast so far are voided)",
                    "requestBody": _body("EscalationPatch"),
                    "responses": _answers("200", 401, 404, 409, 422),
                },
            },
            "/api/v1/escalations/{id}/withdraw": {
                **one,
                "post": {
                    "summary": "Withdraw a pending escalation",
                    "responses": _answers("200", 401, 404, 409),
                },
            },
            "/api/v1/escalations/{id}/execution": {
                **one,
                "post": {
                    "summary": "Report what actually ran",
                    "requestBody": _body("ExecutionIn"),
                    "responses": _answers("200", 401, 404, 409, 422),
                },
            },
            "/api/v1/agents/me": {
                "get": {
                    "summary": "This agent: owner, council, status, limits",
                    "responses": {"200": {"description": "the agent"}},
                }
            },
        },
    }
