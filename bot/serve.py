"""`council serve`: check everything that can be checked, bind the port, then run until stopped."""

from __future__ import annotations

import asyncio
import logging
import socket

from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import council_file, db, logs, preflight
from bot.app import ALLOW_EMPTY_AT_START, create_app, slack_client
from bot.app_keys import RUNTIME
from bot.settings import InvalidSetting, Settings, require_slack

log = logging.getLogger("bot.serve")
# Seconds to wait for Slack's answer to auth.test at start.
SLACK_TIMEOUT = 10.0
# auth.test errors that mean the token itself is wrong; anything else may pass.
REFUSED_TOKEN = {
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "not_allowed_token_type",
    "no_permission",
    "ekm_access_denied",
}


def serve(
    settings: Settings, *, socket_mode: bool, host: str | None, port: int | None, allow_empty: bool = False
) -> int:
    """Serve Slack (HTTP or Socket Mode) and the agent API; return the exit status.

    Every refusal before serving is a StartupError (one line, exit 2): missing or malformed tokens, a
    database URL Council cannot use, a port that is taken or a host that does not resolve. The port is
    bound first, so nothing is migrated or applied by a Council that could not have served.
    """
    require_slack(settings, socket_mode=socket_mode)
    preflight.database_url(settings.database_url)
    settings = settings.model_copy(update={"council_allow_empty": allow_empty})
    _check_council_file(settings)
    host = host or settings.host
    port = port if port is not None else settings.port
    sockets = preflight.listen(host, port)
    try:
        logs.configure(settings)
        slack_down = asyncio.run(_reach(settings))
        app = create_app(settings, socket_mode=socket_mode)
        if slack_down is not None:
            app[RUNTIME].slack.failed(slack_down)
            log.warning(
                "Slack: cannot check the bot token (%s); serving anyway, Slack calls retry", slack_down
            )
        mode = "Socket Mode" if socket_mode else "HTTP mode (Slack posts to /slack/events)"
        web.run_app(
            app,
            sock=sockets,
            print=lambda _: log.info("Council listening on %s, %s", _where(sockets), mode),
            access_log=None,
        )
    finally:
        for sock in sockets:
            sock.close()
    return 0


def _check_council_file(settings: Settings) -> None:
    """Read and check council.yml before anything is bound or touched: a bad file is refused first."""
    path = settings.config_path()
    if path is None:
        return
    parsed = council_file.load(path)
    if not settings.council_allow_empty:
        council_file.check_complete(parsed, source=str(path), hint=ALLOW_EMPTY_AT_START)


async def _reach(settings: Settings) -> str | None:
    """Reach the database and ask Slack about the token, before the key file or the schema is touched.

    Return why Slack could not be asked, if it could not.
    """
    await db.reachable(settings.database_url, connect_within=settings.council_database_timeout)
    return await check_token(slack_client(settings))


async def check_token(client: AsyncWebClient) -> str | None:
    """Ask Slack whether it accepts the bot token: refuse a rejected token, pass an outage.

    Return the reason Slack could not be asked, or None when it answered. An outage must not stop
    Council: agents can still escalate, and the outbox delivers once Slack is back.
    """
    try:
        async with asyncio.timeout(SLACK_TIMEOUT):
            await client.auth_test()
    except SlackApiError as error:
        code = str(error.response.get("error", "")) if error.response is not None else ""
        if code in REFUSED_TOKEN:
            raise InvalidSetting(
                "SLACK_BOT_TOKEN", f"was refused by Slack (auth.test answered {code})"
            ) from None
        return f"auth.test answered {code or error.response.status_code}"
    except TimeoutError:
        return f"no answer within {SLACK_TIMEOUT:g} s"
    except Exception as error:  # Unreachable Slack, in any of the ways aiohttp says so.
        return str(error).strip() or type(error).__name__
    return None


def _where(sockets: list[socket.socket]) -> str:
    names = []
    for sock in sockets:
        address, port = sock.getsockname()[:2]
        names.append(f"http://[{address}]:{port}" if ":" in address else f"http://{address}:{port}")
    return " and ".join(names)
