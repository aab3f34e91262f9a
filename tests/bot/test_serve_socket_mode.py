"""`council serve --socket-mode` as a real process: Slack unreachable at start, then there, then gone."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot import keys
from bot.services import agents, config
from bot.settings import Settings
from bot.slack import admin_views, ids
from models import Escalation, Vote
from tests.fakeslack import FakeSlack
from tests.fakeslack.socket_mode import Ack, Envelope
from tests.harness import COUNCIL_YML, REFUND, free_port

EXIT_LIMIT = 10.0  # seconds from the signal to the exit: "within seconds", on a loaded machine too


def environment(tmp_path: Path, fake: FakeSlack, database_url: str) -> dict[str, str]:
    (tmp_path / "council.yml").write_text(COUNCIL_YML)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "COUNCIL_", "DATABASE_URL"))}
    return env | {
        "SLACK_BOT_TOKEN": fake.token,
        "SLACK_APP_TOKEN": fake.app_token,
        "SLACK_API_URL": fake.api_url,
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": str(free_port()),
        "COUNCIL_CONFIG": str(tmp_path / "council.yml"),
        "COUNCIL_SECRET_KEY_FILE": str(tmp_path / "council.key"),
        "COUNCIL_OUTBOX_POLL": "0.05",
        "COUNCIL_TALLY_DEBOUNCE": "0",
        "LOG_LEVEL": "INFO",
    }


@asynccontextmanager
async def serving(env: dict[str, str], log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run `council serve --socket-mode` until /healthz answers; kill it if a test leaves it running."""
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "serve", "--socket-mode", env=env, cwd=log.parent, stderr=stderr
        )
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(1200):  # up to a minute: a loaded CI machine starts Python slowly
                if process.returncode is not None:
                    raise AssertionError(f"exited with {process.returncode}:\n{_read(log)}")
                try:
                    async with http.get(f"http://127.0.0.1:{env['PORT']}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(f"/healthz never answered:\n{_read(log)}")
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def _read(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")


async def stopped_by(process: asyncio.subprocess.Process, sent: signal.Signals) -> int:
    """Send the signal; return the exit status, which must come within EXIT_LIMIT seconds."""
    process.send_signal(sent)
    try:
        return await asyncio.wait_for(process.wait(), EXIT_LIMIT)
    except TimeoutError:
        raise AssertionError(f"still running {EXIT_LIMIT:.0f} s after {sent.name}") from None


class Council:
    """The agent's and the operator's view of the served process."""

    def __init__(self, http: aiohttp.ClientSession, port: str, api_key: str, fake: FakeSlack) -> None:
        self.http, self.fake = http, fake
        self.url = f"http://127.0.0.1:{port}"
        self.auth = {"Authorization": f"Bearer {api_key}"}

    async def readyz(self) -> tuple[int, dict[str, Any]]:
        async with self.http.get(f"{self.url}/readyz") as response:
            return response.status, await response.json()

    async def socket_until(self, *, connected: bool, timeout: float = 60) -> dict[str, Any]:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while True:
                status, body = await self.readyz()
                if body["socket"]["connected"] is connected and (status == 200) is connected:
                    return body
                await asyncio.sleep(0.05)

    async def acked(self, envelope: Envelope) -> Ack:
        ack: Ack = await self.fake.wait_for(lambda: self.fake.socket.ack_of(envelope), timeout=10)
        assert ack.in_time, f"acknowledged after {ack.elapsed:.1f} s"
        return ack

    async def click(self, user: str, action_id: str, esc: Escalation) -> Ack:
        # The button as the posted message carries it, value and all.
        body = self.fake.block_action_body(user, action_id, channel_id="C0COUNCIL", message_ts=esc.message_ts)
        return await self.acked(await self.fake.socket.interaction(body))


async def _posted(public_id: str) -> Escalation:
    for _ in range(600):
        escalation = await Escalation.get(public_id=public_id)
        if escalation.message_ts:
            return escalation
        await asyncio.sleep(0.05)
    raise AssertionError(f"{public_id} was never posted")


async def test_serves_without_slack_then_takes_slacks_deliveries_and_stops_on_sigterm(
    tmp_path: Path, database: str, settings: Settings
) -> None:
    fake = FakeSlack(port=free_port())  # Slack cannot be reached: nothing listens there yet
    env = environment(tmp_path, fake, database)
    await config.apply_text(COUNCIL_YML, source="council.yml")
    creds = await agents.create(
        name="refund-bot", owner="U0OWNER01", council="ai-council", server_key=keys.load_server_key(settings)
    )
    log = tmp_path / "serve.log"
    try:
        await _the_story(env, log, creds.api_key, fake)
    finally:
        await fake.stop()
    text = _read(log)
    assert "Traceback" not in text, text
    failures = [line for line in text.splitlines() if "Socket Mode: cannot reach Slack (" in line]
    assert failures and "(attempt 1)" in failures[0], text
    assert "Socket Mode: connected to Slack" in text
    assert "Socket Mode: lost the connection to Slack; reconnecting" in text


async def _the_story(env: dict[str, str], log: Path, api_key: str, fake: FakeSlack) -> None:
    async with serving(env, log) as process, aiohttp.ClientSession() as http:
        council = Council(http, env["PORT"], api_key, fake)
        async with http.get(f"{council.url}/api/v1/agents/me", headers=council.auth) as response:
            assert response.status == 200
        status, body = await council.readyz()
        assert status == 503 and body["status"] == "unavailable"
        assert body["socket"]["connected"] is False

        await fake.start()
        body = await council.socket_until(connected=True)
        assert body["status"] == "ready" and body["socket"]["attempts"] == 0
        assert (
            body["database"] == "ok" and body["slack"]["status"] == "ok"
        )  # the unreachable start is cleared
        assert [link.number for link in fake.socket.open_links] == [1]

        command = await fake.socket.command(fake.slash_command_body("/council", "help"))
        await council.acked(command)
        answer = await fake.wait_for(lambda: fake.responses, timeout=10)
        assert answer[0].body["text"] == admin_views.HELP

        escalations = f"{council.url}/api/v1/escalations"
        async with http.post(escalations, json=REFUND, headers=council.auth) as response:
            assert response.status == 201
            esc = await _posted((await response.json())["id"])
        await council.click("U0TECH001", ids.APPROVE, esc)
        await council.click("U0FIN0001", ids.REJECT, esc)
        [opened] = await fake.wait_for(lambda: fake.views, timeout=10)
        reason = "Over the mandate; check for fraud first."
        values = {ids.REASON_BLOCK: {ids.REASON_INPUT: reason}}
        submission = fake.view_submission_body(
            "U0FIN0001", ids.REJECT_MODAL, values, private_metadata=opened.view["private_metadata"]
        )
        assert (await council.acked(await fake.socket.interaction(submission))).payload is None
        for _ in range(200):
            votes = await Vote.filter(escalation_id=esc.id).values_list("user_id", "choice", "reason")
            if len(votes) == 2:
                break
            await asyncio.sleep(0.05)
        assert sorted(votes) == [("U0FIN0001", "reject", reason), ("U0TECH001", "approve", None)]

        await fake.socket.refresh()
        await fake.wait_for(lambda: [x.number for x in fake.socket.open_links] == [2], timeout=30)
        again = await fake.socket.command(fake.slash_command_body("/council", "help"))
        assert (await council.acked(again)).link == 2
        await fake.wait_for(lambda: [r.body["text"] for r in fake.responses].count(admin_views.HELP) == 2)

        fake.socket.cut()  # no close frame: the process notices the socket is gone, and reconnects
        await fake.wait_for(lambda: [x.number for x in fake.socket.open_links] == [3], timeout=30)
        await council.socket_until(connected=True)
        last = await fake.socket.command(fake.slash_command_body("/council", "help"))
        assert (await council.acked(last)).link == 3
        assert fake.socket.problems == []

        assert await stopped_by(process, signal.SIGTERM) == 0


@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
async def test_a_signal_stops_it_in_the_middle_of_connecting(tmp_path: Path, sent: signal.Signals) -> None:
    async with FakeSlack() as fake:
        arrived, release = fake.hold_next("apps.connections.open")  # Slack takes the call, never answers
        env = environment(tmp_path, fake, f"sqlite://{tmp_path / 'council.db'}")
        log = tmp_path / "serve.log"
        async with serving(env, log) as process:
            await asyncio.wait_for(arrived.wait(), 60)
            assert await stopped_by(process, sent) == 0
        release.set()
    assert "Traceback" not in _read(log)
