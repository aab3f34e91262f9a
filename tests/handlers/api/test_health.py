"""Liveness and readiness, as a load balancer reads them (metrics: test_metrics.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.app_keys import RUNTIME
from models import Escalation, OutboxItem
from tests.harness import Harness


async def test_healthz_and_readyz_answer(council: Harness) -> None:
    async with council.http.get(f"{council.url}/healthz") as response:
        assert response.status == 200 and await response.json() == {"status": "ok"}
    status, ready = await _readyz(council)
    assert status == 200
    assert ready == {
        "status": "ready",
        "database": "ok",
        "slack": {"status": "ok", "retrying": 0, "last_error": None, "failing_since": None, "last_ok": None},
    }


async def _readyz(council: Harness) -> tuple[int, dict[str, Any]]:
    async with council.http.get(f"{council.url}/readyz") as response:
        return response.status, await response.json()


async def _until(check: Callable[[], Awaitable[bool]]) -> None:
    for _ in range(1200):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("never happened")


async def test_readyz_is_503_while_slack_fails_and_ready_again_once_it_answers(council: Harness) -> None:
    council.fake.down = True
    _, created = await council.escalate()
    await _until(lambda: OutboxItem.filter(kind="escalation.opened", last_error__isnull=False).exists())
    status, body = await _readyz(council)
    assert status == 503
    assert body["status"] == "unavailable" and body["database"] == "ok"
    slack = body["slack"]
    assert slack["status"] == "failing" and slack["retrying"] == 0
    assert slack["last_error"] and slack["failing_since"].endswith("Z") and slack["last_ok"] is None
    async with council.http.get(f"{council.url}/healthz") as response:
        assert response.status == 200  # still alive: only readiness follows Slack

    council.fake.down = False
    # The row's backoff is seconds away; bring it forward rather than wait for it.
    await OutboxItem.filter(kind="escalation.opened").update(next_attempt_at=datetime.now(UTC))
    council.app[RUNTIME].outbox.ring()
    await council.posted(created["id"])
    status, body = await _readyz(council)
    assert status == 200 and body["slack"]["status"] == "ok" and body["slack"]["last_error"] is None
    assert body["slack"]["failing_since"] is None and body["slack"]["last_ok"].endswith("Z")


async def test_readyz_counts_slack_rows_past_their_first_retry_from_any_replica(council: Harness) -> None:
    # Another replica's row, failed twice: this process has made no Slack call, yet Slack is failing.
    later = datetime.now(UTC) + timedelta(hours=1)
    await OutboxItem.create(
        kind="escalation.opened",
        payload={},
        attempts=2,
        last_error="slack: fatal_error",
        next_attempt_at=later,
    )
    await OutboxItem.create(
        kind="agent.callback", payload={}, attempts=5, last_error="agent down", next_attempt_at=later
    )
    status, body = await _readyz(council)
    assert status == 503
    assert body["slack"]["status"] == "failing" and body["slack"]["retrying"] == 1


async def test_readyz_is_503_when_the_database_fails(
    council: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise ConnectionError("database is down")

    monkeypatch.setattr(Escalation, "all", broken)
    async with council.http.get(f"{council.url}/readyz") as response:
        assert response.status == 503
        assert await response.json() == {"status": "unavailable", "database": "unreachable"}
    async with council.http.get(f"{council.url}/healthz") as response:
        assert response.status == 200
