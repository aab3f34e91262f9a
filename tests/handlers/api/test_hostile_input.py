"""Hostile and odd input at the agent API: a precise 4xx every time, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness import REFUND, Harness


async def _post_raw(council: Harness, raw: bytes) -> tuple[int, dict[str, Any]]:
    headers = {**council.auth(), "Content-Type": "application/json"}
    async with council.http.post(f"{council.url}/api/v1/escalations", data=raw, headers=headers) as response:
        return response.status, await response.json()


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b'{"kind": "approval", "title": "a\\u0000b"}', 422),
        (b'{"kind": "approval", "title": "t", "run_id": "\\u0000"}', 422),
        (b'{"kind": "approval", "title": "t", "context": {"k": "\\udc00"}}', 422),
        (b'{"kind": "approval", "title": "t", "context": {"\\u0000": 1}}', 422),
        (b'{"kind": "approval", "title": "t", "context": {"x": NaN}}', 400),
        (b'{"kind": "approval", "title": "t", "context": {"x": Infinity}}', 400),
        (b'{"kind": "approval", "title": "t", "context": {"x": 1e400}}', 422),
        (b'{"kind": "approval", "title": "t", "context": ' + b'{"a": ' * 300 + b"1" + b"}" * 301, 422),
        (b'{"kind": "approval", "title": "t", "action": {"amount": 1e400}}', 422),
        (b'\xff\xfe{"kind": "approval"}', 400),
    ],
)
async def test_unstorable_text_and_numbers_are_refused(council: Harness, raw: bytes, status: int) -> None:
    answer, body = await _post_raw(council, raw)
    assert answer == status, body
    assert set(body["error"]) == {"code", "message", "details"}


@pytest.mark.parametrize("path", ["esc_" + "0" * 60, "%00", "esc_%00", "..%2F..%2Fetc", "ESC_ABC"])
async def test_odd_ids_are_404(council: Harness, path: str) -> None:
    for method, suffix, body in (
        ("GET", "", None),
        ("POST", "/withdraw", {}),
        ("POST", "/execution", {}),
        ("PATCH", "", {"title": "x"}),
    ):
        async with council.http.request(
            method, f"{council.url}/api/v1/escalations/{path}{suffix}", json=body, headers=council.auth()
        ) as response:
            assert response.status == 404, (method, suffix, await response.text())


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
async def test_implausible_execution_time_is_422(council: Harness, when: str) -> None:
    _, created = await council.escalate()
    status, body = await council.api(
        "POST", f"/escalations/{created['id']}/execution", {"amount": 1, "executed_at": when}
    )
    assert status == 422 and body["error"]["details"][0]["field"] == "executed_at"


@pytest.mark.parametrize("key", ["x" * 256, "with space", "ümlaut"])
async def test_bad_idempotency_keys_are_422(council: Harness, key: str) -> None:
    async with council.http.post(
        f"{council.url}/api/v1/escalations", json=REFUND, headers={**council.auth(), "Idempotency-Key": key}
    ) as response:
        assert response.status == 422
        assert (await response.json())["error"]["details"] == [
            {"field": "Idempotency-Key", "message": "invalid header"}
        ]
