"""End-to-end harness: the real app on a port, the fake Slack, and an agent speaking HTTP."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bot.app import create_app
from bot.app_keys import RUNTIME
from bot.services import agents, config
from bot.services.agents import Credentials
from bot.settings import Settings
from bot.slack import ids
from models import Escalation
from tests.fakeslack import FakeSlack, signed_headers

SIGNING_SECRET = "test-signing-secret"
COUNCIL_YML = """
admins: [U0ADMIN01]
councils:
  - name: ai-council
    channel: C0COUNCIL
    timezone: Europe/Berlin
    members:
      - {user: U0PEOPLE1, function: people, role: chair}
      - {user: U0TECH001, function: technology}
      - {user: U0FIN0001, function: finance}
agents:
  - {name: refund-bot, owner: U0OWNER01, council: ai-council}
policies:
  - name: refunds
    match: {kind: approval}
    council: ai-council
    rule: {type: majority, quorum: 2}
    deadline: 4h
defaults: {council: ai-council}
"""
REFUND = {
    "kind": "approval",
    "title": "Refund order 1042",
    "summary": "Customer was charged twice.",
    "action": {"type": "refund", "amount": 1250, "currency": "USD", "target": "order 1042"},
    "risk": "medium",
    "context": {"customer": "C-88"},
}


@dataclass
class CallbackSink:
    """An agent's callback endpoint: records each delivery, and fails the first `fail` of them."""

    fail: int = 0
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    attempts: int = 0
    event_ids: list[str] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        self.event_ids.append(request.headers.get("Council-Event-Id", ""))
        if self.attempts <= self.fail:
            return web.Response(status=503, text="agent is restarting")
        self.received.append((dict(request.headers), await request.read()))
        return web.Response(status=204)

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.received]


@dataclass
class Harness:
    url: str
    fake: FakeSlack
    http: aiohttp.ClientSession
    creds: Credentials
    sink: CallbackSink
    app: web.Application

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.creds.api_key}"}

    async def escalate(
        self,
        body: dict[str, Any] | None = None,
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        sent = {**(body if body is not None else REFUND)}
        if self.sink.url and "callback_url" not in sent and body is None:
            sent["callback_url"] = self.sink.url
        extra = {"Idempotency-Key": key} if key else {}
        async with self.http.post(
            f"{self.url}/api/v1/escalations", json=sent, headers={**self.auth(), **extra, **(headers or {})}
        ) as response:
            return response.status, await response.json()

    async def get(self, public_id: str, *, wait: float | None = None) -> tuple[int, dict[str, Any]]:
        query = f"?wait={wait}" if wait is not None else ""
        async with self.http.get(
            f"{self.url}/api/v1/escalations/{public_id}{query}", headers=self.auth()
        ) as response:
            return response.status, await response.json()

    async def api(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        """Call the agent API as this agent; return the status and JSON answer."""
        async with self.http.request(
            method, f"{self.url}/api/v1{path}", json=body, headers=self.auth()
        ) as response:
            return response.status, await response.json()

    async def slack(self, body: str, *, headers: dict[str, str] | None = None) -> aiohttp.ClientResponse:
        """POST a Slack request to /slack/events, signed as Slack signs it unless headers are given."""
        sent = headers if headers is not None else signed_headers(SIGNING_SECRET, body)
        async with self.http.post(f"{self.url}/slack/events", data=body.encode(), headers=sent) as response:
            await response.read()
            return response

    async def posted(self, public_id: str) -> Escalation:
        """Wait until the escalation's message is in its channel at its current version; return it.

        After an amendment the message is updated through the outbox: a click on the message before
        that update lands carries the old version and is refused as stale, as it should be. Tests
        click what a member would see once Slack shows the change. The bound is generous (30 s) so a
        loaded machine slows a test down rather than failing it.
        """
        deadline = asyncio.get_running_loop().time() + 30
        while asyncio.get_running_loop().time() < deadline:
            escalation = await Escalation.get(public_id=public_id)
            if escalation.message_ts and self._shows_version(escalation):
                return escalation
            await asyncio.sleep(0.01)
        raise AssertionError(f"{public_id} was never posted at its current version\n{self.fake.dump()}")

    def _shows_version(self, escalation: Escalation) -> bool:
        message = self.fake.find_message(escalation.channel_id or "C0COUNCIL", escalation.message_ts or "")
        value = _button_value(message.blocks if message else [], ids.APPROVE)
        if value is None:
            return True  # no vote buttons (decided, or not an approval): nothing to be stale
        return ids.parse_vote_value(value)[1] in (None, escalation.version)

    async def click(self, user: str, action_id: str, public_id: str) -> aiohttp.ClientResponse:
        """Click a button on the escalation's message as it stands in Slack, with the value it carries."""
        return await self.slack(await self.click_body(user, action_id, public_id))

    async def click_body(self, user: str, action_id: str, public_id: str) -> str:
        """Return the body of a click on the escalation's message, once it is posted."""
        escalation = await self.posted(public_id)
        channel = escalation.channel_id or "C0COUNCIL"
        message = self.fake.find_message(channel, escalation.message_ts or "")
        value = _button_value(message.blocks if message else [], action_id) or public_id
        return self.fake.block_action_body(
            user, action_id, value, channel_id=channel, message_ts=escalation.message_ts
        )

    async def reject(self, user: str, public_id: str, reason: str) -> aiohttp.ClientResponse:
        return await self.through_modal(
            user, ids.REJECT, public_id, {ids.REASON_BLOCK: {ids.REASON_INPUT: reason}}
        )

    async def through_modal(
        self, user: str, action_id: str, public_id: str, values: dict[str, dict[str, str]]
    ) -> aiohttp.ClientResponse:
        """Click a button that opens a modal, fill it in and submit it, as Slack would."""
        opened_before = len(self.fake.views)
        await self.click(user, action_id, public_id)
        opened = await self.fake.wait_for(
            lambda: [v for v in self.fake.views[opened_before:] if v.user == user]
        )
        view = opened[-1].view
        body = self.fake.view_submission_body(
            user, view["callback_id"], values, private_metadata=view["private_metadata"]
        )
        return await self.slack(body)

    def message_text(self, public_id: str) -> str:
        for message in self.fake.messages("C0COUNCIL"):
            if public_id in self.fake.rendered_text(message):
                return str(self.fake.rendered_text(message))
        return ""


def _button_value(blocks: list[dict[str, Any]], action_id: str) -> str | None:
    for block in blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return str(element.get("value"))
    return None


def free_port() -> int:
    """Return a local port that nothing listens on (for a server to start on later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


@asynccontextmanager
async def running_council(settings: Settings, *, council_yml: str = COUNCIL_YML) -> AsyncIterator[Harness]:
    """Start the fake Slack, a callback sink and the real app; configure a council and an agent."""
    async with FakeSlack() as fake:
        sink = CallbackSink()
        sink_app = web.Application()
        sink_app.router.add_post("/callback", sink.handle)
        sink_runner, sink_url = await _serve(sink_app)
        sink.url = f"{sink_url}/callback"
        configured = settings.model_copy(update={"slack_api_url": fake.api_url})
        app = create_app(configured)
        runner, url = await _serve(app)
        try:
            await config.apply_text(council_yml, source="council.yml")
            creds = await agents.create(
                name="refund-bot", owner="U0OWNER01", council="ai-council", server_key=app[RUNTIME].server_key
            )
            async with aiohttp.ClientSession() as http:
                yield Harness(url=url, fake=fake, http=http, creds=creds, sink=sink, app=app)
        finally:
            await runner.cleanup()
            await sink_runner.cleanup()
