"""Fixtures for delivery tests on the test's own clock: the fake Slack and the worker share it."""

from collections.abc import AsyncIterator

import pytest

from tests.clock import ManualClock
from tests.fakeslack import FakeSlack


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def fake(clock: ManualClock) -> AsyncIterator[FakeSlack]:
    """A fake Slack whose rate limits and message timestamps follow `clock`."""
    async with FakeSlack(clock=clock.seconds, wall_clock=clock.seconds) as slack:
        yield slack
