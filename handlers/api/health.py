"""Liveness, readiness and a few Prometheus metrics."""

from __future__ import annotations

import logging

from aiohttp import web

from models import Escalation, OutboxItem

log = logging.getLogger(__name__)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    try:
        await Escalation.all().limit(1).values_list("id", flat=True)
    except Exception:  # Any database failure means "not ready"; the detail goes to the log only.
        log.exception("readiness check: database unavailable")
        return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)
    return web.json_response({"status": "ready"})


async def metrics(request: web.Request) -> web.Response:
    lines = ["# HELP council_escalations Escalations by status.", "# TYPE council_escalations gauge"]
    for status in (
        "pending",
        "approved",
        "rejected",
        "expired",
        "withdrawn",
        "open",
        "acknowledged",
        "resolved",
        "posted",
    ):
        lines.append(
            f'council_escalations{{status="{status}"}} {await Escalation.filter(status=status).count()}'
        )
    lines += ["# HELP council_outbox Outbox rows by status.", "# TYPE council_outbox gauge"]
    for status in ("pending", "done", "dead"):
        lines.append(f'council_outbox{{status="{status}"}} {await OutboxItem.filter(status=status).count()}')
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")
