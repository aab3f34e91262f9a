"""The database: Tortoise configuration, start-up, migrations and one transaction helper."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.migrations.api import migrate as run_migrations
from tortoise.transactions import in_transaction


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


async def migrate(database_url: str) -> None:
    """Bring the schema up to date with Tortoise's built-in migrations."""
    await run_migrations(config=tortoise_config(database_url))
    await Tortoise.close_connections()


async def init(database_url: str) -> None:
    """Migrate, then connect; every task and worker created afterwards shares this state."""
    await migrate(database_url)
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


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
