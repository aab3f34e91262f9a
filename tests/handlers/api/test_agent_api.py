"""The agent API at its boundary: every bad input gets a precise error, never a 500."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import pytest

from bot.schemas import EscalationIn
from bot.services import agents, config, escalations
from bot.slack import ids
from tests.harness import COUNCIL_YML, REFUND, Harness


async def _raw(
    council: Harness, data: bytes, content_type: str = "application/json", auth: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    headers = {**(auth if auth is not None else council.auth()), "Content-Type": content_type}
    async with council.http.post(f"{council.url}/api/v1/escalations", data=data, headers=headers) as response:
        return response.status, await response.json()


def _error(body: dict[str, Any]) -> dict[str, Any]:
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return body["error"]


async def test_broken_json_is_400(council: Harness) -> None:
    status, body = await _raw(council, b'{"kind": "approval", "title": ')
    assert status == 400 and _error(body)["code"] == "invalid_json"


async def test_wrong_content_type_is_415(council: Harness) -> None:
    status, body = await _raw(council, b"kind=approval", content_type="application/x-www-form-urlencoded")
    assert status == 415 and "application/json" in _error(body)["message"]


async def test_body_over_64_kb_is_413(council: Harness) -> None:
    status, body = await _raw(council, b'{"title": "' + b"x" * 70_000 + b'"}')
    assert status == 413 and _error(body)["code"] == "payload_too_large"


@pytest.mark.parametrize("auth", [{}, {"Authorization": "Bearer ck_unknown"}, {"Authorization": "Basic abc"}])
async def test_missing_or_unknown_key_is_401(council: Harness, auth: dict[str, str]) -> None:
    status, body = await _raw(council, b'{"kind": "approval", "title": "t"}', auth=auth)
    assert status == 401 and _error(body)["code"] == "unauthorized"


async def test_a_rotated_key_works_through_its_grace_and_a_revoked_one_is_401(council: Harness) -> None:
    old = council.creds.api_key
    body = b'{"kind": "approval", "title": "t"}'
    await agents.rotate(name="refund-bot", server_key=b"k" * 32)
    status, _ = await _raw(council, body, auth={"Authorization": f"Bearer {old}"})
    assert status == 201  # 24 hours to switch
    await agents.rotate(name="refund-bot", server_key=b"k" * 32, grace=timedelta(0))
    status, answer = await _raw(council, body, auth={"Authorization": f"Bearer {old}"})
    assert status == 401 and _error(answer)["code"] == "key_revoked"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": None}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"summary": "x" * 4001}, "summary"),
        ({"context": {"blob": "x" * 17_000}}, "context"),
        ({"kind": "bogus"}, "kind"),
        ({"risk": "apocalyptic"}, "risk"),
        ({"action": {"amount": -5}}, "action.amount"),
        ({"action": {"amount": "lots"}}, "action.amount"),
        ({"action": {"amount": True}}, "action.amount"),
        ({"action": {"amount": "1_000"}}, "action.amount"),
        ({"action": {"amount": "1e3"}}, "action.amount"),
        ({"action": {"amount": " 5"}}, "action.amount"),
        ({"action": {"amount": "12.34567"}}, "action.amount"),
        ({"action": {"amount": 10**16}}, "action.amount"),
        ({"action": {"currency": "dollars"}}, "action.currency"),
        ({"links": [{"title": "x", "url": "javascript:alert(1)"}]}, "links[0].url"),
        ({"callback_url": "ftp://agent.example/cb"}, "callback_url"),
        ({"callback_url": "https://"}, "callback_url"),
        ({"deadline_seconds": 5}, "deadline_seconds"),
        ({"ammount": 5}, "ammount"),
    ],
)
async def test_invalid_fields_are_422_naming_the_field(
    council: Harness, changes: dict[str, Any], field: str
) -> None:
    body = {**REFUND, **changes}
    body = {k: v for k, v in body.items() if v is not None}
    status, answer = await council.escalate(body)
    error = _error(answer)
    assert status == 422 and error["code"] == "validation_failed"
    assert field in [d["field"] for d in error["details"]], error


async def test_top_level_must_be_an_object(council: Harness) -> None:
    status, body = await _raw(council, b"[1, 2]")
    assert status == 422 and _error(body)["message"] == "body must be a JSON object"


async def test_unknown_or_foreign_escalation_is_404(council: Harness) -> None:
    status, body = await council.get("esc_doesnotexist")
    assert status == 404 and _error(body)["code"] == "not_found"
    _, created = await council.escalate()
    other = await agents.create(
        name="other-bot", owner="U0OWNER02", council="ai-council", server_key=b"k" * 32
    )
    async with council.http.get(
        f"{council.url}/api/v1/escalations/{created['id']}", headers=council.auth(other.api_key)
    ) as response:
        assert response.status == 404


async def test_idempotent_replay_is_200_and_different_body_409(council: Harness) -> None:
    first_status, first = await council.escalate(REFUND, key="refund-1042")
    again_status, again = await council.escalate(REFUND, key="refund-1042")
    assert (first_status, again_status) == (201, 200) and again["id"] == first["id"]
    status, body = await council.escalate({**REFUND, "title": "Another"}, key="refund-1042")
    assert status == 409 and _error(body)["code"] == "idempotency_conflict"


async def test_concurrent_replays_open_one_escalation(council: Harness) -> None:
    results = await asyncio.gather(*(council.escalate(REFUND, key="same-key") for _ in range(5)))
    assert sorted(status for status, _ in results) == [200, 200, 200, 200, 201]
    assert len({body["id"] for _, body in results}) == 1


async def test_long_poll_returns_when_decided(council: Harness) -> None:
    _, created = await council.escalate()
    esc = created["id"]
    await council.posted(esc)
    waiting = asyncio.create_task(council.get(esc, wait=30))
    await asyncio.sleep(0)
    await council.click("U0TECH001", ids.APPROVE, esc)
    await council.click("U0FIN0001", ids.APPROVE, esc)
    status, body = await asyncio.wait_for(waiting, timeout=15)
    assert status == 200 and body["status"] == "approved"
    assert body["decision"]["outcome"] == "approved"


@pytest.mark.parametrize("wait", ["soon", "-1", "61", "nan", "", "1&wait=2"])
async def test_bad_wait_is_422(council: Harness, wait: str) -> None:
    _, created = await council.escalate()
    async with council.http.get(
        f"{council.url}/api/v1/escalations/{created['id']}?wait={wait}", headers=council.auth()
    ) as response:
        assert response.status == 422
        assert _error(await response.json())["details"][0]["field"] == "wait"


async def test_paused_agent_gets_403_and_me_says_so(council: Harness) -> None:
    await agents.set_status(name="refund-bot", status="paused", reason="over budget", actor="U0ADMIN01")
    status, body = await council.escalate()
    assert status == 403 and _error(body)["code"] == "agent_paused"
    async with council.http.get(f"{council.url}/api/v1/agents/me", headers=council.auth()) as response:
        me = await response.json()
    assert me["status"] == "paused" and me["paused_reason"] == "over budget"


async def test_unknown_route_and_method_answer_json(council: Harness) -> None:
    async with council.http.get(f"{council.url}/api/v1/nothing") as response:
        assert response.status == 404 and _error(await response.json())["code"] == "not_found"
    async with council.http.delete(f"{council.url}/api/v1/escalations") as response:
        assert response.status == 405 and response.headers["Allow"] == "POST"
        assert _error(await response.json())["code"] == "method_not_allowed"
    async with council.http.put(f"{council.url}/api/v1/escalations/esc_x") as response:
        assert response.status == 405
        assert set(response.headers["Allow"].split(",")) == {"GET", "HEAD", "PATCH"}


@pytest.mark.parametrize("seconds", [10, 31 * 24 * 3600])
async def test_deadline_out_of_range_is_422(council: Harness, seconds: int) -> None:
    deadline = (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()
    status, body = await council.escalate({**REFUND, "deadline": deadline})
    assert status == 422 and _error(body)["details"][0]["field"] == "deadline"


class FortyFiveSecondsLater(datetime):
    """The clock the deadline check reads, moved on by 45 seconds."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        return datetime.now(tz) + timedelta(seconds=45)


