"""Socket Mode that survives Slack: the real app on a port, against the fake Socket Mode server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import socket_mode
from bot.app import create_app
from bot.app_keys import RUNTIME
from bot.runtime import SocketHealth
from bot.services import agents, config
from bot.settings import Settings
from bot.slack import admin_views, ids
from models import Vote
from tests.fakeslack import FakeSlack
from tests.fakeslack.socket_mode import Envelope
from tests.harness import COUNCIL_YML, CallbackSink, Harness, free_port

T = TypeVar("T")


@asynccontextmanager
async def socket_council(settings: Settings) -> AsyncIterator[Harness]:
    """Serve the app in Socket Mode with a council and an agent; its Slack is not started yet."""
    fake = FakeSlack(port=free_port())
    configured = settings.model_copy(
        update={"slack_api_url": fake.api_url, "slack_app_token": SecretStr(fake.app_token)}
    )
    app = create_app(configured, socket_mode=True)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        await config.apply_text(COUNCIL_YML, source="council.yml")
        creds = await agents.create(
            name="refund-bot", owner="U0OWNER01", council="ai-council", server_key=app[RUNTIME].server_key
        )
        async with aiohttp.ClientSession() as http:
            yield Harness(f"http://{host}:{port}", fake, http, creds, CallbackSink(), app)
    finally:
        await runner.cleanup()
        await fake.stop()


async def eventually(check: Callable[[], Awaitable[T | None]], timeout: float = 30) -> T:  # noqa: ASYNC109
    """Poll `check` until it returns something truthy (the link backs off up to seconds at a time)."""
    async with asyncio.timeout(timeout):
        while True:
            found = await check()
            if found:
                return found
            await asyncio.sleep(0.05)


async def readyz(council: Harness) -> tuple[int, dict[str, Any]]:
    async with council.http.get(f"{council.url}/readyz") as response:
        return response.status, await response.json()


async def socket_state(council: Harness, *, connected: bool) -> dict[str, Any] | None:
    """Return /readyz's answer once its socket is (or is not) connected."""
    status, body = await readyz(council)
    if body["socket"]["connected"] is connected and (status == 200) is connected:
        return body
    return None


async def acked(council: Harness, envelope: Envelope) -> Any:
    ack = await council.fake.wait_for(lambda: council.fake.socket.ack_of(envelope))
    assert ack.in_time, f"acknowledged after {ack.elapsed:.1f} s"
    return ack


@pytest.fixture
async def council(settings: Settings) -> AsyncIterator[Harness]:
    """A Socket Mode council whose Slack is up and connected."""
    async with socket_council(settings) as harness:
        await harness.fake.start()
        await eventually(lambda: socket_state(harness, connected=True))
        yield harness


