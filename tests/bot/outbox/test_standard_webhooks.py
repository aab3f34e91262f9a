"""A real callback verifies both ways: with the `standardwebhooks` library and as Council-Signature."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
from aiohttp import web
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from bot.app_keys import RUNTIME
from bot.services import agents
from bot.settings import Settings
from bot.slack import ids
from models import OutboxItem
from tests.harness import REFUND, CallbackSink, Harness, running_council

TOLERANCE_SECONDS = 300  # what docs/agents.md tells agents to allow
OTHER_SECRET = "whsec_" + "0" * 64
Headers = dict[str, str]


@pytest.fixture
async def running(settings: Settings) -> AsyncIterator[Harness]:
    async with running_council(settings) as harness:
        yield harness


def _lower(headers: Mapping[str, str]) -> Headers:
    return {name.lower(): value for name, value in headers.items()}


def _council_signature(header: str) -> tuple[int, list[str]]:
    """Split `t=UNIX,v1=HEX[,v1=HEX]` into its timestamp and its signatures."""
    fields = [part.split("=", 1) for part in header.split(",")]
    [t] = [int(value) for key, value in fields if key == "t"]
    return t, [value for key, value in fields if key == "v1"]


def _council_signature_holds(secret: str, body: bytes, header: str) -> bool:
    """Check Council-Signature by its documented scheme: hex HMAC-SHA256 of `{t}.{body}` by the secret."""
    t, signatures = _council_signature(header)
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - t) <= TOLERANCE_SECONDS
    return fresh and any(hmac.compare_digest(expected, signature) for signature in signatures)


async def _decide(council: Harness, *, callback_url: str | None = None) -> str:
    """Escalate with a callback and have two members approve (quorum 2); return the escalation id."""
    status, created = await council.escalate({**REFUND, "callback_url": callback_url or council.sink.url})
    assert status == 201, created
    for user in ("U0TECH001", "U0FIN0001"):
        await council.click(user, ids.APPROVE, created["id"])
    return str(created["id"])


async def _delivered(council: Harness) -> tuple[Headers, bytes]:
    """Wait until the sink accepted a callback; return its headers and raw body."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while not council.sink.received:
        assert loop.time() < deadline, f"no callback accepted after {council.sink.attempts} attempts"
        # As if the backoff had elapsed: a failed callback is due again now.
        await OutboxItem.filter(kind="agent.callback", status="pending").update(
            next_attempt_at=datetime.now(UTC)
        )
        await asyncio.sleep(0.02)
    headers, body = council.sink.received[0]
    return _lower(headers), body


@asynccontextmanager
async def _recording(sink: CallbackSink) -> AsyncIterator[tuple[str, list[Headers]]]:
    """Serve an endpoint in front of the sink that keeps the headers of every attempt, failed ones too."""
    attempts: list[Headers] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        attempts.append(_lower(request.headers))
        return await sink.handle(request)

    app = web.Application()
    app.router.add_post("/callback", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}/callback", attempts
    finally:
        await runner.cleanup()


async def test_a_callback_verifies_with_the_standardwebhooks_library(running: Harness) -> None:
    esc = await _decide(running)
    headers, body = await _delivered(running)
    event = Webhook(running.creds.signing_secret).verify(body, headers)
    assert event["type"] == "escalation.decided" and event["escalation"]["id"] == esc
    assert event["escalation"]["status"] == "approved"
    assert headers["webhook-id"] == event["id"] == headers["council-event-id"]
    assert event["id"].startswith("evt_")
    t, _ = _council_signature(headers["council-signature"])
    assert headers["webhook-timestamp"] == str(t)
    assert headers["webhook-signature"].startswith("v1,") and " " not in headers["webhook-signature"]


async def test_a_callback_verifies_with_the_stripe_style_council_signature(running: Harness) -> None:
    esc = await _decide(running)
    headers, body = await _delivered(running)
    _, signatures = _council_signature(headers["council-signature"])
    assert len(signatures) == 1
    assert _council_signature_holds(running.creds.signing_secret, body, headers["council-signature"])
    assert esc.encode() in body


async def test_a_tampered_body_or_another_secret_fails_both(running: Harness) -> None:
    await _decide(running)
    headers, body = await _delivered(running)
    secret, stripe_style = running.creds.signing_secret, headers["council-signature"]
    tampered = body.replace(b'"approved"', b'"rejected"')
    assert tampered != body
    assert Webhook(secret).verify(body, headers) and _council_signature_holds(secret, body, stripe_style)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(tampered, headers)
    assert not _council_signature_holds(secret, tampered, stripe_style)
    with pytest.raises(WebhookVerificationError):
        Webhook(OTHER_SECRET).verify(body, headers)
    assert not _council_signature_holds(OTHER_SECRET, body, stripe_style)


async def test_a_retried_callback_keeps_its_webhook_id(running: Harness) -> None:
    running.sink.fail = 2
    async with _recording(running.sink) as (url, attempts):
        await _decide(running, callback_url=url)
        headers, body = await _delivered(running)
    event = Webhook(running.creds.signing_secret).verify(body, headers)
    assert len(attempts) >= 3
    assert {attempt["webhook-id"] for attempt in attempts} == {event["id"]}
    for attempt in attempts:
        t, _ = _council_signature(attempt["council-signature"])
        assert attempt["webhook-timestamp"] == str(t)


async def test_during_a_rotation_each_secret_has_its_own_signature(running: Harness) -> None:
    old = running.creds.signing_secret
    new = (await agents.rotate(name="refund-bot", server_key=running.app[RUNTIME].server_key)).signing_secret
    assert new != old
    await _decide(running)
    headers, body = await _delivered(running)
    standard = headers["webhook-signature"].split(" ")
    assert len(standard) == 2
    for secret, signature, other in ((old, standard[0], new), (new, standard[1], old)):
        alone = {**headers, "webhook-signature": signature}
        assert Webhook(secret).verify(body, alone)
        with pytest.raises(WebhookVerificationError):
            Webhook(other).verify(body, alone)
        assert Webhook(secret).verify(body, headers)
    t, stripe_style = _council_signature(headers["council-signature"])
    assert len(stripe_style) == 2
    for secret, signature, other in ((old, stripe_style[0], new), (new, stripe_style[1], old)):
        single = f"t={t},v1={signature}"
        assert _council_signature_holds(secret, body, single)
        assert not _council_signature_holds(other, body, single)
