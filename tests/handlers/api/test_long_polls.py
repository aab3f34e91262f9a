"""Long polls are capped per agent and overall: past a cap, 429 with Retry-After, the rest unharmed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.app_keys import RUNTIME
from bot.services import agents
from bot.settings import Settings
from bot.slack import ids
from tests.harness import Harness, running_council

PER_AGENT, TOTAL = 3, 5


@pytest.fixture
async def capped(settings: Settings) -> AsyncIterator[Harness]:
    limits = {"council_long_polls_per_agent": PER_AGENT, "council_long_polls_total": TOTAL}
    async with running_council(settings.model_copy(update=limits)) as harness:
        yield harness


async def _poll(council: Harness, esc: str, key: str | None = None) -> tuple[int, dict[str, Any], str | None]:
    async with council.http.get(
        f"{council.url}/api/v1/escalations/{esc}?wait=30", headers=council.auth(key)
    ) as response:
        return response.status, await response.json(), response.headers.get("Retry-After")


async def _held(council: Harness, count: int) -> None:
    polls = council.app[RUNTIME].long_polls
    await council.fake.wait_for(lambda: polls.count() == count, timeout=30)


async def test_past_the_agents_cap_a_long_poll_is_429_and_the_held_ones_still_answer(capped: Harness) -> None:
    _, opened = await capped.escalate()
    esc = opened["id"]
    held = [asyncio.create_task(_poll(capped, esc)) for _ in range(PER_AGENT)]
    await _held(capped, PER_AGENT)

    status, body, retry_after = await _poll(capped, esc)
    assert status == 429 and set(body) == {"error"}
    assert (
        body["error"]["code"] == "rate_limited" and "COUNCIL_LONG_POLLS_PER_AGENT" in body["error"]["message"]
    )
    assert retry_after is not None and 1 <= int(retry_after) <= 30
    assert body["error"]["details"] == {"retry_after": int(retry_after)}
    # A read without wait is not a long poll: it answers at once.
    assert (await capped.get(esc))[0] == 200

    await capped.click("U0TECH001", ids.APPROVE, esc)
    await capped.click("U0FIN0001", ids.APPROVE, esc)
    answers = await asyncio.wait_for(asyncio.gather(*held), timeout=30)
    assert [(status, body["status"]) for status, body, _ in answers] == [(200, "approved")] * PER_AGENT
    assert capped.app[RUNTIME].long_polls.count() == 0
    # Decided, a long poll answers at once, whatever the cap.
    status, body = await capped.get(esc, wait=30)
    assert (status, body["status"]) == (200, "approved")


async def test_past_the_total_cap_every_agent_gets_429(capped: Harness) -> None:
    other = await agents.create(
        name="other-bot", owner="U0OWNER02", council="ai-council", server_key=capped.app[RUNTIME].server_key
    )
    _, mine = await capped.escalate()
    async with capped.http.post(
        f"{capped.url}/api/v1/escalations",
        json={"kind": "approval", "title": "Other refund"},
        headers=capped.auth(other.api_key),
    ) as response:
        theirs = (await response.json())["id"]
    held = [asyncio.create_task(_poll(capped, mine["id"])) for _ in range(PER_AGENT)]
    held += [asyncio.create_task(_poll(capped, theirs, other.api_key)) for _ in range(TOTAL - PER_AGENT)]
    await _held(capped, TOTAL)

    status, body, retry_after = await _poll(capped, theirs, other.api_key)
    assert status == 429 and "COUNCIL_LONG_POLLS_TOTAL" in body["error"]["message"]
    assert retry_after is not None and 1 <= int(retry_after) <= 30

    # Withdrawn, both escalations answer their polls at once, and the places are free again.
    assert (await capped.api("POST", f"/escalations/{mine['id']}/withdraw"))[0] == 200
    async with capped.http.post(
        f"{capped.url}/api/v1/escalations/{theirs}/withdraw", headers=capped.auth(other.api_key)
    ) as response:
        assert response.status == 200
    answers = await asyncio.wait_for(asyncio.gather(*held), timeout=30)
    assert {(status, body["status"]) for status, body, _ in answers} == {(200, "withdrawn")}
    assert capped.app[RUNTIME].long_polls.count() == 0
