"""The app factory: one place that starts and stops everything, in order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient

import handlers.api
import handlers.slack
from bot import council_file, db, keys
from bot.app_keys import BOLT, RUNTIME, SLACK_CLIENT, SOCKET_MODE, TIMERS, WORKER
from bot.metrics import Metrics
from bot.outbox import callbacks
from bot.outbox.worker import OutboxWorker
from bot.runtime import Runtime, SocketHealth
from bot.scheduler import Timers
from bot.services import config, drift
from bot.settings import Settings
from bot.slack_calls import SlackCallCounter
from bot.socket_mode import SocketModeLink
from handlers.api.errors import json_errors

SLACK_BODY_LIMIT = 1024 * 1024
QUICK = BackoffRetryIntervalCalculator(backoff_factor=0.2)
log = logging.getLogger(__name__)


def slack_client(settings: Settings, *, metrics: Metrics | None = None) -> AsyncWebClient:
    """A Web API client that rides out a blip (one quick retry); the outbox backs off past that.

    Longer in-call retries would hold the worker while Slack is down. A 429 is not retried in the
    call either: the worker reads its Retry-After and re-queues the row, instead of sleeping in it.
    With `metrics`, every request it (and Bolt's copies of it) makes is counted.
    """
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    counted = [SlackCallCounter(metrics, base_url=settings.slack_api_url)] if metrics is not None else []
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        retry_handlers=[
            *counted,  # first: it must see every answer before a retry handler takes one
            AsyncConnectionErrorRetryHandler(max_retry_count=1, interval_calculator=QUICK),
            AsyncServerErrorRetryHandler(max_retry_count=1, interval_calculator=QUICK),
        ],
    )


def bolt_app(
    settings: Settings, client: AsyncWebClient, rt: Runtime, *, socket_mode: bool = False
) -> AsyncApp:
    """Build the Bolt app with Council's listeners; HTTP mode verifies every signature."""
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    # Bolt reads SLACK_BOT_TOKEN itself and warns that our client's token wins; both are the same.
    logging.getLogger("slack_bolt.AsyncApp").addFilter(CLIENT_TOKEN_WINS)
    app = AsyncApp(client=client, signing_secret=secret, request_verification_enabled=not socket_mode)
    handlers.slack.register(app, rt)
    return app


class _ClientTokenWins(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


CLIENT_TOKEN_WINS = _ClientTokenWins()


# How `council serve` is told that a council.yml without admins, councils or policies is meant.
ALLOW_EMPTY_AT_START = "give --allow-empty (or set COUNCIL_ALLOW_EMPTY=true)"


def create_app(settings: Settings, *, socket_mode: bool = False) -> web.Application:
    """Build the aiohttp app; its cleanup_ctx opens and closes each resource in order."""
    app = web.Application(middlewares=[json_errors], client_max_size=SLACK_BODY_LIMIT)
    app[RUNTIME] = Runtime(settings=settings, server_key=keys.load_server_key(settings))
    app[SOCKET_MODE] = socket_mode
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_slack)
    app.cleanup_ctx.append(_outbox_worker)
    app.on_shutdown.append(_stop_taking_work)
    app.cleanup_ctx.append(_scheduler)
    handlers.api.register(app)
    if socket_mode:
        app.cleanup_ctx.append(_socket_mode)
    else:
        # Only HTTP mode takes Slack requests over HTTP; Socket Mode must not expose an unsigned door.
        app.router.add_post("/slack/events", _slack_events)
    return app


async def _slack_events(request: web.Request) -> web.Response:
    bolt_response = await request.app[BOLT].async_dispatch(await to_bolt_request(request))
    return await to_aiohttp_response(bolt_response)


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[RUNTIME].settings
    await db.init(settings.database_url, connect_within=settings.council_database_timeout)
    path = settings.config_path()
    if path is not None:
        parsed, empty = council_file.load(path), settings.council_allow_empty
        plan = await drift.plan(parsed, source=str(path), allow_empty=empty, hint=ALLOW_EMPTY_AT_START)
        if plan.undone:
            # Changes made from Slack are the database's; the file catches up with `config apply`.
            log.warning(
                "council.yml not applied: it would undo %d change(s) made from Slack since the last apply "
                "(%s); the database is kept as it is. Differences from %s: %s. Put the changes in the file, "
                "or run `council config apply --force` to undo them.",
                len(plan.undone),
                "; ".join(change.describe() for change in plan.undone),
                path,
                "; ".join(plan.report.changes),
            )
        else:
            report = await config.apply(
                parsed, actor="serve", allow_empty=empty, source=str(path), hint=ALLOW_EMPTY_AT_START
            )
            for change in report.changes:
                log.info("council.yml: %s", change)
    yield
    await db.close()


async def _slack(app: web.Application) -> AsyncIterator[None]:
    rt = app[RUNTIME]
    client = slack_client(rt.settings, metrics=rt.metrics)
    app[SLACK_CLIENT] = client
    app[BOLT] = bolt_app(rt.settings, client, rt, socket_mode=app[SOCKET_MODE])
    yield


async def _outbox_worker(app: web.Application) -> AsyncIterator[None]:
    rt = app[RUNTIME]
    async with callbacks.session(allow_private=rt.settings.council_allow_private_callbacks) as http:
        worker = OutboxWorker(rt, app[SLACK_CLIENT], http)
        app[WORKER] = worker
        task = asyncio.create_task(worker.run(), name="council-outbox")
        yield
        # SIGTERM: the listener is closed and nothing new is started; what is in flight lands first.
        await worker.drain()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _stop_taking_work(app: web.Application) -> None:
    app[WORKER].stop_taking_work()
    # aiohttp waits for open requests before the cleanup: an agent's long poll answers now, as it stands.
    app[RUNTIME].decided.close()


async def _scheduler(app: web.Application) -> AsyncIterator[None]:
    timers = Timers(app[RUNTIME])
    app[TIMERS] = timers
    timers.start()
    yield
    # Before the worker and the database close: a sweep in flight finishes its transaction first.
    await timers.stop()


async def _socket_mode(app: web.Application) -> AsyncIterator[None]:
    # Connecting happens in the background: the HTTP routes serve while Slack cannot be reached.
    rt = app[RUNTIME]
    token = rt.settings.slack_app_token.get_secret_value() if rt.settings.slack_app_token else ""
    rt.socket = SocketHealth(since=datetime.now(UTC))
    link = SocketModeLink(app[BOLT], token, rt.socket, api_url=rt.settings.slack_api_url, slack=rt.slack)
    link.start()
    yield
    await link.stop()
