"""The database: Tortoise configuration, start-up, migrations and one transaction helper."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api import migrate as run_migrations
from tortoise.transactions import in_transaction

from bot import preflight


def tortoise_config(database_url: str) -> dict[str, Any]:
    """Return the Tortoise configuration for one database URL."""
    return {
        "connections": {"default": database_url},
        "apps": {
            "models": {
                "models": ["models"],
                "migrations": "models.migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


# The PostgreSQL advisory lock that one migrating process holds at a time ("council" in ASCII).
MIGRATION_LOCK = 0x636F756E63696C


async def migrate(database_url: str) -> None:
    """Bring the schema up to date with Tortoise's built-in migrations, one process at a time.

    Two replicas starting together, or `council agent create` run while `council serve` starts,
    would otherwise both apply the same migration and one would fail on recording it.
    """
    async with _one_migrator(database_url):
        await run_migrations(config=tortoise_config(database_url))
        await Tortoise.close_connections()


def _lock_file(path: str) -> int:
    """Open the lock file and wait for its exclusive lock; return the descriptor that holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


@asynccontextmanager
async def _one_migrator(database_url: str) -> AsyncIterator[None]:
    """Hold a lock that every migrating Council process takes: a lock file beside SQLite, or a
    PostgreSQL advisory lock on a connection of its own."""
    credentials = expand_db_url(database_url)["credentials"]
    if "file_path" in credentials:
        path = credentials["file_path"]
        if path == ":memory:":
            yield
            return
        lock = await asyncio.to_thread(_lock_file, f"{path}.migrate-lock")
        try:
            yield
        finally:
            os.close(lock)  # closing the file releases the lock
        return
    conn = await asyncpg.connect(
        host=credentials.get("host"),
        port=credentials.get("port"),
        user=credentials.get("user"),
        password=credentials.get("password"),
        database=credentials.get("database"),
    )
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        yield
    finally:
        await conn.close()  # closing the session releases the lock


async def init(database_url: str, *, connect_within: float = preflight.DATABASE_TIMEOUT) -> None:
    """Check the database answers, migrate, then connect; every task created afterwards shares it.

    A database that is not there, refuses, or does not answer within preflight.DATABASE_TIMEOUT is a
    StartupError naming it without its password, instead of a hang or a driver's traceback.
    `connect_within` bounds reaching it (COUNCIL_DATABASE_TIMEOUT), not the migration itself.
    """
    url = preflight.database_url(database_url)
    await reachable(url, connect_within=connect_within)
    await migrate(url)
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)


async def reachable(database_url: str, *, connect_within: float = preflight.DATABASE_TIMEOUT) -> None:
    """Open and close one connection: PostgreSQL in bounded time, SQLite at once."""
    url = preflight.database_url(database_url)
    credentials = expand_db_url(url)["credentials"]
    if "file_path" in credentials:
        _sqlite_opens(url, credentials["file_path"])
        return
    try:
        async with asyncio.timeout(connect_within):
            conn = await asyncpg.connect(
                host=credentials.get("host"),
                port=credentials.get("port"),
                user=credentials.get("user"),
                password=credentials.get("password"),
                database=credentials.get("database"),
            )
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        raise preflight.database_unreachable(url, error, connect_within) from None
    await conn.close()


def _sqlite_opens(url: str, path: str) -> None:
    """Open the SQLite file once, here and at once: the async driver hangs on a file it cannot open."""
    try:
        sqlite3.connect(path).close()
    except sqlite3.Error as error:
        raise preflight.database_unreachable(url, error, 0) from None


async def close() -> None:
    """Close every database connection."""
    await Tortoise.close_connections()


def dialect() -> str:
    """Return 'sqlite' or 'postgres' for the default connection."""
    return str(connections.get("default").capabilities.dialect)


@asynccontextmanager
async def transaction() -> AsyncIterator[BaseDBAsyncClient]:
    """Open one transaction; on PostgreSQL, state changes serialise on the audit chain."""
    async with in_transaction("default") as conn:
        yield conn
