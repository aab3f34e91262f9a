"""Liveness, readiness and a few Prometheus metrics."""

from __future__ import annotations

from aiohttp import web

from bot.app_keys import RUNTIME
from bot.services import health


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    state = await health.readiness(request.app[RUNTIME])
    if not state.ready:
        return web.json_response({"status": "unavailable", **state.parts}, status=503)
    return web.json_response({"status": "ready", **state.parts})


async def metrics(request: web.Request) -> web.Response:
    counts = await health.counts()
    slack = request.app[RUNTIME].slack
    lines = [
        "# HELP council_escalations Escalations by status.",
        "# TYPE council_escalations gauge",
        *(f'council_escalations{{status="{s}"}} {n}' for s, n in counts.escalations.items()),
        "# HELP council_outbox Outbox rows by status.",
        "# TYPE council_outbox gauge",
        *(f'council_outbox{{status="{s}"}} {n}' for s, n in counts.outbox.items()),
        "# HELP council_outbox_dead Deliveries given up on after retries (council outbox list --dead).",
        "# TYPE council_outbox_dead gauge",
        *(f'council_outbox_dead{{target="{t}"}} {n}' for t, n in counts.dead.items()),
        "# HELP council_slack_ratelimited_total Slack calls this process had answered 429 (rate-limited).",
        "# TYPE council_slack_ratelimited_total counter",
        f"council_slack_ratelimited_total {slack.rate_limited}",
    ]
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")
