"""Modals and App Home on the fake: trigger id lifetime, view limits, updates and hashes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakeslack import FakeSlack


class Clock:
    """A clock the test moves by hand, so expiry never waits on real time."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def fake(clock: Clock) -> AsyncIterator[FakeSlack]:
    async with FakeSlack(clock=clock) as fake:
        yield fake


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(base_url=fake.api_url, token=fake.token)


def modal(title: str = "Reject", **extra: Any) -> dict[str, Any]:
    text = {"type": "section", "text": {"type": "mrkdwn", "text": "Why?"}}
    view = {"type": "modal", "title": {"type": "plain_text", "text": title}, "blocks": [text]}
    return {**view, **extra}


async def error_of(call: Any) -> str:
    with pytest.raises(SlackApiError) as failed:
        await call
    return str(failed.value.response["error"])


async def test_a_fresh_trigger_opens_a_modal_for_its_user(fake: FakeSlack, client: AsyncWebClient) -> None:
    trigger = fake.new_trigger_id("U0TECH001")
    opened = await client.views_open(trigger_id=trigger, view=modal(callback_id="reject"))
    assert opened["view"]["id"].startswith("V")
    [record] = fake.views
    assert (record.action, record.view_id, record.user) == (
        "open",
        opened["view"]["id"],
        "U0TECH001",
    )
    assert record.view["callback_id"] == "reject"


async def test_unknown_reused_and_expired_triggers_fail(
    fake: FakeSlack, client: AsyncWebClient, clock: Clock
) -> None:
    assert await error_of(client.views_open(trigger_id="1.2.abc", view=modal())) == ("invalid_trigger_id")
    used = fake.new_trigger_id("U0TECH001")
    await client.views_open(trigger_id=used, view=modal())
    assert await error_of(client.views_open(trigger_id=used, view=modal())) == ("exchanged_trigger_id")
    on_time, late = fake.new_trigger_id("U1"), fake.new_trigger_id("U2")
    clock.now += 3.0
    await client.views_open(trigger_id=on_time, view=modal())
    clock.now += 0.001
    assert await error_of(client.views_open(trigger_id=late, view=modal())) == "expired_trigger_id"
    assert [r.user for r in fake.views] == ["U0TECH001", "U1"]


async def test_an_invalid_modal_is_refused_and_keeps_the_trigger(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    trigger = fake.new_trigger_id("U0TECH001")
    with pytest.raises(SlackApiError) as failed:
        await client.views_open(trigger_id=trigger, view=modal(title="A title far over 24 chars"))
    assert failed.value.response["error"] == "invalid_arguments"
    assert failed.value.response["response_metadata"]["messages"] == [
        "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"
    ]
    assert fake.views == []
    await client.views_open(trigger_id=trigger, view=modal())
    assert len(fake.views) == 1


async def test_update_replaces_the_view_and_refuses_a_stale_hash(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    opened = await client.views_open(trigger_id=fake.new_trigger_id("U0FIN0001"), view=modal())
    view_id, first_hash = opened["view"]["id"], opened["view"]["hash"]
    updated = await client.views_update(view_id=view_id, hash=first_hash, view=modal("Thanks"))
    assert updated["view"]["title"]["text"] == "Thanks"
    assert [(r.action, r.user) for r in fake.views] == [
        ("open", "U0FIN0001"),
        ("update", "U0FIN0001"),
    ]
    stale = client.views_update(view_id=view_id, hash=first_hash, view=modal("Again"))
    assert await error_of(stale) == "hash_conflict"
    assert await error_of(client.views_update(view_id="V404", view=modal())) == "not_found"


async def test_publish_sets_a_users_home_within_its_limits(fake: FakeSlack, client: AsyncWebClient) -> None:
    blocks = [{"type": "divider"}] * 100
    first = await client.views_publish(user_id="U0FIN0001", view={"type": "home", "blocks": blocks})
    again = await client.views_publish(user_id="U0FIN0001", view={"type": "home", "blocks": []})
    assert first["view"]["id"] == again["view"]["id"]
    assert fake.home("U0FIN0001") == again["view"]
    assert fake.home("U0TECH001") is None
    too_many = {"type": "home", "blocks": [{"type": "divider"}] * 101}
    assert await error_of(client.views_publish(user_id="U1", view=too_many)) == "invalid_arguments"
    assert await error_of(client.views_publish(user_id="U1", view=modal())) == "invalid_arguments"
