"""Socket Mode that survives Slack: connect in the background, back off, report, reconnect.

Bolt's `AsyncSocketModeHandler` (slack-sdk's aiohttp `SocketModeClient` under it) does the
WebSocket: it receives envelopes, runs the Bolt listeners, sends the acknowledgements, pings, and
moves to a new connection when Slack sends a `disconnect` (e.g. `refresh_requested`). What it does
not do well for a server is connecting while Slack cannot be reached: `connect()` retries forever at
a fixed interval, logging a traceback each time, and whoever awaits it waits as long. So the
connection is kept here instead: one task makes each attempt with a time limit, waits a capped,
jittered backoff between failed ones, logs one line per attempt, watches for the socket dropping,
and keeps `SocketHealth` current for /readyz. The SDK's own reconnection on a dead socket is turned
off, so there is one place that decides when to try again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable

import aiohttp
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime import SlackHealth, SocketHealth

FIRST_WAIT = 1.0  # seconds after the first failed attempt; doubling after each next one
MAX_WAIT = 30.0
ATTEMPT_LIMIT = 10.0  # an attempt that has not connected by then has failed
WATCH_EVERY = 1.0  # how often a connected socket is checked
STOP_LIMIT = 5.0
log = logging.getLogger(__name__)
sdk_log = log.getChild("sdk")


def backoff(attempt: int, *, first: float = FIRST_WAIT, cap: float = MAX_WAIT) -> float:
    """Return the wait after failed attempt number `attempt`: doubling, capped, with jitter.

    The jitter keeps replicas that lost Slack together from retrying together; the wait is at least
    half its ceiling, so it still grows.
    """
    ceiling = min(cap, first * 2 ** min(attempt - 1, 32))
    return ceiling / 2 + random.random() * ceiling / 2  # noqa: S311 - jitter, not a secret


def describe(error: BaseException) -> str:
    """Say in a few words why an attempt failed, without a traceback, a token or a ticket."""
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", None)
        data = getattr(error.response, "data", None)
        code = data.get("error") if isinstance(data, dict) else None
        if code:
            return f"Slack answered {code}" + (f", HTTP {status}" if status != 200 else "")
        return f"HTTP {status}"
    if isinstance(error, aiohttp.WSServerHandshakeError):
        return f"WebSocket refused: HTTP {error.status} {error.message}"
    if isinstance(error, TimeoutError):
        return f"no connection within {ATTEMPT_LIMIT:.0f} s"
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:200]


class SdkLines(logging.Filter):
    """Keep the SDK's Socket Mode log to one line a record, and its session chatter at DEBUG.

    Its connect loop logs a traceback for each failure and then retries the same URL: that failure
    is kept here (`take()`) for Council's own line about the attempt, instead of a second line.
    Its INFO lines name internal session ids and repeat what Council logs. With LOG_LEVEL=DEBUG
    everything it says is kept as it says it.
    """

    def __init__(self) -> None:
        super().__init__()
        self._connect_error: BaseException | None = None

    def take(self) -> BaseException | None:
        """Return the failure the SDK's connect loop last logged, and forget it."""
        error, self._connect_error = self._connect_error, None
        return error

    def filter(self, record: logging.LogRecord) -> bool:
        from_connect = record.funcName == "connect" and record.exc_info is not None
        if from_connect and record.exc_info:
            self._connect_error = record.exc_info[1]
        if log.isEnabledFor(logging.DEBUG):
            return True
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return record.levelno >= logging.WARNING and not from_connect


