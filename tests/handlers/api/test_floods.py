"""Floods refused at the door: the rate limit holds under concurrency, and covers amendments."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.settings import Settings
from models import AuditEvent, OutboxItem
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


async def test_amendments_count_against_the_rate(limited: Harness) -> None:
    status, opened = await limited.escalate()
    assert status == 201
    esc = opened["id"]
    status, amended = await limited.api(
        "PATCH", f"/escalations/{esc}", {"title": "Refund order 1042 (partial)"}
    )
    assert status == 200 and amended["version"] == 2
    async with limited.http.patch(
        f"{limited.url}/api/v1/escalations/{esc}", json={"title": "Third time"}, headers=limited.auth()
    ) as response:
        assert response.status == 429 and 1 <= int(response.headers["Retry-After"]) <= 60
        assert _error(await response.json())["code"] == "rate_limited"
    status, body = await limited.escalate()
    assert status == 429 and _error(body)["code"] == "rate_limited"
    status, unchanged = await limited.get(esc)
    assert unchanged["title"] == "Refund order 1042 (partial)" and unchanged["version"] == 2


async def test_a_patch_that_changes_nothing_is_200_as_is_and_tells_nobody(council: Harness) -> None:
    status, opened = await council.escalate()
    esc = opened["id"]
    escalation = await council.posted(esc)
    effects = await OutboxItem.filter(escalation=escalation).count()
    same = {
        "title": REFUND["title"],
        "summary": REFUND["summary"],
        "action": {**REFUND["action"], "amount": "1250.00", "currency": "usd"},
        "risk": REFUND["risk"],
        "context": REFUND["context"],
        "links": [],
        "category": None,
    }
    status, answer = await council.api("PATCH", f"/escalations/{esc}", same)
    assert status == 200 and answer == opened and answer["version"] == 1
    assert await OutboxItem.filter(escalation=escalation).count() == effects
    assert not await AuditEvent.filter(subject=esc, action="escalation.amended").exists()
    # A real change after it is the first amendment: version 2, and one reply in the thread.
    status, amended = await council.api("PATCH", f"/escalations/{esc}", {**same, "summary": "Charged twice."})
    assert status == 200 and amended["version"] == 2
    message = council.fake.messages("C0COUNCIL")[0]
    replies = await council.fake.wait_for(lambda: council.fake.replies_of("C0COUNCIL", message.ts))
    assert len(replies) == 1
    event = await AuditEvent.get(subject=esc, action="escalation.amended")
    assert event.payload["after"]["summary"] == "Charged twice."
