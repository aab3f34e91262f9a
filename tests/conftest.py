"""Shared fixtures: a real database per test (SQLite, and PostgreSQL in its own schema), the running app."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from tortoise.backends.base.executor import EXECUTOR_CACHE

from bot import db
from bot.settings import Settings
from tests.harness import Harness, running_council

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")


def _postgres_or_skip() -> str:
    if POSTGRES_URL:
        return POSTGRES_URL
    if os.environ.get("CI"):
        pytest.fail("TEST_POSTGRES_URL is not set; CI must run the PostgreSQL tests")
    pytest.skip("TEST_POSTGRES_URL is not set (PostgreSQL tests run in CI)")


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    # Tortoise caches SQL per connection name; one process testing two dialects must forget it.
    EXECUTOR_CACHE.clear()
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'council.db'}"
        return
    base = _postgres_or_skip()
    schema = "test_" + secrets.token_hex(6)
    conn = await asyncpg.connect(base)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()
    parts = urlsplit(base)
    query = f"{parts.query}&schema={schema}" if parts.query else f"schema={schema}"
    yield urlunsplit(parts._replace(query=query))
    conn = await asyncpg.connect(base)
    try:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[str]:
    """Migrate and connect to the fresh database for a service test."""
    await db.init(database_url)
    yield database_url
    await db.close()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings as a test sets them: no .env, no council.yml, a key file in the test's folder."""
    return Settings(
        _env_file=None,
        database_url=database_url,
        slack_bot_token="xoxb-test-token",
        slack_signing_secret="test-signing-secret",
        council_secret_key_file=tmp_path / "council.key",
        council_config=None,
        council_allow_private_callbacks=True,
        council_tally_debounce=0,
        council_outbox_poll=0.05,
    )


@pytest.fixture
async def council(settings: Settings) -> AsyncIterator[Harness]:
    """The running app with the fake Slack and a configured council (tests/harness.py)."""
    async with running_council(settings) as harness:
        yield harness
