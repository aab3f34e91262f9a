"""Checks that run before `council` does anything: each failure is one line and exit status 2.

The port is bound before the database is migrated, so a second Council on the same port stops here
instead of after touching the schema; the database is reached in bounded time. (The app asks Slack
whether it accepts the bot token: bot/app.py.)
"""

from __future__ import annotations

import errno
import logging
import socket
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bot.settings import InvalidSetting, StartupError

log = logging.getLogger(__name__)

SCHEMES = {"sqlite": "sqlite", "postgres": "postgres", "postgresql": "postgres"}
# Seconds to reach the database before giving up with one line, unless COUNCIL_DATABASE_TIMEOUT says.
DATABASE_TIMEOUT = 10.0


def database_url(url: str) -> str:
    """Return the URL Tortoise understands, or refuse a scheme or SQLite folder Council cannot use."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in SCHEMES:
        named = f"{scheme!r}" if sep else "no scheme"
        raise InvalidSetting(
            "DATABASE_URL",
            f"has {named}: use sqlite://PATH or postgres://USER:PASSWORD@HOST:5432/DATABASE",
        )
    scheme = SCHEMES[scheme.lower()]
    if scheme == "sqlite":
        _sqlite_folder(rest.split("?", 1)[0])
    return f"{scheme}://{rest}"


def _sqlite_folder(path: str) -> None:
    if path in ("", ":memory:"):
        if not path:
            raise InvalidSetting("DATABASE_URL", "names no SQLite file: use sqlite://council.db")
        return
    folder = Path(path).parent
    if not folder.is_dir():
        raise InvalidSetting(
            "DATABASE_URL", f"names a SQLite file in {folder}, and that folder does not exist"
        )


def redacted(url: str) -> str:
    """The URL without its password, fit for a log line or an error."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def database_unreachable(url: str, error: BaseException, timeout: float) -> StartupError:
    """One line for a database that cannot be reached, naming it without its password."""
    if isinstance(error, TimeoutError):
        why = f"no answer within {timeout:g} s (COUNCIL_DATABASE_TIMEOUT)"
    elif isinstance(error, socket.gaierror):
        why = f"the host {urlsplit(url).hostname!r} does not resolve"
    else:
        why = str(error).strip() or type(error).__name__
        if isinstance(error, OSError) and error.errno == errno.ECONNREFUSED:
            why = "the connection was refused (is PostgreSQL running and listening there?)"
    return StartupError(f"cannot open the database {redacted(url)}: {why}")


def listen(host: str, port: int) -> list[socket.socket]:
    """Bind and listen on every address `host` resolves to; refuse in one line when that fails."""
    try:
        addresses = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        raise StartupError(f"cannot listen on {host}: the host does not resolve") from None
    sockets: list[socket.socket] = []
    seen: set[tuple[object, ...]] = set()
    try:
        for family, kind, proto, _, address in addresses:
            if address in seen:
                continue
            seen.add(address)
            sockets.append(_bind(family, kind, proto, address, host, port))
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _bind(
    family: int, kind: int, proto: int, address: tuple[object, ...], host: str, port: int
) -> socket.socket:
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as error:
        sock.close()
        raise StartupError(_bind_failure(error, host, port)) from None
    sock.setblocking(False)
    return sock


def _bind_failure(error: OSError, host: str, port: int) -> str:
    where = f"{host}:{port}"
    if error.errno == errno.EADDRINUSE:
        return f"cannot listen on {where}: the port is in use (is another Council running?)"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {where}: {host} is not an address of this machine"
    if error.errno == errno.EACCES:
        return f"cannot listen on {where}: permission denied (ports below 1024 need privileges)"
    return f"cannot listen on {where}: {error.strerror}"
