"""A throw-away database for one run: a SQLite file in a temp dir, or a PostgreSQL schema."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information

DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class Database:
    """Where Council keeps its state for this run, and which engine version that is."""

    url: str
    kind: str
    server_version: str | None = None


@asynccontextmanager
async def temporary_database(kind: str) -> AsyncIterator[Database]:
    """Yield an empty database of `kind` ('sqlite' or 'postgres'), removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="council-bench-") as folder:
            yield Database(f"sqlite://{Path(folder) / 'council.db'}", kind)
        return
    async with _postgres_schema(os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)) as database:
        yield database


@asynccontextmanager
async def _postgres_schema(base: str) -> AsyncIterator[Database]:
    schema = "bench_" + secrets.token_hex(6)
    conn = await asyncpg.connect(base)
    try:
        version = str(await conn.fetchval("SHOW server_version"))
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()
    parts = urlsplit(base)
    query = f"{parts.query}&schema={schema}" if parts.query else f"schema={schema}"
    try:
        yield Database(urlunsplit(parts._replace(query=query)), "postgres", version.split()[0])
    finally:
        conn = await asyncpg.connect(base)
        try:
            await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        finally:
            await conn.close()
