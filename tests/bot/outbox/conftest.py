"""Delivery tests reuse the service fixtures (council, agent, runtime) and talk to a fake Slack."""

from collections.abc import AsyncIterator

import pytest

from tests.bot.services.conftest import council, credentials, rt
from tests.fakeslack import FakeSlack

__all__ = ["council", "credentials", "rt"]


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        yield slack
