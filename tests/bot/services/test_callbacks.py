"""Callback destinations: nothing goes to loopback or private addresses unless an admin allows it."""

from __future__ import annotations

import pytest

from bot.errors import Invalid
from bot.outbox.callbacks import PublicOnlyResolver
from bot.outbox.destinations import check_destination


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/cb",
        "http://[::1]/cb",
        "http://10.1.2.3/cb",
        "http://169.254.169.254/latest",
        "http://localhost:8080/cb",
        "http://0/cb",
        "http://2130706433/cb",
        "http://api.localhost/cb",
    ],
)
async def test_private_destinations_are_refused_at_intake(url: str) -> None:
    with pytest.raises(Invalid) as refused:
        await check_destination(url, allow_private=False)
    assert refused.value.details == [{"field": "callback_url", "message": "private or loopback address"}]


async def test_private_destinations_are_allowed_when_configured() -> None:
    await check_destination("http://127.0.0.1:9/cb", allow_private=True)


async def test_the_send_time_resolver_never_yields_a_refused_address() -> None:
    resolver = PublicOnlyResolver()
    try:
        with pytest.raises(OSError, match="loopback or private"):
            await resolver.resolve("localhost", 80)
    finally:
        await resolver.close()
