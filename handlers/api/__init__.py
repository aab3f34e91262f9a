"""The aiohttp routes: agent API under /api/v1, health and metrics."""

from __future__ import annotations

from aiohttp import web

from handlers.api import escalations, health


def register(app: web.Application) -> None:
    """Add the agent API, health and metrics routes."""
    app.router.add_post("/api/v1/escalations", escalations.create_escalation)
    app.router.add_get("/api/v1/escalations/{id}", escalations.get_escalation)
    app.router.add_get("/api/v1/agents/me", escalations.me)
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/readyz", health.readyz)
    app.router.add_get("/metrics", health.metrics)
