"""`council serve`: check the credentials, then run the app until stopped."""

from __future__ import annotations

from aiohttp import web

from bot import logs
from bot.app import create_app
from bot.settings import Settings, require_slack


def serve(settings: Settings, *, socket_mode: bool, host: str | None, port: int | None) -> int:
    """Serve Slack (HTTP or Socket Mode) and the agent API; return the exit status."""
    require_slack(settings, socket_mode=socket_mode)
    logs.configure(settings)
    app = create_app(settings, socket_mode=socket_mode)
    web.run_app(
        app,
        host=host or settings.host,
        port=port if port is not None else settings.port,
        print=lambda message: None,
        access_log=None,
    )
    return 0