async def test_replay_answers_even_when_its_deadline_has_come_close(
    council: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = {**REFUND, "deadline": (datetime.now(UTC) + timedelta(seconds=90)).isoformat()}
    status, first = await council.escalate(request, key="close-deadline")
    assert status == 201
    monkeypatch.setattr("bot.schemas.datetime", FortyFiveSecondsLater)
    fresh, _ = await council.escalate(request)
    assert fresh == 422
    again, replay = await council.escalate(request, key="close-deadline")
    assert again == 200 and replay["id"] == first["id"]


@pytest.mark.parametrize("field", ["title", "summary", "context", "links"])
async def test_amend_with_null_is_422_not_500(council: Harness, field: str) -> None:
    _, created = await council.escalate()
    status, body = await council.api("PATCH", f"/escalations/{created['id']}", {field: None})
    assert status == 422 and _error(body)["details"][0]["field"] == field


@pytest.mark.parametrize("patch", [{}, {"title": "x" * 201}, {"status": "approved"}, [1]])
async def test_bad_amendments_are_422(council: Harness, patch: Any) -> None:
    _, created = await council.escalate()
    status, body = await council.api("PATCH", f"/escalations/{created['id']}", patch)
    assert status == 422 and _error(body)["code"] == "validation_failed"


@pytest.mark.parametrize(("sent", "shown"), [("49.90", "49.9"), ("0001250", "1250"), (1250.5, "1250.5")])
async def test_amounts_as_plain_decimals_are_taken(council: Harness, sent: Any, shown: str) -> None:
    status, body = await council.escalate({**REFUND, "action": {"amount": sent}})
    assert status == 201 and body["action"] == {"amount": shown}


def test_a_request_fingerprint_survives_changes_to_the_schemas() -> None:
    # Replays compare this fingerprint with the stored one: if it drifts, every retry becomes a 409.
    fingerprint = escalations.request_hash(EscalationIn.model_validate(REFUND))
    assert fingerprint == "ffd2506b8dc8b25d387b90dcc1f61af5bdd4ee11c42927448be0c727326c53a9"


async def test_me_describes_the_agent_and_its_mandate(council: Harness) -> None:
    limits = "limits: {max_amount: 100000, auto_budget_24h: 5000.50, rate_per_minute: 120}"
    yml = COUNCIL_YML.replace("council: ai-council}", f"council: ai-council, {limits}}}", 1)
    await config.apply_text(yml, source="council.yml")
    status, me = await council.api("GET", "/agents/me")
    assert status == 200 and me == {
        "name": "refund-bot",
        "owner": "U0OWNER01",
        "council": "ai-council",
        "status": "active",
        "paused_reason": None,
        "limits": {"max_amount": "100000", "auto_budget_24h": "5000.5", "rate_per_minute": 120},
    }


async def test_an_agent_removed_from_council_yml_loses_its_key_but_not_its_history(council: Harness) -> None:
    status, opened = await council.escalate(REFUND)
    assert status == 201
    without = COUNCIL_YML.replace("  - {name: refund-bot, owner: U0OWNER01, council: ai-council}\n", "")
    await config.apply_text(without, source="council.yml")
    status, refused = await council.escalate(REFUND)
    assert status == 403 and _error(refused) == {
        "code": "agent_paused",
        "message": "agent refund-bot is paused: removed from council.yml",
        "details": None,
    }
    status, me = await council.api("GET", "/agents/me")
    assert status == 200 and (me["status"], me["paused_reason"]) == ("paused", "removed from council.yml")
    status, kept = await council.api("GET", f"/escalations/{opened['id']}")
    assert status == 200 and kept["id"] == opened["id"]
    await config.apply_text(COUNCIL_YML, source="council.yml")
    assert (await council.escalate(REFUND))[0] == 201


async def test_a_currency_limit_is_shown_as_council_yml_writes_it(council: Harness) -> None:
    limits = "currency: usd, limits: {max_amount: {amount: 100000, currency: EUR}, auto_budget_24h: 50}"
    yml = COUNCIL_YML.replace("council: ai-council}", f"council: ai-council, {limits}}}", 1)
    await config.apply_text(yml, source="council.yml")
    status, me = await council.api("GET", "/agents/me")
    assert status == 200 and me["limits"] == {
        "max_amount": {"amount": "100000", "currency": "EUR"},
        "auto_budget_24h": "50",
        "currency": "USD",
    }


@pytest.mark.parametrize("number", [b"1e3", b"1E3", b"2.5e2", b"1e-2", b"1e400"])
async def test_an_amount_in_exponent_notation_is_422(council: Harness, number: bytes) -> None:
    body = (
        b'{"kind": "approval", "title": "Refund", "action": {"amount": ' + number + b', "currency": "USD"}}'
    )
    status, answer = await _raw(council, body)
    error = _error(answer)
    assert status == 422 and [d["field"] for d in error["details"]] == ["action.amount"], error


async def test_exponents_elsewhere_and_plain_decimals_are_accepted(council: Harness) -> None:
    body = b'{"kind": "approval", "title": "Refund", "action": {"amount": 1250.5}, "context": {"p": 1e-3}}'
    status, answer = await _raw(council, body)
    assert status == 201 and answer["action"]["amount"] == "1250.5"
    assert answer["context"] == {"p": 0.001}
