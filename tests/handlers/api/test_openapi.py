"""The served OpenAPI document: every route, every status, every constraint the server enforces."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.harness import Harness

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
# Keywords pydantic writes for its own constraints; JSON Schema validators ignore them silently.
NOT_JSON_SCHEMA = {"ge", "gt", "le", "lt", "max_digits", "decimal_places", "allow_inf_nan"}


@pytest.fixture
async def document(council: Harness) -> dict[str, Any]:
    async with council.http.get(f"{council.url}/api/v1/openapi.json") as response:
        assert response.status == 200
        served: dict[str, Any] = await response.json()
    return served


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _schema(document: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["components"]["schemas"][name]
    return schema


def _branches(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in schema.get("anyOf", [schema]) if b != {"type": "null"}]


async def test_every_api_route_is_documented_and_every_documented_route_is_served(
    council: Harness, document: dict[str, Any]
) -> None:
    served = {
        (route.resource.canonical, route.method.lower())
        for route in council.app.router.routes()
        # aiohttp answers HEAD wherever it answers GET, as HTTP says; the document lists GET.
        if route.resource is not None
        and route.resource.canonical.startswith("/api/v1/")
        and route.method != "HEAD"
    }
    documented = {(path, method) for path, method, _ in _operations(document)}
    assert served == documented
    assert ("/api/v1/escalations/{id}/withdraw", "post") in served


async def test_every_operation_documents_each_status_it_answers(document: dict[str, Any]) -> None:
    for path, method, operation in _operations(document):
        statuses = set(operation["responses"])
        where = f"{method.upper()} {path}"
        if operation.get("security", document["security"]):
            assert "401" in statuses, where
        if "requestBody" in operation:
            assert {"400", "413", "415", "422"} <= statuses, where
        # The HTTP server itself refuses an oversized or malformed request, before any route runs.
        assert "text/plain" in operation["responses"]["400"]["content"], where
        for status, answer in operation["responses"].items():
            json = answer["content"].get("application/json")
            if status.startswith("4") and (json or status != "400"):
                assert json["schema"] == {"$ref": "#/components/schemas/ErrorOut"}, (where, status)
    responses = document["paths"]["/api/v1/escalations"]["post"]["responses"]
    assert {"200", "201", "403", "409", "429"} <= set(responses)
    assert responses["429"]["headers"]["Retry-After"]["required"] is True
    assert "403" in document["paths"]["/api/v1/escalations/{id}"]["patch"]["responses"]
    assert document["paths"]["/api/v1/openapi.json"]["get"]["security"] == []


async def test_the_withdraw_body_is_described_and_optional(document: dict[str, Any]) -> None:
    body = document["paths"]["/api/v1/escalations/{id}/withdraw"]["post"]["requestBody"]
    assert body["required"] is False
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/WithdrawIn"}
    assert _schema(document, "WithdrawIn")["properties"]["reason"]["anyOf"][0]["maxLength"] == 2000


async def test_constraints_are_json_schema_keywords(document: dict[str, Any]) -> None:
    leaked = {key for node in _walk(document["components"]) for key in node if key in NOT_JSON_SCHEMA}
    assert not leaked
    number, text = _branches(_branches(_schema(document, "ActionIn")["properties"]["amount"])[0])
    assert number == {"type": "number", "minimum": 0, "exclusiveMaximum": 10**16, "multipleOf": 0.0001}
    assert text["type"] == "string" and text["pattern"] == r"^0*[0-9]{1,16}(\.[0-9]{1,4}0*)?$"
    assert (
        _schema(document, "ExecutionIn")["properties"]["amount"]
        == _schema(document, "ActionIn")["properties"]["amount"]
    )
    url = _branches(_schema(document, "EscalationIn")["properties"]["callback_url"])[0]
    assert url["pattern"] == "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]" and url["maxLength"] == 2000
    assert _schema(document, "LinkIn")["properties"]["url"]["pattern"] == url["pattern"]
    seconds = _branches(_schema(document, "EscalationIn")["properties"]["deadline_seconds"])[0]
    assert (seconds["minimum"], seconds["maximum"]) == (60, 30 * 24 * 3600)


async def test_parameters_carry_their_rules(document: dict[str, Any]) -> None:
    get = document["paths"]["/api/v1/escalations/{id}"]["get"]
    wait = next(p for p in get["parameters"] if p["name"] == "wait")
    assert wait["in"] == "query" and (wait["schema"]["minimum"], wait["schema"]["maximum"]) == (0, 60)
    post = document["paths"]["/api/v1/escalations"]["post"]
    key = next(p for p in post["parameters"] if p["name"] == "Idempotency-Key")
    assert key["in"] == "header" and key["schema"]["pattern"] == r"^[\x21-\x7e]{1,255}$"


async def test_answers_are_described_field_by_field(document: dict[str, Any]) -> None:
    escalation = _schema(document, "EscalationOut")["properties"]
    for name in ("version", "owner", "acknowledged_at", "resolved_at", "resolution", "related"):
        assert name in escalation
    assert all(schema for schema in escalation.values()), "every field has a schema"
    assert "owner" not in _schema(document, "EscalationOut")["required"]
    assert "version" in _schema(document, "EscalationOut")["required"]
    assert _schema(document, "AgentOut")["properties"]["status"] == {
        "$ref": "#/components/schemas/AgentStatus"
    }
    assert _schema(document, "AgentStatus")["enum"] == ["active", "paused"]
    assert _schema(document, "DecidedBy")["enum"] == ["council", "policy", "timeout", "owner", "admin"]
    refs = {node["$ref"] for node in _walk(document) if "$ref" in node}
    assert {ref.rsplit("/", 1)[-1] for ref in refs} <= set(document["components"]["schemas"])
    get = document["paths"]["/api/v1/agents/me"]["get"]["responses"]["200"]
    assert get["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/AgentOut"}


async def test_an_amendment_says_what_may_be_null(document: dict[str, Any]) -> None:
    patch = _schema(document, "EscalationPatch")
    assert patch["minProperties"] == 1 and patch["additionalProperties"] is False
    for name in ("title", "summary", "context", "links"):
        assert "anyOf" not in patch["properties"][name] and "type" in patch["properties"][name], name
    for name in ("action", "category", "risk"):
        assert {"type": "null"} in patch["properties"][name]["anyOf"], name
