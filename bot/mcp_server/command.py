"""`council mcp`: read where Council runs and the agent's key, check them, then serve the tools.

Nothing here reads the server's settings (`council serve` needs Slack and a database; this needs
neither). Over stdio, stdout carries the protocol alone: every log line goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from pydantic import SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot import logs
from bot.settings import InvalidSetting, MissingSetting, StartupError

if TYPE_CHECKING:
    import socket
    from types import FrameType

    from mcp.server.fastmcp import FastMCP

    from bot.client import CouncilClient

log = logging.getLogger(__name__)
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
# The MCP SDK and the HTTP stack under it: at INFO they narrate every request.
SDK_LOGGERS = ("mcp", "uvicorn", "httpx", "sse_starlette")


class McpSettings(BaseSettings):
    """What `council mcp` reads from its environment (and `.env`)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    council_url: str | None = None
    council_api_key: SecretStr | None = None
    log_level: LogLevel = "INFO"
    log_format: Literal["text", "json"] = "text"


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], port: Callable[[str], int]
) -> None:
    """Add `council mcp` to the command line; `port` parses a port number."""
    mcp = commands.add_parser(
        "mcp",
        help="serve Council's tools to an MCP-capable agent, acting for the agent COUNCIL_API_KEY names",
    )
    mcp.add_argument(
        "--transport",
        choices=["stdio", "streamable-http"],
        default="stdio",
        help="stdio (default: the client starts this command) or streamable-http (serve on --host:--port)",
    )
    mcp.add_argument(
        "--host", default="127.0.0.1", help="streamable-http: listen address (default 127.0.0.1)"
    )
    mcp.add_argument("--port", type=port, default=8000, help="streamable-http: listen port (default 8000)")


def run(args: argparse.Namespace) -> int:
    """Run `council mcp`; return the exit status."""
    try:
        settings = McpSettings()
    except ValidationError as error:
        first = error.errors()[0]
        print(f"council: {str(first['loc'][0]).upper()}: {first['msg']}", file=sys.stderr)
        return 2
    # Council's own lines on stderr (stdout is the protocol's), set before the SDK's set-up, which then
    # leaves them be. The SDK's line per request is shown at DEBUG only.
    logs.configure_stream(settings.log_level, settings.log_format, chatty=(*logs.CHATTY, *SDK_LOGGERS))
    try:
        url, key = _required(settings)
        return asyncio.run(_serve(args, url, key, settings.log_level))
    except StartupError as error:
        print(f"council: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _required(settings: McpSettings) -> tuple[str, str]:
    url = settings.council_url
    if not url:
        raise MissingSetting("COUNCIL_URL", "the address of the running Council, like http://127.0.0.1:3000")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidSetting(
            "COUNCIL_URL",
            f"is {url!r}: write the address of the running Council, like https://council.example.com",
        )
    if settings.council_api_key is None or not settings.council_api_key.get_secret_value():
        raise MissingSetting(
            "COUNCIL_API_KEY", "the agent's API key (ck_…) that `council agent create` printed"
        )
    return url.rstrip("/"), settings.council_api_key.get_secret_value()


async def _serve(args: argparse.Namespace, url: str, key: str, log_level: LogLevel) -> int:
    from bot import preflight
    from bot.client import CouncilClient
    from bot.mcp_server import tools

    # Bind before anything else, so a port in use stops here with one line.
    sockets = preflight.listen(args.host, args.port) if args.transport == "streamable-http" else []
    try:
        async with CouncilClient(url, key) as council:
            await _check(council, url)
            server = tools.build(council, host=args.host, port=args.port, log_level=log_level)
            if args.transport == "stdio":
                await server.run_stdio_async()
            else:
                path = server.settings.streamable_http_path
                log.info("MCP over streamable HTTP at http://%s:%d%s", args.host, args.port, path)
                if not _loopback(args.host):
                    log.warning(
                        "listening on %s: anyone who reaches this port acts as this agent without a key "
                        "of their own; put it behind an authenticating proxy, or listen on 127.0.0.1",
                        args.host,
                    )
                await _serve_http(server, sockets)
    finally:
        for sock in sockets:
            sock.close()
    return 0


async def _check(council: CouncilClient, url: str) -> None:
    """Ask Council who this agent is, so a wrong address or key stops the server at once."""
    from bot.client import CouncilError, CouncilUnavailable

    try:
        me = await council.me()
    except CouncilUnavailable as error:  # its message names the address and what went wrong
        raise StartupError(error.message) from None
    except CouncilError as error:
        if error.status == 401:
            raise StartupError(f"COUNCIL_API_KEY was refused by Council at {url}: {error.message}") from None
        raise StartupError(f"Council at {url} did not say who this agent is: {error.message}") from None
    log.info("serving Council's tools for agent %s (owner %s)", me.name, me.owner)
    if me.status == "paused":
        log.warning("agent %s is paused (%s): Council refuses its escalations", me.name, me.paused_reason)


async def _serve_http(server: FastMCP, sockets: list[socket.socket]) -> None:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, exiting 0 once stopped by SIGTERM, as `council serve` does."""

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if sig != signal.SIGTERM:
                super().handle_exit(sig, frame)
            # uvicorn raises each signal it caught again after its graceful stop; SIGTERM is not kept.
            self.should_exit = True

    # log_config=None: uvicorn's lines go where ours go (stderr), not to its own stdout handler.
    app = server.streamable_http_app()
    await Server(uvicorn.Config(app, log_config=None, log_level=server.settings.log_level.lower())).serve(
        sockets=sockets
    )
