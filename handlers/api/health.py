"""Liveness, readiness and a few Prometheus metrics."""

from __future__ import annotations

from aiohttp import web

from bot.services import health


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    if not await health.database_ready():
        return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)
    return web.json_response({"status": "ready"})


async def metrics(request: web.Request) -> web.Response:
    counts = await health.counts()
    lines = [
        "# HELP council_escalations Escalations by status.",
        "# TYPE council_escalations gauge",
        *(f'council_escalations{{status="{s}"}} {n}' for s, n in counts.escalations.items()),
        "# HELP council_outbox Outbox rows by status.",
        "# TYPE council_outbox gauge",
        *(f'council_outbox{{status="{s}"}} {n}' for s, n in counts.outbox.items()),
    ]
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")
