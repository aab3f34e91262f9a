"""Liveness, readiness and metrics, as a load balancer and Prometheus read them."""

from __future__ import annotations

import pytest

from models import Escalation
from tests.harness import Harness


async def test_healthz_and_readyz_answer(council: Harness) -> None:
    for path, expected in (("/healthz", {"status": "ok"}), ("/readyz", {"status": "ready"})):
        async with council.http.get(f"{council.url}{path}") as response:
            assert response.status == 200 and await response.json() == expected


async def test_readyz_is_503_when_the_database_fails(
    council: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise ConnectionError("database is down")

    monkeypatch.setattr(Escalation, "all", broken)
    async with council.http.get(f"{council.url}/readyz") as response:
        assert response.status == 503
        assert await response.json() == {"status": "unavailable", "database": "unreachable"}


async def test_metrics_count_every_status(council: Harness) -> None:
    _, created = await council.escalate()
    await council.posted(created["id"])
    _, notice = await council.escalate({"kind": "notice", "title": "FYI"})
    await council.posted(notice["id"])
    async with council.http.get(f"{council.url}/metrics") as response:
        assert response.content_type == "text/plain"
        text = await response.text()
    escalations = "\n".join(
        f'council_escalations{{status="{status}"}} {n}'
        for status, n in {
            "pending": 1,
            "approved": 0,
            "rejected": 0,
            "expired": 0,
            "withdrawn": 0,
            "open": 0,
            "acknowledged": 0,
            "resolved": 0,
            "posted": 1,
        }.items()
    )
    outbox = (
        'council_outbox{status="pending"} 0\ncouncil_outbox{status="done"} 2\ncouncil_outbox{status="dead"} 0'
    )
    assert text == (
        "# HELP council_escalations Escalations by status.\n"
        "# TYPE council_escalations gauge\n"
        f"{escalations}\n"
        "# HELP council_outbox Outbox rows by status.\n"
        "# TYPE council_outbox gauge\n"
        f"{outbox}\n"
    )
