"""`council serve` stopped with SIGTERM: it takes no new work, lands what is in flight, and exits 0."""

from __future__ import annotations

import asyncio
import signal

import aiohttp

from models import Escalation, OutboxItem
from tests.bot.test_restart import _configured, _serve, environment, fake
from tests.fakeslack import FakeSlack
from tests.harness import REFUND

__all__ = ["environment", "fake"]
DRAINING = "outbox stopping: waiting up to"


async def _logged(log: list[str], text: str) -> None:
    for _ in range(1200):
        if any(text in line for line in log):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never logged {text!r}:\n{''.join(log)}")


async def _polling(http: aiohttp.ClientSession, environment: dict[str, str]) -> None:
    """Return once the server's /metrics shows the agent's long poll open."""
    for _ in range(1200):
        async with http.get(f"http://127.0.0.1:{environment['PORT']}/metrics") as response:
            if "council_long_polls_open 1.0" in await response.text():
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the long poll never opened")


async def test_sigterm_finishes_the_delivery_in_flight_then_exits_0(
    environment: dict[str, str], fake: FakeSlack
) -> None:
    key = (await _configured(environment))["api_key"]
    arrived, release = fake.hold_next("chat.postMessage")  # Slack is slow to answer the post
    log: list[str] = []
    async with aiohttp.ClientSession() as http:
        server = await _serve(environment, http, log)
        async with http.post(
            f"http://127.0.0.1:{environment['PORT']}/api/v1/escalations",
            json=REFUND,
            headers={"Authorization": f"Bearer {key}"},
        ) as response:
            assert response.status == 201
            public_id = (await response.json())["id"]
        await asyncio.wait_for(arrived.wait(), timeout=60)
        server.send_signal(signal.SIGTERM)
        # It has stopped taking work and waits for the post in flight; only now does Slack answer.
        await _logged(log, DRAINING)
        release.set()
        status = await asyncio.wait_for(server.wait(), timeout=60)
    assert status == 0, "".join(log)
    assert len(fake.messages("C0COUNCIL")) == 1
    assert sum(1 for c in fake.calls if c.method == "chat.postMessage") == 1
    escalation = await Escalation.get(public_id=public_id)
    assert escalation.message_ts == fake.messages("C0COUNCIL")[0].ts
    row = await OutboxItem.get(escalation=escalation, kind="escalation.opened")
    assert row.status == "done"


async def test_sigterm_answers_an_open_long_poll_at_once_rather_than_after_its_wait(
    environment: dict[str, str], fake: FakeSlack
) -> None:
    key = (await _configured(environment))["api_key"]
    base, auth = f"http://127.0.0.1:{environment['PORT']}/api/v1", {"Authorization": f"Bearer {key}"}
    log: list[str] = []
    async with aiohttp.ClientSession() as http:
        server = await _serve(environment, http, log)
        async with http.post(f"{base}/escalations", json=REFUND, headers=auth) as response:
            public_id = (await response.json())["id"]

        async def poll() -> tuple[int, dict[str, str]]:
            async with http.get(f"{base}/escalations/{public_id}?wait=60", headers=auth) as answer:
                return answer.status, await answer.json()

        waiting = asyncio.create_task(poll())
        await _polling(http, environment)
        server.send_signal(signal.SIGTERM)
        # Within its 60 s wait: a stop no longer sits out the agent's poll (aiohttp waits for it).
        status, body = await asyncio.wait_for(waiting, timeout=45)
        exit_status = await asyncio.wait_for(server.wait(), timeout=45)
    assert status == 200 and body["status"] == "pending"
    assert exit_status == 0, "".join(log)
