"""The aiohttp routes: agent API under /api/v1, health and metrics."""

from __future__ import annotations

from aiohttp import web

from handlers.api import escalations, health, openapi


def register(app: web.Application) -> None:
    """Add the agent API, health and metrics routes."""
    app.router.add_post("/api/v1/escalations", escalations.create_escalation)
    app.router.add_get("/api/v1/escalations/{id}", escalations.get_escalation)
    app.router.add_patch("/api/v1/escalations/{id}", escalations.amend_escalation)
    app.router.add_post("/api/v1/escalations/{id}/withdraw", escalations.withdraw_escalation)
    app.router.add_post("/api/v1/escalations/{id}/execution", escalations.report_execution)
    app.router.add_get("/api/v1/agents/me", escalations.me)
    app.router.add_get("/api/v1/openapi.json", openapi.document_route)
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/readyz", health.readyz)
    app.router.add_get("/metrics", health.metrics)
