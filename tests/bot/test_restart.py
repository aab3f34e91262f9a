"""`council serve` as a real process: killed with SIGKILL mid-delivery, restarted, nothing lost or doubled."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from models import OutboxItem
from tests.fakeslack import FakeSlack
from tests.harness import COUNCIL_YML, REFUND


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        yield slack


@pytest.fixture
def environment(tmp_path: Path, database: str, fake: FakeSlack) -> dict[str, str]:
    (tmp_path / "council.yml").write_text(COUNCIL_YML)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "COUNCIL_", "DATABASE_URL"))}
    return env | {
        "SLACK_BOT_TOKEN": fake.token,
        "SLACK_SIGNING_SECRET": "test-signing-secret",
        "SLACK_API_URL": fake.api_url,
        "DATABASE_URL": database,
        "HOST": "127.0.0.1",
        "PORT": str(_free_port()),
        "COUNCIL_CONFIG": str(tmp_path / "council.yml"),
        "COUNCIL_SECRET_KEY_FILE": str(tmp_path / "council.key"),
        "COUNCIL_ALLOW_PRIVATE_CALLBACKS": "true",
        "COUNCIL_OUTBOX_POLL": "0.05",
    }


async def _council(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def _failure_recorded() -> None:
    """Wait until the server has recorded its failed post (the row waits out its backoff)."""
    for _ in range(600):
        if await OutboxItem.filter(kind="escalation.opened", last_error__isnull=False).exists():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the failed post was never recorded")


async def _serve(
    env: dict[str, str], http: aiohttp.ClientSession, log: list[str] | None = None
) -> asyncio.subprocess.Process:
    """Start `council serve` and wait until it answers; its log lines go to `log` when given."""
    stderr = asyncio.subprocess.DEVNULL if log is None else asyncio.subprocess.PIPE
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", env=env, stderr=stderr
    )
    if log is not None:
        asyncio.get_running_loop().create_task(_read_log(process, log))
    # Liveness, not readiness: with Slack down, /readyz rightly says 503.
    url = f"http://127.0.0.1:{env['PORT']}/healthz"
    for _ in range(1200):  # up to a minute: a loaded CI machine starts Python slowly
        try:
            async with http.get(url) as response:
                if response.status == 200:
                    return process
        except aiohttp.ClientConnectionError:
            pass
        if process.returncode is not None:
            raise AssertionError(f"council serve exited with {process.returncode}")
        await asyncio.sleep(0.05)
    raise AssertionError("council serve did not start serving")


async def _configured(env: dict[str, str]) -> dict[str, str]:
    """Apply council.yml and create the agent with the command line; return its credentials."""
    code, _, err = await _council(env, "config", "apply", env["COUNCIL_CONFIG"])
    assert code == 0, err
    code, out, err = await _council(
        env, "agent", "create", "refund-bot", "--owner", "U0OWNER01", "--council", "ai-council", "--json"
    )
    assert code == 0, err
    creds: dict[str, str] = json.loads(out)
    assert set(creds) == {"name", "api_key", "signing_secret"}
    return creds


async def _read_log(process: asyncio.subprocess.Process, log: list[str]) -> None:
    assert process.stderr is not None
    async for line in process.stderr:
        log.append(line.decode(errors="replace"))


async def test_sigkill_while_slack_is_down_then_restart_posts_once(
    environment: dict[str, str], fake: FakeSlack
) -> None:
    creds = await _configured(environment)
    base = f"http://127.0.0.1:{environment['PORT']}"
    fake.down = True
    async with aiohttp.ClientSession() as http:
        server = await _serve(environment, http)
        async with http.post(
            f"{base}/api/v1/escalations", json=REFUND, headers={"Authorization": f"Bearer {creds['api_key']}"}
        ) as response:
            assert response.status == 201
            esc = (await response.json())["id"]
        await _failure_recorded()
        server.send_signal(signal.SIGKILL)
        await server.wait()
        assert fake.messages("C0COUNCIL") == []
        # However long the backoff it was left with, a restart makes the row due at once.
        await OutboxItem.filter(kind="escalation.opened").update(
            next_attempt_at=datetime.now(UTC) + timedelta(hours=1)
        )

        fake.down = False
        server = await _serve(environment, http)
        try:
            messages = await fake.wait_for(lambda: fake.messages("C0COUNCIL"), timeout=60)
            async with http.get(
                f"{base}/api/v1/escalations/{esc}", headers={"Authorization": f"Bearer {creds['api_key']}"}
            ) as response:
                assert (await response.json())["status"] == "pending"
        finally:
            server.send_signal(signal.SIGTERM)
            await server.wait()
    assert len(messages) == 1 and esc in fake.rendered_text(messages[0])
    assert sum(1 for c in fake.calls if c.method == "chat.postMessage" and c.ok) == 1
    code, out, _ = await _council(environment, "audit", "verify")
    assert code == 0 and "intact" in out
