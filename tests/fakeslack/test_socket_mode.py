"""The fake Socket Mode server, driven by slack-sdk's AsyncWebClient and a plain aiohttp WebSocket."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakeslack import FakeSlack


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def _url(fake: FakeSlack) -> str:
    opened = await AsyncWebClient(base_url=fake.api_url).apps_connections_open(app_token=fake.app_token)
    return str(opened["url"])


async def _frame(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await ws.receive(timeout=5)
    assert message.type == aiohttp.WSMsgType.TEXT, message
    frame: dict[str, Any] = json.loads(message.data)
    return frame


async def test_connections_open_takes_the_app_token_and_points_at_this_fake(fake: FakeSlack) -> None:
    url = await _url(fake)
    assert url.startswith(f"ws://127.0.0.1:{fake.port}/link/?ticket=")
    client = AsyncWebClient(base_url=fake.api_url)
    for token, error in (
        (fake.token, "not_allowed_token_type"),
        ("xapp-1-A0COUNCIL-1-wrong", "invalid_auth"),
    ):
        with pytest.raises(SlackApiError) as refused:
            await client.apps_connections_open(app_token=token)
        assert refused.value.response["error"] == error


async def test_a_connection_is_greeted_and_an_envelope_is_framed_as_slack_frames_it(
    fake: FakeSlack, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(await _url(fake)) as ws:
        hello = await _frame(ws)
        assert hello["type"] == "hello" and hello["num_connections"] == 1
        assert hello["connection_info"] == {"app_id": "A0COUNCIL"}

        sent = await fake.socket.command(fake.slash_command_body("/council", "status"))
        frame = await _frame(ws)
        assert set(frame) == {
            "envelope_id",
            "payload",
            "type",
            "accepts_response_payload",
            "retry_attempt",
            "retry_reason",
        }
        assert frame["envelope_id"] == sent.envelope_id and frame["type"] == "slash_commands"
        assert frame["accepts_response_payload"] is True
        assert frame["payload"]["command"] == "/council" and frame["payload"]["text"] == "status"
        await ws.send_json({"envelope_id": sent.envelope_id})
        ack = await fake.wait_for(lambda: fake.socket.ack_of(sent))
        assert ack.in_time and ack.payload is None and ack.link == 1

        click = await fake.socket.interaction(fake.block_action_body("U0TECH001", "vote_approve", "esc_1"))
        frame = await _frame(ws)
        assert frame["type"] == "interactive" and frame["payload"]["type"] == "block_actions"
        assert frame["accepts_response_payload"] is False
        submit = await fake.socket.interaction(fake.view_submission_body("U0FIN0001", "reject_reason", {}))
        assert (await _frame(ws))["accepts_response_payload"] is True
        await ws.send_json({"envelope_id": submit.envelope_id, "payload": {"response_action": "clear"}})
        await fake.wait_for(lambda: fake.socket.ack_of(submit))
        assert fake.socket.ack_of(click) is None and fake.socket.problems == []


async def test_wrong_acknowledgements_are_problems(fake: FakeSlack, http: aiohttp.ClientSession) -> None:
    async with http.ws_connect(await _url(fake)) as ws:
        await _frame(ws)
        click = await fake.socket.interaction(fake.block_action_body("U0TECH001", "vote_approve", "esc_1"))
        await _frame(ws)
        await ws.send_json({"envelope_id": "not-delivered"})
        await ws.send_json({"envelope_id": click.envelope_id, "payload": {"text": "no"}})
        await ws.send_json({"envelope_id": click.envelope_id})
        await ws.send_str("ok")
        problems = await fake.wait_for(lambda: len(fake.socket.problems) == 4 and fake.socket.problems)
    assert [p.split(":")[0] for p in problems] == [
        "acknowledged an envelope never delivered",
        "answered an envelope that accepts no answer",
        "acknowledged twice",
        "not JSON",
    ]


async def test_a_url_is_good_for_one_connection(fake: FakeSlack, http: aiohttp.ClientSession) -> None:
    url = await _url(fake)
    async with http.ws_connect(url) as ws:
        await _frame(ws)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(url)
    assert refused.value.status == 401


async def test_refresh_asks_the_client_to_move_then_closes(
    fake: FakeSlack, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(await _url(fake)) as ws:
        await _frame(ws)
        await fake.socket.refresh(grace=0.1)
        assert await _frame(ws) == {
            "type": "disconnect",
            "reason": "refresh_requested",
            "debug_info": {"host": "applink-fake"},
        }
        assert (await ws.receive(timeout=5)).type == aiohttp.WSMsgType.CLOSE
    assert fake.socket.links[0].closed_by == "close"


async def test_a_cut_connection_ends_without_a_close_frame(
    fake: FakeSlack, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect(await _url(fake)) as ws:
        await _frame(ws)
        fake.socket.cut()
        message = await ws.receive(timeout=5)
        assert message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
        await fake.wait_for(lambda: not fake.socket.open_links)


async def test_down_refusing_and_stopped_slack_cannot_be_reached(
    fake: FakeSlack, http: aiohttp.ClientSession
) -> None:
    url = await _url(fake)
    fake.socket.refusing = True
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(url)
    assert refused.value.status == 503
    fake.socket.refusing, fake.down = False, True
    with pytest.raises(SlackApiError):
        await _url(fake)
    fake.down = False
    async with http.ws_connect(await _url(fake)) as ws:
        await _frame(ws)
        await fake.stop()
        assert (await ws.receive(timeout=5)).type == aiohttp.WSMsgType.CLOSE
    with pytest.raises(aiohttp.ClientConnectionError):
        await _url(fake)
    await fake.start()
    assert (await _url(fake)).startswith(f"ws://127.0.0.1:{fake.port}/")
