"""The app factory: which doors each Slack mode opens."""

from __future__ import annotations

from pathlib import Path

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import bolt_app, create_app
from bot.runtime import Runtime
from bot.settings import Settings
from tests.fakeslack import FakeSlack, signed_headers
from tests.harness import running_council


def _paths(settings: Settings, *, socket_mode: bool) -> set[str]:
    app = create_app(settings, socket_mode=socket_mode)
    return {route.resource.canonical for route in app.router.routes() if route.resource is not None}


async def test_http_mode_takes_signed_slack_requests_and_refuses_the_rest(settings: Settings) -> None:
    async with running_council(settings) as council:
        body = council.fake.slash_command_body(text="help")
        signed = await council.slack(body)
        forged = await council.slack(body, headers=signed_headers("not-the-secret", body))
        unsigned = await council.slack(body, headers={"Content-Type": "application/x-www-form-urlencoded"})
        answered = await council.fake.wait_for(lambda: council.fake.responses)
    assert signed.status == 200 and (forged.status, unsigned.status) == (401, 401)
    assert len(answered) == 1 and "/council <command>" in answered[0].body["text"]


def test_socket_mode_has_no_unsigned_http_door(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        slack_bot_token="xoxb-1",
        slack_app_token="xapp-1",
        council_secret_key_file=tmp_path / "key",
    )
    paths = _paths(settings, socket_mode=True)
    assert "/slack/events" not in paths and "/api/v1/escalations" in paths


async def _dispatch_unsigned(tmp_path: Path, *, socket_mode: bool) -> int:
    settings = Settings(
        _env_file=None,
        slack_bot_token="xoxb-1",
        slack_signing_secret="s",
        council_secret_key_file=tmp_path / "key",
    )
    rt = Runtime(settings=settings, server_key=b"k" * 32)
    async with FakeSlack() as fake:
        client = AsyncWebClient(token=fake.token, base_url=fake.api_url)
        app = bolt_app(settings, client, rt, socket_mode=socket_mode)
        body = "command=%2Fnothing&text=&user_id=U0ADMIN01&team_id=T0&api_app_id=A0"
        response = await app.async_dispatch(AsyncBoltRequest(body=body, headers={}))
    return response.status


async def test_http_mode_refuses_unsigned_requests(tmp_path: Path) -> None:
    assert await _dispatch_unsigned(tmp_path, socket_mode=False) == 401


async def test_socket_mode_accepts_what_the_socket_delivers(tmp_path: Path) -> None:
    # Socket Mode requests come over Slack's authenticated WebSocket and carry no signature.
    # Not refused for want of a signature: it reaches routing, where no listener takes `/nothing`.
    assert await _dispatch_unsigned(tmp_path, socket_mode=True) == 404
