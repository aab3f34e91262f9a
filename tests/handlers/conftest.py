"""End-to-end fixture: the running app with the fake Slack and a configured council."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.settings import Settings
from tests.harness import Harness, running_council


@pytest.fixture
async def council(settings: Settings) -> AsyncIterator[Harness]:
    async with running_council(settings) as harness:
        yield harness
