"""Two `council serve` processes on one PostgreSQL database, under one storm: one grouped message."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.outbox.slack_effects import METADATA_EVENT as ESCALATION_POST
from bot.outbox.storm_effects import METADATA_EVENT as STORM_POST
from models import Escalation, OutboxItem, Storm
from models.enums import Delivery
from tests.bot.test_restart import _serve
from tests.fakeslack import FakeSlack
from tests.harness import COUNCIL_YML, free_port

STORM_AFTER = 5
STORM_YML = COUNCIL_YML.replace(
    "council: ai-council}", f"council: ai-council, limits: {{storm_after: {STORM_AFTER}}}}}", 1
)
# Replicas share PostgreSQL; SQLite is one process's embedded file, not a database two servers share.
pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        yield slack


def _environment(tmp_path: Path, database: str, fake: FakeSlack, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "COUNCIL_", "DATABASE_URL"))}
    return env | {
        "SLACK_BOT_TOKEN": fake.token,
        "SLACK_SIGNING_SECRET": "test-signing-secret",
        "SLACK_API_URL": fake.api_url,
        "DATABASE_URL": database,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "COUNCIL_CONFIG": str(tmp_path / "council.yml"),
        # One server key for both, as replicas of one deployment share it.
        "COUNCIL_SECRET_KEY_FILE": str(tmp_path / "council.key"),
        "COUNCIL_ALLOW_PRIVATE_CALLBACKS": "true",
        "COUNCIL_OUTBOX_POLL": "0.05",
    }


async def _cli(env: dict[str, str], *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *args, env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    assert process.returncode == 0, args
    return out.decode()


async def _settled(fake: FakeSlack) -> None:
    for _ in range(1200):
        if not await OutboxItem.filter(status=Delivery.PENDING).exists():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the outbox never emptied\n{fake.dump()}")


async def test_two_replicas_under_one_storm_post_one_grouped_message(
    tmp_path: Path, database: str, fake: FakeSlack
) -> None:
    (tmp_path / "council.yml").write_text(STORM_YML)
    first = _environment(tmp_path, database, fake, free_port())
    second = _environment(tmp_path, database, fake, free_port())
    await _cli(first, "config", "apply", first["COUNCIL_CONFIG"])
    creds = json.loads(await _cli(first, "agent", "create", "refund-bot", "--owner", "U0OWNER01", "--json"))
    headers = {"Authorization": f"Bearer {creds['api_key']}"}
    bases = [f"http://127.0.0.1:{env['PORT']}" for env in (first, second)]
    gate = asyncio.Semaphore(8)
    async with aiohttp.ClientSession() as http:
        servers = [await _serve(first, http), await _serve(second, http)]
        try:

            async def escalate(n: int) -> None:
                body = {
                    "kind": "approval",
                    "title": f"Refund {n}",
                    "action": {"amount": 200, "currency": "USD"},
                }
                async with (
                    gate,
                    http.post(f"{bases[n % 2]}/api/v1/escalations", json=body, headers=headers) as response,
                ):
                    assert response.status == 201, await response.text()

            # Both replicas take requests at once, so both race to start the storm and to post it.
            await asyncio.gather(*(escalate(n) for n in range(60)))
            await fake.wait_for(
                lambda: any(
                    (m.metadata or {}).get("event_type") == STORM_POST for m in fake.messages("C0COUNCIL")
                ),
                timeout=60,
            )
            await _settled(fake)
            # Every change was shown: the grouped message's last render counts all of them.
            grouped = next(
                m for m in fake.messages("C0COUNCIL") if (m.metadata or {}).get("event_type") == STORM_POST
            )
            assert f"{60 - STORM_AFTER} escalations" in fake.rendered_text(grouped)
        finally:
            for server in servers:
                server.send_signal(signal.SIGTERM)
            for server in servers:
                await server.wait()
    kinds = [(m.metadata or {}).get("event_type") for m in fake.messages("C0COUNCIL")]
    assert kinds.count(ESCALATION_POST) == STORM_AFTER
    assert kinds.count(STORM_POST) == 1
    assert len(kinds) == STORM_AFTER + 1
    assert await Storm.all().count() == 1
    assert await Escalation.filter(storm_id__isnull=False).count() == 60 - STORM_AFTER