class SocketModeLink:
    """Keeps Bolt connected to Slack over Socket Mode, and `health` saying how that goes.

    Create it inside the running loop (the SDK client opens an aiohttp session), then `start()`;
    `stop()` ends it within seconds, even in the middle of an attempt.
    """

    def __init__(
        self,
        bolt: AsyncApp,
        app_token: str,
        health: SocketHealth,
        *,
        api_url: str,
        slack: SlackHealth | None = None,
        wait: Callable[[int], float] = backoff,
    ) -> None:
        self._sdk_lines = SdkLines()
        sdk_log.addFilter(self._sdk_lines)
        # Its own client, without in-call retries: the backoff here is the retry.
        web = AsyncWebClient(base_url=api_url, timeout=int(ATTEMPT_LIMIT), retry_handlers=[])
        self._handler = AsyncSocketModeHandler(bolt, app_token, logger=sdk_log, web_client=web)
        self._client = self._handler.client
        # A dead socket is noticed and replaced here (`_watch`), with backoff; not by the SDK too.
        self._client.default_auto_reconnect_enabled = False
        self._client.auto_reconnect_enabled = False
        self._token = app_token
        self._web = web
        self._wait = wait
        self.health = health
        # A socket opened is Slack answering: it clears a failure seen before (such as at start-up).
        self._slack = slack
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Connect in the background; return at once."""
        self._task = asyncio.create_task(self._run(), name="council-socket-mode")

    async def stop(self) -> None:
        """Stop trying, close the socket and the SDK's tasks; give up on a close that hangs."""
        if self._task is not None:
            self._task.cancel()
        try:
            async with asyncio.timeout(STOP_LIMIT):
                # Closing marks the client closed, which also ends an SDK connect loop in flight.
                await self._handler.close_async()
        except TimeoutError:
            log.warning("Socket Mode: Slack did not answer the close; leaving the connection")
            await self._client.aiohttp_client_session.close()
        if self._task is not None:
            await asyncio.wait([self._task], timeout=STOP_LIMIT)
        sdk_log.removeFilter(self._sdk_lines)
        self.health.down("stopped")

    async def _run(self) -> None:
        while True:
            await self._connect_with_backoff()
            log.info("Socket Mode: connected to Slack")
            self.health.up()
            if self._slack is not None:
                self._slack.ok()
            await self._watch()
            log.warning("Socket Mode: lost the connection to Slack; reconnecting")
            self.health.down("connection lost")

    async def _connect_with_backoff(self) -> None:
        while True:
            attempt = self.health.attempting()
            self._sdk_lines.take()
            try:
                async with asyncio.timeout(ATTEMPT_LIMIT):
                    await self._connect()
                return
            except Exception as error:  # Whatever stops an attempt is reported, and tried again.
                # Out of time inside the SDK's connect loop: say what it failed on.
                cause = self._sdk_lines.take() if isinstance(error, TimeoutError) else None
                reason = describe(cause or error)
                wait = max(self._wait(attempt), _retry_after(error))
            await self._abandon_session()
            self.health.failed(reason)
            log.warning(
                "Socket Mode: cannot reach Slack (%s); retrying in %.1f s (attempt %d)", reason, wait, attempt
            )
            await asyncio.sleep(wait)

    async def _connect(self) -> None:
        """Ask Slack for a WebSocket URL (apps.connections.open) and connect the SDK client to it."""
        async with self._client.connect_operation_lock:
            if await self._client.is_connected():
                return
            opened = await self._web.apps_connections_open(app_token=self._token)
            self._client.wss_uri = str(opened["url"])
            await self._client.connect()

    async def _abandon_session(self) -> None:
        """Close a socket that an attempt opened but did not finish setting up (it was cut short)."""
        session = self._client.current_session
        if session is not None and not session.closed:
            with contextlib.suppress(Exception):  # It is being thrown away; how it closes does not matter.
                async with asyncio.timeout(1):
                    await session.close()

    async def _watch(self) -> None:
        """Return once the socket is gone: closed, or silent to pings (the SDK's own test)."""
        while True:
            await asyncio.sleep(WATCH_EVERY)
            if self._client.connect_operation_lock.locked():
                continue  # the SDK is moving to a new connection, as Slack asked (`disconnect`)
            if not await self._client.is_connected():
                return


def _retry_after(error: Exception) -> float:
    """Return the wait a rate-limited answer asks for (apps.connections.open is Tier 1), else 0."""
    if isinstance(error, SlackApiError) and getattr(error.response, "status_code", None) == 429:
        with contextlib.suppress(AttributeError, TypeError, ValueError):
            return float(error.response.headers.get("Retry-After", 0))
    return 0.0
