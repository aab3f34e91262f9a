"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from aiohttp import web

from bot.app_keys import RUNTIME
from bot.metrics import CONTENT_TYPE
from bot.services import health


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    state = await health.readiness(request.app[RUNTIME])
    if not state.ready:
        return web.json_response({"status": "unavailable", **state.parts}, status=503)
    return web.json_response({"status": "ready", **state.parts})


async def metrics(request: web.Request) -> web.Response:
    body = await health.scrape(request.app[RUNTIME])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
