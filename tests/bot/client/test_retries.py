"""Retries through a faulty proxy in front of the real app: 429s waited out, nothing done twice."""

from __future__ import annotations

import asyncio
import email.utils
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from aiohttp import web

from bot.client import CouncilClient, CouncilUnavailable, RateLimited, ServerError
from bot.client.council import retry_after_seconds
from bot.slack import ids
from models import Escalation
from tests.harness import REFUND, Harness, free_port

HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}


@dataclass
class Proxy:
    """Forwards to Council, except that each request takes the next fault from `faults` first.

    `429` and `503` answer without forwarding (the request never reached Council); `502-after`
    forwards and then loses Council's answer, as a gateway that timed out would.
    """

    upstream: str
    faults: list[str] = field(default_factory=list)
    seen: list[tuple[str, str, str | None]] = field(default_factory=list)
    forwarded: int = 0
    url: str = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        fault = self.faults.pop(0) if self.faults else None
        self.seen.append((request.method, request.path, request.headers.get("Idempotency-Key")))
        if fault == "429":
            return web.json_response(
                {"error": {"code": "rate_limited", "message": "slow down", "details": {"retry_after": 0}}},
                status=429,
                headers={"Retry-After": "0"},
            )
        if fault == "drop":  # the connection closes with no answer, as when Council is killed
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        if fault == "503":
            return web.Response(status=503, text="<html>upstream restarting</html>", content_type="text/html")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        async with (
            aiohttp.ClientSession() as http,
            http.request(
                request.method, self.upstream + request.path_qs, data=await request.read(), headers=headers
            ) as answer,
        ):
            body = await answer.read()
            self.forwarded += 1
        if fault == "502-after":
            return web.Response(status=502, text="bad gateway")
        return web.Response(status=answer.status, body=body, content_type="application/json")


@pytest.fixture
async def proxy(council: Harness) -> AsyncIterator[Proxy]:
    front = Proxy(upstream=council.url)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", front.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    front.url = f"http://{host}:{port}"
    yield front
    await runner.cleanup()


def client(url: str, key: str, **options: float) -> CouncilClient:
    return CouncilClient(url, key, backoff=0.01, **options)


async def test_a_429_is_waited_out_and_the_call_succeeds(council: Harness, proxy: Proxy) -> None:
    proxy.faults = ["429", "429"]
    async with client(proxy.url, council.creds.api_key) as agent:
        escalation = await agent.escalate(**REFUND)
    assert escalation.status == "pending"
    assert len(proxy.seen) == 3 and proxy.forwarded == 1
    assert await Escalation.all().count() == 1


async def test_a_lost_answer_is_retried_with_the_same_key_and_opens_one_escalation(
    council: Harness, proxy: Proxy
) -> None:
    proxy.faults = ["502-after", "503"]
    async with client(proxy.url, council.creds.api_key) as agent:
        escalation = await agent.escalate(**REFUND)
    keys = {key for _, _, key in proxy.seen}
    assert len(proxy.seen) == 3 and proxy.forwarded == 2
    assert len(keys) == 1 and None not in keys
    assert await Escalation.all().count() == 1
    assert (await Escalation.get()).public_id == escalation.id


async def test_an_amend_whose_answer_is_lost_is_not_sent_again(council: Harness, proxy: Proxy) -> None:
    async with client(council.url, council.creds.api_key) as direct:
        escalation = await direct.escalate(**REFUND)
    proxy.faults = ["502-after"]
    async with client(proxy.url, council.creds.api_key) as agent:
        with pytest.raises(ServerError) as lost:
            await agent.amend(escalation.id, title="Refund order 1042 (partial)")
        current = await agent.get(escalation.id)
    assert lost.value.status == 502 and lost.value.code == "unexpected_response"
    assert proxy.forwarded == 2  # the amend once, then the read
    assert current.version == 2 and current.title == "Refund order 1042 (partial)"


async def test_a_429_after_every_retry_carries_retry_after(council: Harness, proxy: Proxy) -> None:
    proxy.faults = ["429"] * 3
    async with client(proxy.url, council.creds.api_key, retries=2) as agent:
        with pytest.raises(RateLimited) as limited:
            await agent.me()
    assert limited.value.retry_after == 0 and limited.value.code == "rate_limited"
    assert len(proxy.seen) == 3 and proxy.forwarded == 0


async def test_nobody_listening_is_unavailable_after_the_retries() -> None:
    async with client(f"http://127.0.0.1:{free_port()}", "ck_key", retries=2) as agent:
        with pytest.raises(CouncilUnavailable, match="cannot reach Council"):
            await agent.me()


async def test_a_wait_rides_out_council_going_away_and_coming_back(council: Harness, proxy: Proxy) -> None:
    async with client(proxy.url, council.creds.api_key) as agent:
        escalation = await agent.escalate(**REFUND)
        # Twelve connections dropped unanswered: more than one call's retries, so the wait sees Council
        # unavailable (twice) and must carry on rather than give up.
        proxy.faults = ["drop"] * 12
        waiting = asyncio.create_task(agent.wait_for_decision(escalation.id, timeout=120))
        for _ in range(3000):
            if len(proxy.seen) > 12:
                break
            await asyncio.sleep(0.01)
        await council.click("U0TECH001", ids.APPROVE, escalation.id)
        await council.click("U0FIN0001", ids.APPROVE, escalation.id)
        decided = await asyncio.wait_for(waiting, timeout=60)
    assert decided.status == "approved"
    assert len(proxy.seen) > 12 and not proxy.faults


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("7", 7.0), ("-3", 0.0), ("nan", None), ("inf", None), ("soon", None), (None, None)],
)
def test_retry_after_is_read_as_seconds_or_not_at_all(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header) == seconds


def test_retry_after_as_an_http_date() -> None:
    later = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    read = retry_after_seconds(later)
    assert read is not None and 0 < read <= 30
