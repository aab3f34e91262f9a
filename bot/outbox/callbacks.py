"""Send an agent its signed callback; the outbox retries until the agent answers 2xx."""

from __future__ import annotations

import json
import socket

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from bot import keys
from bot.outbox.destinations import refused, resolves_private
from bot.outbox.events import AgentCallback, Event
from bot.outbox.slack_effects import Transport
from models import Agent, Escalation, OutboxItem

USER_AGENT = "Council-Callback/1"


class PublicOnlyResolver(AbstractResolver):
    """Resolve as aiohttp does, but never to a refused address, so DNS rebinding cannot reach inside."""

    def __init__(self) -> None:
        self._inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        allowed = [r for r in await self._inner.resolve(host, port, family) if not refused(r["host"])]
        if not allowed:
            raise OSError(f"{host} resolves only to loopback or private addresses")
        return allowed

    async def close(self) -> None:
        await self._inner.close()


def session(*, allow_private: bool) -> aiohttp.ClientSession:
    """The HTTP session callbacks go out on; it cannot connect to refused addresses unless allowed."""
    if allow_private:
        return aiohttp.ClientSession()
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=PublicOnlyResolver()))


class CallbackFailed(Exception):
    """The agent's endpoint did not accept the event; try again later.

    `reason` says how, for /metrics: "status" (it answered, not 2xx), "timeout" or "connection".
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class CallbackRefused(Exception):
    """The callback can never be delivered (its host resolves to a refused address)."""


def failure_reason(error: Exception) -> str:
    """Name why a callback attempt failed: status, timeout, connection, refused, or error."""
    if isinstance(error, CallbackFailed):
        return error.reason
    return "refused" if isinstance(error, CallbackRefused) else "error"


async def send(ctx: Transport, row: OutboxItem, event: Event, *, within: float = 10.0) -> None:
    """POST the stored event body, signed with the agent's secret; raise unless 2xx."""
    assert isinstance(event, AgentCallback)  # noqa: S101 - the dispatch table pairs them
    if not ctx.allow_private:
        address = await resolves_private(event.url)
        if address is not None:
            raise CallbackRefused(f"callback host resolves to refused address {address}")
    escalation = await Escalation.get(id=row.escalation_id)
    agent = await Agent.get(id=escalation.agent_id)
    body = json.dumps(event.body, separators=(",", ":")).encode()
    secret = keys.signing_secrets(
        ctx.server_key,
        agent.signing_salt,
        previous=agent.previous_signing_salt,
        previous_until=agent.previous_salt_until,
        now=ctx.clock(),
    )
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Council-Event-Id": str(event.body["id"]),
        # The event id, not a per-attempt one: receivers dedupe retries on webhook-id.
        **keys.signature_headers(secret, body, event_id=str(event.body["id"])),
    }
    try:
        async with ctx.http.post(
            event.url,
            data=body,
            headers=headers,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=within),
        ) as response:
            if not 200 <= response.status < 300:
                raise CallbackFailed(f"agent answered HTTP {response.status}", reason="status")
    except (aiohttp.ClientError, TimeoutError) as error:
        reason = "timeout" if isinstance(error, TimeoutError) else "connection"
        raise CallbackFailed(f"{type(error).__name__}: {error}", reason=reason) from error
