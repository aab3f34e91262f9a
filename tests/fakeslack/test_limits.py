"""The fake models Slack's rate limits: per channel for posts, per method tier otherwise, 429s counted."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.clock import ManualClock
from tests.fakeslack import FakeSlack
from tests.fakeslack.limits import POST_PER_CHANNEL, TIER_3, Limit


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def fake(clock: ManualClock) -> AsyncIterator[FakeSlack]:
    async with FakeSlack(clock=clock.seconds) as fake:
        yield fake


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(base_url=fake.api_url, token=fake.token)


async def _post(client: AsyncWebClient, channel: str) -> SlackApiError | None:
    try:
        await client.chat_postMessage(channel=channel, text="hello")
    except SlackApiError as error:
        return error
    return None


async def test_posts_past_the_burst_of_one_channel_get_429_with_retry_after(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    answers = [await _post(client, "C1") for _ in range(POST_PER_CHANNEL.burst + 2)]
    assert answers[: POST_PER_CHANNEL.burst] == [None] * POST_PER_CHANNEL.burst
    for refused in answers[POST_PER_CHANNEL.burst :]:
        assert refused is not None
        assert refused.response.status_code == 429
        assert refused.response.data == {"ok": False, "error": "ratelimited"}
        assert refused.response.headers["Retry-After"] == "1"
    assert len(fake.messages("C1")) == POST_PER_CHANNEL.burst
    assert fake.limits.count() == 2 and fake.limits.count("chat.postMessage", "C1") == 2
    # Another channel has a limit of its own.
    assert await _post(client, "C2") is None


async def test_the_limit_refills_at_about_one_post_a_second(
    fake: FakeSlack, client: AsyncWebClient, clock: ManualClock
) -> None:
    for _ in range(POST_PER_CHANNEL.burst):
        assert await _post(client, "C1") is None
    assert await _post(client, "C1") is not None
    clock.advance(1.0)
    assert await _post(client, "C1") is None
    assert await _post(client, "C1") is not None
    assert fake.limits.count() == 2


async def test_other_methods_are_limited_per_method_by_their_tier(
    fake: FakeSlack, client: AsyncWebClient, clock: ManualClock
) -> None:
    posted = await client.chat_postMessage(channel="C1", text="tally")
    for _ in range(TIER_3.burst):
        await client.chat_update(channel="C1", ts=posted["ts"], text="tally")
    with pytest.raises(SlackApiError) as refused:
        await client.chat_update(channel="C2", ts=posted["ts"], text="tally")
    # Tier 3 is 50 a minute: the next call is allowed 1.2 s later.
    assert refused.value.response.status_code == 429
    assert refused.value.response.headers["Retry-After"] == "2"
    assert fake.limits.count("chat.update") == 1
    clock.advance(1.3)
    await client.chat_update(channel="C1", ts=posted["ts"], text="tally")


async def test_limits_can_be_changed_or_turned_off_per_test(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.limits.post_per_channel = Limit(60, burst=1)
    assert await _post(client, "C1") is None
    assert await _post(client, "C1") is not None
    fake.limits.enabled = False
    assert [await _post(client, "C1") for _ in range(10)] == [None] * 10
    assert fake.limits.count() == 1
