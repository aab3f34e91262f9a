"""`council serve` stopped with SIGTERM: it takes no new work, lands what is in flight, and exits 0."""

from __future__ import annotations

import asyncio
import json
import signal
import sys

import aiohttp

from models import Escalation, OutboxItem
from tests.bot.test_restart import _council, environment, fake
from tests.fakeslack import FakeSlack
from tests.harness import REFUND

__all__ = ["environment", "fake"]
DRAINING = "outbox stopping: waiting up to"


async def _serve(
    env: dict[str, str], http: aiohttp.ClientSession, log: list[str]
) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", env=env, stderr=asyncio.subprocess.PIPE
    )

    async def read_log() -> None:
        assert process.stderr is not None
        async for line in process.stderr:
            log.append(line.decode(errors="replace"))

    asyncio.get_running_loop().create_task(read_log())
    url = f"http://127.0.0.1:{env['PORT']}/healthz"
    for _ in range(1200):  # up to a minute: a loaded CI machine starts Python slowly
        try:
            async with http.get(url) as response:
                if response.status == 200:
                    return process
        except aiohttp.ClientConnectionError:
            pass
        if process.returncode is not None:
            raise AssertionError(f"council serve exited with {process.returncode}:\n{''.join(log)}")
        await asyncio.sleep(0.05)
    raise AssertionError("council serve did not start serving")


async def _logged(log: list[str], text: str) -> None:
    for _ in range(1200):
        if any(text in line for line in log):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never logged {text!r}:\n{''.join(log)}")


async def test_sigterm_finishes_the_delivery_in_flight_then_exits_0(
    environment: dict[str, str], fake: FakeSlack
) -> None:
    code, _, err = await _council(environment, "config", "apply", environment["COUNCIL_CONFIG"])
    assert code == 0, err
    code, out, err = await _council(
        environment,
        "agent",
        "create",
        "refund-bot",
        "--owner",
        "U0OWNER01",
        "--council",
        "ai-council",
        "--json",
    )
    assert code == 0, err
    key = json.loads(out)["api_key"]
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
