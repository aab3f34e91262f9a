"""The schema as migrations build it: in step with the models, and the constraints we rely on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tortoise import connections
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.context import get_current_context
from tortoise.exceptions import IntegrityError
from tortoise.migrations.autodetector import MigrationAutodetector

from bot import db
from bot.db import tortoise_config
from bot.governance.rules import Choice
from bot.runtime import Runtime
from bot.schemas import EscalationIn
from bot.services import agents, escalations, votes
from bot.services.agents import Credentials
from bot.services.votes import Ballot
from models import Escalation, Vote
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
