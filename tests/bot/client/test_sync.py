"""The blocking client against the real app, and the client importing without the server's packages."""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import threading

import pytest

from bot.app_keys import RUNTIME
from bot.client import NotFound, SyncCouncilClient
from bot.slack import ids
from tests.harness import REFUND, Harness

SERVER_ONLY = (
    "tortoise",
    "slack_sdk",
    "slack_bolt",
    "yaml",
    "apscheduler",
    "matplotlib",
    "pydantic_settings",
)


async def test_the_blocking_client_makes_the_same_calls(council: Harness) -> None:
    def as_a_script() -> tuple[str, str, str]:
        with SyncCouncilClient(council.url, council.creds.api_key) as agent:
            escalation = agent.escalate(**REFUND)
            with pytest.raises(NotFound):
                agent.get("esc_" + "0" * 20)
            return escalation.id, agent.get(escalation.id).status, agent.me().name

    public_id, status, name = await asyncio.to_thread(as_a_script)
    assert public_id.startswith("esc_") and status == "pending" and name == "refund-bot"

    def wait() -> str:
        with SyncCouncilClient(council.url, council.creds.api_key) as agent:
            return agent.wait_for_decision(public_id, timeout=60).status

    waiting = asyncio.ensure_future(asyncio.to_thread(wait))
    await council.click("U0TECH001", ids.APPROVE, public_id)
    await council.click("U0FIN0001", ids.APPROVE, public_id)
    assert await asyncio.wait_for(waiting, timeout=60) == "approved"


def _client_threads() -> int:
    return sum(1 for thread in threading.enumerate() if thread.name == "council-client")


async def test_closing_while_a_call_waits_ends_the_call_and_the_thread(council: Harness) -> None:
    agent = SyncCouncilClient(council.url, council.creds.api_key)
    public_id = (await asyncio.to_thread(agent.escalate, **REFUND)).id
    waiting = asyncio.ensure_future(asyncio.to_thread(agent.wait_for_decision, public_id, 60))
    for _ in range(3000):
        if council.app[RUNTIME].long_polls.count():
            break
        await asyncio.sleep(0.01)
    await asyncio.to_thread(agent.close)
    with pytest.raises(RuntimeError, match="closed while the call waited"):
        await asyncio.wait_for(waiting, timeout=30)
    assert not agent._thread.is_alive()


def test_a_bad_url_or_a_forgotten_close_leaves_no_thread_behind() -> None:
    before = _client_threads()
    for _ in range(3):
        with pytest.raises(ValueError, match="http:// or https://"):
            SyncCouncilClient("council.example.com", "ck_key")
    assert _client_threads() == before
    forgotten = SyncCouncilClient("http://127.0.0.1:9", "ck_key")
    assert _client_threads() == before + 1
    thread = forgotten._thread
    del forgotten
    gc.collect()
    thread.join(timeout=30)
    assert not thread.is_alive() and _client_threads() == before


def test_a_closed_blocking_client_says_so() -> None:
    agent = SyncCouncilClient("http://127.0.0.1:9", "ck_key")
    agent.close()
    agent.close()
    with pytest.raises(RuntimeError, match="closed"):
        agent.me()


def test_the_client_imports_with_only_aiohttp_and_pydantic() -> None:
    # A fresh interpreter where the server's packages cannot be imported, as on an agent's machine.
    probe = (
        "import sys\n"
        f"for name in {SERVER_ONLY!r}: sys.modules[name] = None\n"
        "import bot.client\n"
        "from bot.client import CouncilClient, SyncCouncilClient, verify_signature\n"
        "import json\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('bot', 'models')))))\n"
    )
    ran = subprocess.run(  # noqa: S603 - this interpreter running our own probe
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert ran.returncode == 0, ran.stderr
    loaded = json.loads(ran.stdout)
    assert "bot.client" in loaded and not any(m.startswith(("bot.services", "bot.db")) for m in loaded)
