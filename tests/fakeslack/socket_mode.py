"""Slack's Socket Mode, faked over a real WebSocket (aiohttp's server) on the fake's own port.

`apps.connections.open`, called with the app-level token, hands out a one-use ws:// URL of this
fake. A client that connects is greeted with `hello`; `command(...)` and `interaction(...)` send
it an envelope framed as Slack frames one, and every acknowledgement that comes back is recorded
and checked: that its envelope_id is one that was delivered and not yet acknowledged, and how long
it took (Slack waits 3 s). The fake can ask the client to move (`disconnect`, as Slack does before
it recycles a connection), close the socket, cut it without a close frame, or refuse connections.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, parse_qsl

from aiohttp import WSCloseCode, WSMsgType, web

from tests.fakeslack.records import SlackError

ACK_DEADLINE_SECONDS = 3.0
DEFAULT_APP_TOKEN = "xapp-1-A0COUNCIL-1-fakeapptoken"
# Interactions whose acknowledgement may carry an answer (a modal's response_action, options).
ANSWERABLE = frozenset({"view_submission", "block_suggestion"})


@dataclass
class Envelope:
    """One delivery over the socket, as Slack frames it."""

    envelope_id: str
    type: str  # slash_commands | interactive | events_api
    payload: dict[str, Any]
    accepts_response_payload: bool
    link: int
    sent_at: float
    retry_attempt: int = 0
    retry_reason: str = ""

    def frame(self) -> dict[str, Any]:
        return {
            "envelope_id": self.envelope_id,
            "payload": self.payload,
            "type": self.type,
            "accepts_response_payload": self.accepts_response_payload,
            "retry_attempt": self.retry_attempt,
            "retry_reason": self.retry_reason,
        }


@dataclass
class Ack:
    """One acknowledgement the client sent back."""

    envelope_id: str
    payload: Any  # None when the acknowledgement carries none
    link: int
    elapsed: float | None  # seconds since the delivery; None when no such envelope was delivered

    @property
    def in_time(self) -> bool:
        return self.elapsed is not None and self.elapsed <= ACK_DEADLINE_SECONDS


@dataclass
class Link:
    """One WebSocket connection from the client."""

    number: int
    ws: web.WebSocketResponse
    request: web.Request
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    closed_by: str | None = None  # "client", or what the fake did: "close", "cut", "shutdown"


class SocketMode:
    """The Socket Mode side of one fake Slack app."""

    def __init__(
        self,
        *,
        app_token: str = DEFAULT_APP_TOKEN,
        app_id: str = "A0COUNCIL",
        clock: Callable[[], float],
        down: Callable[[], bool] = lambda: False,
    ) -> None:
        self.app_token = app_token
        self.app_id = app_id
        self.clock = clock
        self.links: list[Link] = []
        self.envelopes: dict[str, Envelope] = {}
        self.acks: list[Ack] = []
        # What Slack would not accept: an unknown or repeated envelope_id, a frame that is no ack.
        self.problems: list[str] = []
        # True: WebSocket connections are refused (503), though apps.connections.open still answers.
        self.refusing = False
        self._down = down
        self._tickets: set[str] = set()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/link/", self._serve_link)
        app.on_shutdown.append(self._shut_down)

    # -- apps.connections.open ---------------------------------------------------------------

    def open_connection(self, base_url: str, token: str | None) -> dict[str, Any]:
        """Answer apps.connections.open: a one-use WebSocket URL, for the app-level token only."""
        if not token:
            raise SlackError("not_authed")
        if not token.startswith("xapp-"):
            raise SlackError("not_allowed_token_type")
        if token != self.app_token:
            raise SlackError("invalid_auth")
        ticket = secrets.token_hex(8)
        self._tickets.add(ticket)
        ws_base = "ws" + base_url.removeprefix("http")
        return {"url": f"{ws_base}/link/?ticket={ticket}&app_id={self.app_id}"}

    # -- what the test does ------------------------------------------------------------------

    @property
    def open_links(self) -> list[Link]:
        return [link for link in self.links if not link.closed.is_set()]

    async def command(self, body: str) -> Envelope:
        """Deliver a slash command, given the form body Slack would POST in HTTP mode."""
        payload = dict(parse_qsl(body, keep_blank_values=True))
        return await self.deliver("slash_commands", payload, accepts_response_payload=True)

    async def interaction(self, body: str) -> Envelope:
        """Deliver a click or a modal submission, given its `payload=<json>` form body."""
        payload = json.loads(parse_qs(body)["payload"][0])
        answerable = payload.get("type") in ANSWERABLE
        return await self.deliver("interactive", payload, accepts_response_payload=answerable)

    async def deliver(
        self,
        type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> Envelope:
        """Send an envelope over the newest open connection, as Slack would."""
        if not self.open_links:
            raise AssertionError("no Socket Mode connection is open to deliver over")
        link = self.open_links[-1]
        envelope = Envelope(
            str(uuid.uuid4()),
            type,
            payload,
            accepts_response_payload,
            link.number,
            self.clock(),
            retry_attempt,
            retry_reason,
        )
        self.envelopes[envelope.envelope_id] = envelope
        await link.ws.send_str(json.dumps(envelope.frame()))
        return envelope

    def ack_of(self, envelope: Envelope) -> Ack | None:
        return next((ack for ack in self.acks if ack.envelope_id == envelope.envelope_id), None)

    async def refresh(self, reason: str = "refresh_requested", *, grace: float = 5.0) -> None:
        """Ask the client to move to a new connection; close the old one after `grace` seconds."""
        link = self.open_links[-1]
        await link.ws.send_str(
            json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}})
        )
        try:
            await asyncio.wait_for(link.closed.wait(), grace)
        except TimeoutError:
            await self.close(link)

    async def close(self, link: Link | None = None, code: int = WSCloseCode.GOING_AWAY) -> None:
        """Close a connection (the newest open one by default) with a close frame."""
        link = link or self.open_links[-1]
        link.closed_by = link.closed_by or "close"
        await link.ws.close(code=code)

    def cut(self, link: Link | None = None) -> None:
        """Drop a connection without a close frame, as a network failure would."""
        link = link or self.open_links[-1]
        link.closed_by = "cut"
        transport = link.request.transport
        if transport is not None:
            transport.abort()

    # -- the WebSocket -----------------------------------------------------------------------

    async def _serve_link(self, request: web.Request) -> web.StreamResponse:
        if self._down() or self.refusing:
            return web.Response(status=503, text="Service Unavailable")
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.Response(status=401, text="invalid or used ticket")
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        link = Link(len(self.links) + 1, ws, request)
        self.links.append(link)
        try:
            await ws.send_str(json.dumps(self._hello()))
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._receive(link, message.data)
        finally:
            link.closed_by = link.closed_by or "client"
            link.closed.set()
        return ws

    def _hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": len(self.open_links),
            "debug_info": {"host": "applink-fake", "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        }

    def _receive(self, link: Link, text: str) -> None:
        try:
            frame = json.loads(text)
        except ValueError:
            self.problems.append(f"not JSON: {text[:80]!r}")
            return
        envelope_id = frame.get("envelope_id") if isinstance(frame, dict) else None
        if not isinstance(envelope_id, str):
            self.problems.append(f"not an acknowledgement: {text[:80]!r}")
            return
        envelope = self.envelopes.get(envelope_id)
        payload = frame.get("payload")
        if envelope is None:
            self.problems.append(f"acknowledged an envelope never delivered: {envelope_id}")
        elif self.ack_of(envelope) is not None:
            self.problems.append(f"acknowledged twice: {envelope_id}")
        elif payload is not None and not envelope.accepts_response_payload:
            self.problems.append(f"answered an envelope that accepts no answer: {envelope_id}")
        elapsed = None if envelope is None else self.clock() - envelope.sent_at
        self.acks.append(Ack(envelope_id, payload, link.number, elapsed))

    async def _shut_down(self, app: web.Application) -> None:
        for link in self.open_links:
            link.closed_by = "shutdown"
            await link.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
