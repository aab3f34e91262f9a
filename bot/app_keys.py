"""Typed keys for what the aiohttp app carries (aiohttp's AppKey), all in one place."""

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.outbox.worker import OutboxWorker
from bot.runtime import Runtime
from bot.scheduler import Timers

RUNTIME = web.AppKey("runtime", Runtime)
BOLT = web.AppKey("bolt", AsyncApp)
SLACK_CLIENT = web.AppKey("slack_client", AsyncWebClient)
WORKER = web.AppKey("worker", OutboxWorker)
TIMERS = web.AppKey("timers", Timers)
SOCKET_MODE = web.AppKey("socket_mode", bool)
