"""Service fixtures: a configured council, an agent with credentials, a runtime."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.runtime import Runtime
from bot.services import agents, config
from bot.services.agents import Credentials
from bot.settings import Settings

COUNCIL_YML = """
admins: [U0ADMIN01]
councils:
  - name: ai-council
    channel: C0COUNCIL
    timezone: Europe/Berlin
    members:
      - {user: U0PEOPLE1, function: people, role: chair}
      - {user: U0TECH001, function: technology}
      - {user: U0FIN0001, function: finance}
agents:
  - {name: refund-bot, owner: U0OWNER01, council: ai-council}
policies:
  - name: refunds
    match: {kind: approval}
    council: ai-council
    rule: {type: majority, quorum: 2}
    deadline: 4h
defaults: {council: ai-council}
"""


@pytest.fixture
def rt(settings: Settings) -> Runtime:
    return Runtime(settings=settings, server_key=b"k" * 32)


@pytest.fixture
async def council(database: str) -> None:
    await config.apply_text(COUNCIL_YML, source="council.yml")


@pytest.fixture
async def credentials(council: None, rt: Runtime) -> Credentials:
    return await agents.create(
        name="refund-bot", owner="U0OWNER01", council="ai-council", server_key=rt.server_key
    )


@pytest.fixture
def council_yml(tmp_path: Path) -> Path:
    path = tmp_path / "council.yml"
    path.write_text(COUNCIL_YML)
    return path