def test_backoff_doubles_to_its_cap_with_jitter() -> None:
    for attempt, ceiling in ((1, 1), (2, 2), (3, 4), (5, 16), (6, 30), (60, 30)):
        waits = [socket_mode.backoff(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits), (attempt, min(waits), max(waits))
        assert len(set(waits)) > 1


async def test_serves_at_once_while_slack_is_unreachable_then_connects(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.socket_mode")
    async with socket_council(settings) as council:
        async with council.http.get(f"{council.url}/healthz") as response:
            assert response.status == 200
        status, me = await council.api("GET", "/agents/me")
        assert status == 200 and me["name"] == "refund-bot"

        async def failed_twice() -> dict[str, Any] | None:
            status, body = await readyz(council)
            return body if status == 503 and body["socket"]["attempts"] >= 2 else None

        body = await eventually(failed_twice)
        assert body["status"] == "unavailable" and body["socket"]["connected"] is False
        assert "Cannot connect to host 127.0.0.1" in body["socket"]["last_error"]
        assert body["socket"]["since"].endswith("Z")

        await council.fake.start()
        body = await eventually(lambda: socket_state(council, connected=True))
        assert body["status"] == "ready"
        assert body["socket"] | {"since": None} == {
            "connected": True,
            "attempts": 0,
            "last_error": None,
            "since": None,
        }
    lines = [r for r in caplog.records if r.name.startswith("bot.socket_mode")]
    failures = [r.getMessage() for r in lines if "cannot reach Slack" in r.getMessage()]
    assert len(failures) >= 2
    assert failures[0].startswith("Socket Mode: cannot reach Slack (Cannot connect to host 127.0.0.1")
    assert failures[0].endswith("(attempt 1)") and "; retrying in " in failures[0]
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in lines)
    assert "Socket Mode: connected to Slack" in [r.getMessage() for r in lines]


async def test_a_command_a_click_and_a_modal_are_acknowledged_and_acted_on(council: Harness) -> None:
    fake = council.fake
    command = await fake.socket.command(fake.slash_command_body("/council", "help"))
    assert (await acked(council, command)).payload is None
    answers = await fake.wait_for(lambda: fake.responses)
    assert answers[0].body["text"] == admin_views.HELP

    _, created = await council.escalate()
    esc = created["id"]
    click = await fake.socket.interaction(await council.click_body("U0TECH001", ids.APPROVE, esc))
    await acked(council, click)
    await fake.wait_for(lambda: "Approve 1" in council.message_text(esc))

    reject = await fake.socket.interaction(await council.click_body("U0FIN0001", ids.REJECT, esc))
    await acked(council, reject)
    [opened] = await fake.wait_for(lambda: fake.views)
    metadata = opened.view["private_metadata"]

    def submission(reason: str) -> str:
        values = {ids.REASON_BLOCK: {ids.REASON_INPUT: reason}}
        return fake.view_submission_body("U0FIN0001", ids.REJECT_MODAL, values, private_metadata=metadata)

    blank = await fake.socket.interaction(submission(" "))
    refused = await acked(council, blank)
    assert refused.payload["response_action"] == "errors" and ids.REASON_BLOCK in refused.payload["errors"]
    reason = "Over the mandate; check for fraud first."
    submitted = await fake.socket.interaction(submission(reason))
    assert (await acked(council, submitted)).payload is None
    await fake.wait_for(lambda: "Reject 1" in council.message_text(esc))
    votes = await Vote.filter(escalation__public_id=esc).values_list("user_id", "choice", "reason")
    assert sorted(votes) == [("U0FIN0001", "reject", reason), ("U0TECH001", "approve", None)]
    assert fake.socket.problems == []


async def test_the_socket_drops_and_comes_back(council: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.socket_mode")
    fake = council.fake

    async def delivered_on(link: int) -> None:
        await fake.wait_for(lambda: [x.number for x in fake.socket.open_links] == [link], timeout=30)
        envelope = await fake.socket.command(fake.slash_command_body("/council", "help"))
        assert (await acked(council, envelope)).link == link

    await fake.socket.refresh()  # Slack's notice before it recycles a connection
    await delivered_on(2)
    assert fake.socket.links[0].closed_by == "client"  # the client moved by itself
    fake.socket.cut()
    await delivered_on(3)
    await fake.socket.close()
    await delivered_on(4)

    await fake.stop()
    body = await eventually(lambda: socket_state(council, connected=False))
    assert body["socket"]["last_error"]
    await fake.start()
    await eventually(lambda: socket_state(council, connected=True))
    await delivered_on(5)
    assert fake.socket.problems == []
    messages = [r.getMessage() for r in caplog.records if r.name == "bot.socket_mode"]
    assert messages.count("Socket Mode: lost the connection to Slack; reconnecting") >= 3


def bare_link(fake: FakeSlack) -> socket_mode.SocketModeLink:
    """A link for a Bolt app with no listeners, to the fake."""
    client = AsyncWebClient(base_url=fake.api_url, token=fake.token)
    bolt = AsyncApp(client=client, request_verification_enabled=False)
    return socket_mode.SocketModeLink(bolt, fake.app_token, SocketHealth(), api_url=fake.api_url)


async def test_a_rate_limited_attempt_waits_as_slack_asks(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.socket_mode")
    async with FakeSlack() as fake:
        fake.fail_next("apps.connections.open", status=429, retry_after=2)
        link = bare_link(fake)
        link.start()
        await fake.wait_for(lambda: link.health.connected, timeout=20)
        await link.stop()
    [line] = [r.getMessage() for r in caplog.records if "cannot reach" in r.getMessage()]
    assert line == (
        "Socket Mode: cannot reach Slack (Slack answered ratelimited, HTTP 429); "
        "retrying in 2.0 s (attempt 1)"
    )


async def test_stopping_in_the_middle_of_an_attempt_is_quick() -> None:
    async with FakeSlack() as fake:
        arrived, release = fake.hold_next("apps.connections.open")
        link = bare_link(fake)
        health = link.health
        link.start()
        await asyncio.wait_for(arrived.wait(), 10)
        async with asyncio.timeout(socket_mode.STOP_LIMIT + 3):
            await link.stop()
        release.set()
    assert health.connected is False and health.attempts == 1


async def test_a_refused_websocket_is_one_line_per_attempt(
    settings: Settings, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(socket_mode, "ATTEMPT_LIMIT", 1.0)
    caplog.set_level(logging.INFO)
    async with socket_council(settings) as council:
        council.fake.socket.refusing = True
        await council.fake.start()

        async def refused() -> dict[str, Any] | None:
            _, body = await readyz(council)
            return body if "WebSocket" in (body["socket"]["last_error"] or "") else None

        body = await eventually(refused)
        assert body["socket"]["last_error"] == "WebSocket refused: HTTP 503 Invalid response status"
        council.fake.socket.refusing = False
        await eventually(lambda: socket_state(council, connected=True), timeout=60)
    lines = [r for r in caplog.records if r.name.startswith("bot.socket_mode")]
    assert all(r.exc_info is None for r in lines)
    assert {r.name for r in lines if "WebSocket refused" in r.getMessage()} == {"bot.socket_mode"}
    assert not [r for r in lines if r.name == "bot.socket_mode.sdk"]
