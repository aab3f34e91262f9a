"""Floods refused at the door: the rate limit holds under concurrency, and covers amendments."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.settings import Settings
from tests.harness import COUNCIL_YML, REFUND, Harness, running_council

LIMITED_YML = COUNCIL_YML.replace(
    "{name: refund-bot, owner: U0OWNER01, council: ai-council}",
    "{name: refund-bot, owner: U0OWNER01, council: ai-council, limits: {rate_per_minute: 2}}",
)


@pytest.fixture
async def limited(settings: Settings) -> AsyncIterator[Harness]:
    async with running_council(settings, council_yml=LIMITED_YML) as harness:
        yield harness


def _error(body: dict[str, Any]) -> dict[str, Any]:
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return body["error"]


async def test_twenty_at_once_with_a_limit_of_two_open_exactly_two(limited: Harness) -> None:
    async def one(n: int) -> tuple[int, dict[str, Any], str | None]:
        async with limited.http.post(
            f"{limited.url}/api/v1/escalations",
            json={**REFUND, "title": f"Refund {n}"},
            headers=limited.auth(),
        ) as response:
            return response.status, await response.json(), response.headers.get("Retry-After")

    answers = await asyncio.gather(*(one(n) for n in range(20)))
    statuses = sorted(status for status, _, _ in answers)
    assert statuses == [201] * 2 + [429] * 18
    for status, body, retry_after in answers:
        if status != 429:
            continue
        error = _error(body)
        assert error["code"] == "rate_limited" and "2 per minute" in error["message"]
        assert retry_after is not None and 1 <= int(retry_after) <= 60
        assert error["details"] == {"retry_after": int(retry_after)}
