"""Liveness, readiness and a few Prometheus metrics."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.api_out import utc_text
from bot.app_keys import RUNTIME
from bot.runtime import SocketHealth
from bot.services import health


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    socket = socket_part(request.app[RUNTIME].socket)
    if not await health.database_ready():
        return web.json_response({"status": "unavailable", "database": "unreachable", **socket}, status=503)
    if socket and not socket["socket"]["connected"]:
        return web.json_response({"status": "unavailable", **socket}, status=503)
    return web.json_response({"status": "ready", **socket})


def socket_part(socket: SocketHealth | None) -> dict[str, dict[str, Any]]:
    """Return /readyz's `socket` object in Socket Mode, and nothing in HTTP mode."""
    if socket is None:
        return {}
    since = utc_text(socket.since) if socket.since is not None else None
    return {
        "socket": {
            "connected": socket.connected,
            "attempts": socket.attempts,
            "last_error": socket.last_error,
            "since": since,
        }
    }


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
