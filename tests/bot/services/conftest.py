"""Service fixtures: a configured council, an agent with credentials, a runtime."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.runtime import Runtime
from bot.services import agents, config
from bot.services.agents import Credentials
from bot.settings import Settings
from tests.harness import COUNCIL_YML


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
