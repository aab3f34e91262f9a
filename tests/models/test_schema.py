"""The schema as migrations build it: in step with the models, and the constraints we rely on."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tortoise import Tortoise, connections
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.context import get_current_context
from tortoise.exceptions import IntegrityError
from tortoise.migrations.api import migrate as run_migrations
from tortoise.migrations.autodetector import MigrationAutodetector

from bot import db
from bot.db import tortoise_config
from bot.governance import Choice
from bot.outbox import events
from bot.runtime import Runtime
from bot.schemas import EscalationIn
from bot.services import agents, escalations, votes
from bot.services.agents import Credentials
from bot.services.votes import Ballot
from models import Escalation, OutboxItem, Vote
from tests.bot.services.conftest import council, credentials, rt

__all__ = ["council", "credentials", "rt"]


async def test_models_have_no_changes_missing_a_migration(database: str) -> None:
    context = get_current_context()
    assert context is not None and context.apps is not None
    writers = await MigrationAutodetector(context.apps, tortoise_config(database)["apps"]).changes()
    assert writers == [], "a model changed without a migration: run `tortoise makemigrations`"


async def test_the_embedded_default_runs_sqlite_in_wal_mode(tmp_path: Path) -> None:
    EXECUTOR_CACHE.clear()
    await db.init(f"sqlite://{tmp_path / 'council.db'}")
    try:
        _, rows = await connections.get("default").execute_query("PRAGMA journal_mode")
    finally:
        await db.close()
    assert rows[0][0].lower() == "wal"


async def test_one_vote_row_per_member_even_when_clicks_race(rt: Runtime, credentials: Credentials) -> None:
    agent = await agents.authenticate(f"Bearer {credentials.api_key}")
    body = EscalationIn.model_validate({"kind": "approval", "title": "Refund", "action": {"amount": 10}})
    escalation, _ = await escalations.create(rt, agent=agent, body=body, idempotency_key=None)
    clicks = [Choice.APPROVE, Choice.ABSTAIN, Choice.APPROVE, Choice.ABSTAIN, Choice.APPROVE]
    await asyncio.gather(
        *(
            votes.cast(rt, public_id=escalation.public_id, user="U0TECH001", ballot=Ballot(choice))
            for choice in clicks
        )
    )
    assert await Vote.filter(escalation=escalation, user_id="U0TECH001").count() == 1


async def test_the_database_refuses_a_second_vote_row(rt: Runtime, credentials: Credentials) -> None:
    agent = await agents.authenticate(f"Bearer {credentials.api_key}")
    body = EscalationIn.model_validate({"kind": "approval", "title": "Refund"})
    escalation, _ = await escalations.create(rt, agent=agent, body=body, idempotency_key=None)
    await Vote.create(escalation=escalation, user_id="U0TECH001", function="technology", choice="approve")
    with pytest.raises(IntegrityError):
        await Vote.create(escalation=escalation, user_id="U0TECH001", function="technology", choice="reject")
    assert await Escalation.filter(id=escalation.id).count() == 1


def _sqlite_indexes(path: Path) -> set[tuple[str, bool, tuple[str, ...]]]:
    """Every index of a SQLite file: (table, unique, columns), whatever it is named."""
    with sqlite3.connect(path) as conn:
        found = set()
        for table, name in conn.execute("SELECT tbl_name, name FROM sqlite_master WHERE type = 'index'"):
            unique = next(row[2] for row in conn.execute(f'PRAGMA index_list("{table}")') if row[1] == name)
            columns = tuple(row[2] for row in conn.execute(f'PRAGMA index_info("{name}")'))
            found.add((table, bool(unique), columns))
    return found


async def test_migrations_keep_every_constraint_and_index_the_models_declare(tmp_path: Path) -> None:
    EXECUTOR_CACHE.clear()
    migrated, generated = tmp_path / "migrated.db", tmp_path / "generated.db"
    await db.migrate(f"sqlite://{migrated}")
    await Tortoise.init(config=tortoise_config(f"sqlite://{generated}"))
    try:
        await Tortoise.generate_schemas()
    finally:
        await Tortoise.close_connections()
    wanted = {index for index in _sqlite_indexes(generated) if index[0] != "tortoise_migrations"}
    have = {index for index in _sqlite_indexes(migrated) if index[0] != "tortoise_migrations"}
    assert wanted <= have, f"migrations lost {sorted(wanted - have)}"
    assert ("escalation", True, ("agent_id", "idempotency_key")) in have
    assert ("vote", True, ("escalation_id", "user_id")) in have


LEGACY_ROWS = [
    ("slack.post_escalation", "{}"),
    ("slack.update_escalation", "{}"),
    ("slack.thread_reply", '{"event":"decided"}'),
    ("slack.thread_reply", '{"text":"a note"}'),
    ("slack.dm", '{"user":"U0TECH001","text":"Reminder"}'),
    ("agent.callback", '{"url":"https://agent.example/cb","body":{"id":"evt_1"}}'),
]


async def test_outbox_rows_of_the_first_version_become_events(database_url: str) -> None:
    config = tortoise_config(database_url)
    await run_migrations(config=config, app_labels=["models"], target="models.0001_initial")
    await Tortoise.init(config=config)
    try:
        for kind, payload in LEGACY_ROWS:
            await OutboxItem.create(kind=kind, payload=json.loads(payload), next_attempt_at=datetime.now(UTC))
    finally:
        await Tortoise.close_connections()
    await db.init(database_url)
    try:
        rows = await OutboxItem.all().order_by("id").values_list("kind", "status")
        callback = await OutboxItem.get(kind="agent.callback")
        decided = await OutboxItem.get(kind="escalation.decided")
    finally:
        await db.close()
    assert rows == [
        ("escalation.opened", "pending"),
        ("escalation.tally", "pending"),
        ("escalation.decided", "pending"),
        ("slack.thread_reply", "dead"),
        ("slack.dm", "dead"),
        ("agent.callback", "pending"),
    ]
    assert events.read(decided.kind, decided.payload) == events.Decided()
    assert events.read(callback.kind, callback.payload).url == "https://agent.example/cb"  # type: ignore[attr-defined]
