"""Real answers of every operation, in every status it documents, checked against the served document."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import jsonschema_rs
import pytest

from bot.app_keys import RUNTIME
from bot.services import agents, config
from bot.slack import ids
from tests.harness import COUNCIL_YML, REFUND, Harness

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
LIMITED = COUNCIL_YML.replace(
    "agents:\n",
    "agents:\n  - {name: rate-bot, owner: U0OWNER02, council: ai-council, limits: {rate_per_minute: 1}}\n",
)


@dataclass
class Conformance:
    """Calls the API and checks each answer against the document; remembers which statuses it saw."""

    council: Harness
    document: dict[str, Any]
    seen: set[tuple[str, str, str]] = field(default_factory=set)

    async def call(
        self,
        method: str,
        template: str,
        *,
        id: str = "",
        body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        key: str | None = None,
        query: str = "",
    ) -> tuple[int, Any]:
        """Send one request (as the agent with `key`, or none when key is ""); check and return the answer."""
        sent = {**(self.council.auth(key) if key != "" else {}), **(headers or {})}
        url = f"{self.council.url}{template.replace('{id}', id)}{query}"
        async with self.council.http.request(
            method, url, json=body if data is None else None, data=data, headers=sent
        ) as response:
            media = response.content_type
            answer = await response.json() if media == "application/json" else await response.text()
            self.conforms(method, template, response.status, dict(response.headers), media, answer)
            return response.status, answer

    def conforms(
        self, method: str, template: str, status: int, headers: dict[str, str], media: str, answer: Any
    ) -> None:
        operation = self.document["paths"][template][method.lower()]
        where = f"{method} {template} → {status} {media}"
        documented = operation["responses"].get(str(status))
        assert documented is not None, f"{where} is not documented"
        for name, header in documented.get("headers", {}).items():
            assert not header.get("required") or name in headers, f"{where} lacks {name}"
            if name in headers:
                _valid(header["schema"], int(headers[name]), f"{where} header {name}")
        assert media in documented["content"], f"{where}: not a documented media type"
        schema = documented["content"][media]["schema"]
        _valid({"components": self.document["components"], **schema}, answer, where)
        self.seen.add((method.lower(), template, str(status)))

    def unseen(self) -> set[tuple[str, str, str]]:
        documented = {
            (method, path, status)
            for path, item in self.document["paths"].items()
            for method, operation in item.items()
            if method in METHODS
            for status in operation["responses"]
        }
        return documented - self.seen


def _valid(schema: dict[str, Any], instance: Any, where: str) -> None:
    errors = [str(e) for e in jsonschema_rs.validator_for(schema).iter_errors(instance)]
    assert not errors, f"{where}: {errors}\n{instance}"


@pytest.fixture
async def api(council: Harness) -> Conformance:
    async with council.http.get(f"{council.url}/api/v1/openapi.json") as response:
        document = await response.json()
    checked = Conformance(council, document)
    headers = dict(response.headers)
    checked.conforms("GET", "/api/v1/openapi.json", response.status, headers, "application/json", document)
    return checked


async def _opened(api: Conformance, body: dict[str, Any] | None = None) -> str:
    status, answer = await api.call("POST", "/api/v1/escalations", body=body or REFUND)
    assert status == 201
    return str(answer["id"])


async def _malformed(api: Conformance, method: str, template: str, id: str = "") -> None:
    """A body that is broken JSON, too large, not JSON, and wrong: 400, 413, 415, 422."""
    json_type = {"Content-Type": "application/json"}
    cases = [
        (400, b'{"title": ', json_type),
        (413, b'{"title": "' + b"x" * 70_000 + b'"}', json_type),
        (415, b"title=x", {"Content-Type": "text/plain"}),
        (422, b'{"no such field": 1}', json_type),
    ]
    for expected, data, headers in cases:
        status, _ = await api.call(method, template, id=id, data=data, headers=headers)
        assert status == expected, (method, template, expected)


async def test_every_documented_answer_is_given_and_matches_the_document(api: Conformance) -> None:
    council = api.council
    escalations, one = "/api/v1/escalations", "/api/v1/escalations/{id}"
    withdraw, execution = f"{one}/withdraw", f"{one}/execution"
    other = "esc_" + "0" * 20

    # Open: a new escalation, its replay, a conflicting replay, and every malformed body.
    status, first = await api.call("POST", escalations, body=REFUND, headers={"Idempotency-Key": "k-1"})
    again, replay = await api.call("POST", escalations, body=REFUND, headers={"Idempotency-Key": "k-1"})
    assert (status, again, replay["id"]) == (201, 200, first["id"])
    changed = {**REFUND, "title": "Another"}
    status, _ = await api.call("POST", escalations, body=changed, headers={"Idempotency-Key": "k-1"})
    assert status == 409
    await _malformed(api, "POST", escalations)
    for template, id in ((escalations, ""), (one, other), (withdraw, other), (execution, other)):
        method = "POST" if template != one else "PATCH"
        assert (await api.call(method, template, id=id, body={}, key=""))[0] == 401
    assert (await api.call("GET", one, id=other, key=""))[0] == 401
    assert (await api.call("GET", "/api/v1/agents/me", key=""))[0] == 401

    # Read: as it stands, long-polled, someone else's or unknown, and a bad wait.
    esc = first["id"]
    assert (await api.call("GET", one, id=esc, query="?wait=0.1"))[0] == 200
    assert (await api.call("GET", one, id=other))[0] == 404
    assert (await api.call("GET", one, id=esc, query="?wait=1&wait=2"))[0] == 422

    # Amend, then decide it in Slack: the answer carries the votes, the tally and the decision.
    status, amended = await api.call("PATCH", one, id=esc, body={"title": "Refund order 1042 (amended)"})
    assert status == 200 and amended["version"] == 2
    assert (await api.call("PATCH", one, id=other, body={"title": "x"}))[0] == 404
    await _malformed(api, "PATCH", one, esc)
    # Members vote on the amended message, once Slack shows it (Council paces its updates to Slack).
    await council.fake.wait_for(lambda: "(amended)" in council.message_text(esc), timeout=60)
    await council.click("U0TECH001", ids.APPROVE, esc)
    await council.reject("U0FIN0001", esc, "Check for fraud first.")
    await council.click("U0PEOPLE1", ids.APPROVE, esc)
    decided = await _settled(api, esc)
    assert decided["decision"]["votes"] and decided["decision"]["tally"]["approve"] == 2
    assert (await api.call("PATCH", one, id=esc, body={"title": "Too late"}))[0] == 409

    # Report what ran, once.
    status, reported = await api.call("POST", execution, id=esc, body={"amount": "1250"})
    assert status == 200 and reported["execution"]["within_approval"] is True
    assert (await api.call("POST", execution, id=esc, body={"amount": "1250"}))[0] == 409
    assert (await api.call("POST", execution, id=other, body={}))[0] == 404
    await _malformed(api, "POST", execution, esc)

    # Withdraw another, with and without a body, and a second time.
    pending, pending_too = await _opened(api), await _opened(api)
    await _malformed(api, "POST", withdraw, pending)
    status, withdrawn = await api.call("POST", withdraw, id=pending, body={"reason": "No longer needed"})
    assert status == 200 and withdrawn["status"] == "withdrawn"
    assert (await api.call("POST", withdraw, id=pending, data=b""))[0] == 409
    assert (await api.call("POST", withdraw, id=other))[0] == 404

    # An incident, owned and resolved in Slack, and a notice: their own fields, as documented.
    incident = await _opened(api, {"kind": "incident", "title": "Refund queue stuck", "risk": "high"})
    await council.posted(incident)
    await council.click("U0TECH001", ids.TAKE_OWNERSHIP, incident)
    notes = {ids.NOTES_BLOCK: {ids.NOTES_INPUT: "Restarted the worker."}}
    await council.through_modal("U0TECH001", ids.RESOLVE, incident, notes)
    resolved = await _settled(api, incident, until="resolved")
    assert resolved["owner"] == "U0TECH001" and resolved["resolved_at"].endswith("Z")
    notice = await _opened(api, {"kind": "notice", "title": "Refunds paused for the weekend"})
    status, posted = await api.call("GET", one, id=notice)
    assert status == 200 and "owner" not in posted

    # An agent over its rate: 429 with Retry-After. Then paused: 403 for what it may no longer do.
    await config.apply_text(LIMITED, source="council.yml")
    rate = await agents.create(name="rate-bot", owner="U0OWNER02", council="ai-council", server_key=b"k" * 32)
    limited = await _opened_as(api, rate.api_key)
    assert (await api.call("POST", escalations, body=REFUND, key=rate.api_key))[0] == 429
    assert (await api.call("PATCH", one, id=limited, body={"title": "x"}, key=rate.api_key))[0] == 429
    # Past the long polls it may hold open: 429 too, while the one it holds waits on.
    rt = council.app[RUNTIME]
    rt.settings = rt.settings.model_copy(update={"council_long_polls_per_agent": 1})
    held = asyncio.create_task(api.call("GET", one, id=pending_too, query="?wait=30"))
    await council.fake.wait_for(lambda: rt.long_polls.count() == 1)
    assert (await api.call("GET", one, id=pending_too, query="?wait=30"))[0] == 429
    assert (await api.call("POST", withdraw, id=pending_too))[0] == 200
    assert (await asyncio.wait_for(held, timeout=30))[0] == 200
    await agents.pause(name="rate-bot", reason="under review", actor="U0ADMIN01")
    assert (await api.call("POST", escalations, body=REFUND, key=rate.api_key))[0] == 403
    assert (await api.call("PATCH", one, id=limited, body={"title": "x"}, key=rate.api_key))[0] == 403
    status, me = await api.call("GET", "/api/v1/agents/me", key=rate.api_key)
    assert status == 200 and me["status"] == "paused" and me["limits"] == {"rate_per_minute": 1}

    # The HTTP server refuses a header over 8 KiB itself, for every operation alike.
    for path, item in api.document["paths"].items():
        for method in item.keys() & METHODS:
            oversized = {"X-Padding": "x" * 9000}
            status, text = await api.call(method.upper(), path, id=other, headers=oversized)
            assert status == 400 and text

    assert not api.unseen(), "documented but never answered"


async def _opened_as(api: Conformance, key: str) -> str:
    status, answer = await api.call("POST", "/api/v1/escalations", body=REFUND, key=key)
    assert status == 201
    return str(answer["id"])


async def _settled(api: Conformance, public_id: str, until: str = "") -> dict[str, Any]:
    """Read the escalation until it is decided (or has the status `until`).

    The bound is generous (a minute): a busy CI machine must not turn a slow vote into a failure.
    """
    for _ in range(3000):
        _, answer = await api.call("GET", "/api/v1/escalations/{id}", id=public_id)
        if (answer["status"] == until) if until else answer["decision"] is not None:
            return dict(answer)
        await asyncio.sleep(0.02)
    raise AssertionError(f"{public_id} never settled: {answer}")
