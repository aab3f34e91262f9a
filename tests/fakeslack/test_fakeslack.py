"""The fake Slack Web API, driven by slack-sdk's real AsyncWebClient over HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from types import SimpleNamespace

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import builtin_async_handlers
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakeslack import FakeSlack

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "Refund *$1,250*"}}


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(wall_clock=lambda: 1_700_000_000.0) as fake:
        yield fake


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(base_url=fake.api_url, token=fake.token)


async def test_api_url_ends_in_api_and_auth_test_names_the_bot(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    assert fake.api_url.startswith("http://127.0.0.1:") and fake.api_url.endswith("/api/")
    identity = await client.auth_test()
    assert identity["user_id"] == fake.bot_user_id
    assert identity["team_id"] == fake.team_id


async def test_post_then_history_returns_newest_first_with_metadata_when_asked(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    metadata = {"event_type": "escalation_posted", "event_payload": {"id": "esc_1"}}
    first = await client.chat_postMessage(channel="C1", text="one", metadata=metadata)
    second = await client.chat_postMessage(channel="C1", text="two", unfurl_links=False)
    assert (first["ts"], second["ts"]) == ("1700000000.000000", "1700000000.000100")
    assert first["message"]["metadata"] == metadata

    with_metadata = await client.conversations_history(channel="C1", include_all_metadata=True)
    assert [m["text"] for m in with_metadata["messages"]] == ["two", "one"]
    assert with_metadata["messages"][1]["metadata"] == metadata
    plain = await client.conversations_history(channel="C1", limit=1)
    assert [m["text"] for m in plain["messages"]] == ["two"]
    assert plain["has_more"] is True
    assert "metadata" not in plain["messages"][0]
    newer = await client.conversations_history(channel="C1", oldest=first["ts"])
    assert [m["text"] for m in newer["messages"]] == ["two"]


async def test_update_changes_what_the_channel_shows(fake: FakeSlack, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C1", text="pending", blocks=[SECTION])
    approved = {"type": "section", "text": {"type": "mrkdwn", "text": "Approved by &lt;3"}}
    await client.chat_update(channel="C1", ts=posted["ts"], text="approved", blocks=[approved])
    [message] = fake.messages("C1")
    assert (message.ts, message.text, message["blocks"]) == (posted["ts"], "approved", [approved])
    assert fake.rendered_text(message) == "Approved by <3"


async def test_update_refuses_unknown_and_other_peoples_messages(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    with pytest.raises(SlackApiError) as unknown:
        await client.chat_update(channel="C1", ts="1.000001", text="x")
    assert unknown.value.response["error"] == "message_not_found"
    theirs = fake.post_as_user("C1", "U0TECH001", "hello")
    with pytest.raises(SlackApiError) as foreign:
        await client.chat_update(channel="C1", ts=theirs.ts, text="x")
    assert foreign.value.response["error"] == "cant_update_message"
    assert fake.messages("C1")[0].text == "hello"


async def test_threads_show_in_replies_not_in_history(fake: FakeSlack, client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel="C1", text="escalation")
    await client.chat_postMessage(channel="C1", text="approved", thread_ts=parent["ts"])
    history = await client.conversations_history(channel="C1")
    assert [m["text"] for m in history["messages"]] == ["escalation"]
    assert history["messages"][0]["reply_count"] == 1
    replies = await client.conversations_replies(channel="C1", ts=parent["ts"])
    assert [m["text"] for m in replies["messages"]] == ["escalation", "approved"]
    assert [m.text for m in fake.thread("C1", parent["ts"])] == ["escalation", "approved"]


async def test_form_bodies_with_json_text_blocks_are_decoded(fake: FakeSlack, client: AsyncWebClient) -> None:
    data = {"channel": "C1", "text": "t", "blocks": json.dumps([SECTION])}
    await client.api_call("chat.postMessage", data=data)
    assert fake.messages("C1")[0].blocks == [SECTION]
    assert fake.calls[-1].args["blocks"] == [SECTION]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"channel": "C1"}, "no_text"),
        ({"channel": "C1", "text": "x" * 40_001}, "msg_too_long"),
        ({"channel": "C404", "text": "x"}, "channel_not_found"),
        (
            {"channel": "C1", "text": "x", "metadata": {"event_type": "e"}},
            "invalid_metadata_format",
        ),
        ({"channel": "C1", "text": "x", "blocks": [{"type": "divider"}] * 51}, "invalid_blocks"),
    ],
    ids=["no-text", "too-long", "unknown-channel", "bad-metadata", "too-many-blocks"],
)
async def test_bad_posts_fail_like_slack_and_leave_nothing(
    fake: FakeSlack, client: AsyncWebClient, kwargs: dict[str, object], error: str
) -> None:
    fake.channels = {"C1"}
    with pytest.raises(SlackApiError) as failed:
        # api_call: chat_postMessage itself warns about a missing text before sending.
        await client.api_call("chat.postMessage", json=kwargs)
    assert failed.value.response["error"] == error
    assert fake.messages("C1") == []
    assert fake.calls[-1].ok is False


async def test_invalid_blocks_carry_slacks_error_envelope(client: AsyncWebClient) -> None:
    long_header = {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}
    with pytest.raises(SlackApiError) as failed:
        await client.chat_postMessage(channel="C1", text="t", blocks=[SECTION, long_header])
    body = failed.value.response.data
    assert body["errors"] == ["must be less than 151 characters [json-pointer:/blocks/1/text/text]"]
    assert body["response_metadata"]["messages"] == [f"[ERROR] {body['errors'][0]}"]


async def test_ephemerals_dms_permalinks_users_and_reactions(fake: FakeSlack, client: AsyncWebClient) -> None:
    shown = await client.chat_postEphemeral(channel="C1", user="U0FIN0001", text="only you")
    assert [e.ts for e in fake.ephemerals("U0FIN0001")] == [shown["message_ts"]]
    assert fake.ephemerals("U0TECH001") == []

    opened = await client.conversations_open(users="U0FIN0001")
    assert opened["channel"]["id"] == (await client.conversations_open(users=["U0FIN0001"]))["channel"]["id"]
    await client.chat_postMessage(channel="U0FIN0001", text="please vote")
    await client.chat_postMessage(channel=opened["channel"]["id"], text="reminder")
    assert [m.text for m in fake.dms("U0FIN0001")] == ["please vote", "reminder"]

    ts = fake.dms("U0FIN0001")[0].ts
    link = await client.chat_getPermalink(channel=opened["channel"]["id"], message_ts=ts)
    assert link["permalink"].endswith(ts.replace(".", ""))
    await client.reactions_add(channel=opened["channel"]["id"], timestamp=ts, name="eyes")
    with pytest.raises(SlackApiError, match="already_reacted"):
        await client.reactions_add(channel=opened["channel"]["id"], timestamp=ts, name="eyes")

    fake.users["U0FIN0001"] = {"real_name": "Fiona Finance", "tz": "Europe/Berlin"}
    person = (await client.users_info(user="U0FIN0001"))["user"]
    assert (person["real_name"], person["tz"], person["is_bot"]) == (
        "Fiona Finance",
        "Europe/Berlin",
        False,
    )
    assert (await client.users_info(user="U0OTHER01"))["user"]["tz"] == "UTC"


async def test_wrong_or_missing_token_and_unknown_method(fake: FakeSlack) -> None:
    wrong = AsyncWebClient(base_url=fake.api_url, token="xoxb-wrong")
    with pytest.raises(SlackApiError) as failed:
        await wrong.chat_postMessage(channel="C1", text="x")
    assert (failed.value.response.status_code, failed.value.response["error"]) == (
        200,
        "invalid_auth",
    )
    with pytest.raises(SlackApiError, match="not_authed"):
        await AsyncWebClient(base_url=fake.api_url).auth_test()
    with pytest.raises(SlackApiError, match="unknown_method"):
        await AsyncWebClient(base_url=fake.api_url, token=fake.token).api_call("chat.nope")
    assert fake.messages("C1") == []


async def test_429_carries_retry_after_and_slack_sdk_retries_it(
    fake: FakeSlack, client: AsyncWebClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.fail_next("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as limited:
        await client.chat_postMessage(channel="C1", text="x")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "7"
    assert limited.value.response["error"] == "ratelimited"

    waits: list[float] = []

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    # The handler sleeps Retry-After (+ jitter); record the wait instead of sleeping it.
    monkeypatch.setattr(builtin_async_handlers, "asyncio", SimpleNamespace(sleep=no_wait))
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    fake.fail_next("chat.postMessage", retry_after=2)
    posted = await client.chat_postMessage(channel="C1", text="after the limit")
    assert posted["ok"] and 2 <= waits[0] < 3
    assert [m.text for m in fake.messages("C1")] == ["after the limit"]
    assert [(c.ok, c.error) for c in fake.calls[-2:]] == [(False, "429:ratelimited"), (True, None)]


async def test_outages_answer_5xx_without_json_and_change_nothing(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.fail_next("chat.postMessage", status=500, body="")
    fake.fail_next("*", status=503, times=2)
    for expected in (500, 503, 503):
        with pytest.raises(SlackApiError) as failed:
            await client.chat_postMessage(channel="C1", text="x")
        assert failed.value.response.status_code == expected
    fake.down = True
    with pytest.raises(SlackApiError) as down:
        await client.auth_test()
    assert down.value.response.status_code == 503
    fake.down = False
    fake.fail_next("chat.postMessage", error="fatal_error", status=200)
    with pytest.raises(SlackApiError) as refused:
        await client.chat_postMessage(channel="C1", text="x")
    assert (refused.value.response.status_code, refused.value.response["error"]) == (
        200,
        "fatal_error",
    )
    await client.chat_postMessage(channel="C1", text="back")
    assert [m.text for m in fake.messages("C1")] == ["back"]
    assert sum(c.ok for c in fake.calls) == 1


async def test_response_urls_record_what_the_app_posted_back(fake: FakeSlack) -> None:
    url = fake.new_response_url()
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"text": "Recorded", "replace_original": True}) as ok:
            assert ok.status == 200
        async with session.post(fake.url + "/response/unknown", json={}) as missing:
            assert missing.status == 404
    assert [r.body for r in fake.responses] == [{"text": "Recorded", "replace_original": True}]


async def test_wait_for_returns_once_true_and_dumps_state_on_timeout(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    async def post_later() -> None:
        await asyncio.sleep(0.02)
        await client.chat_postMessage(channel="C1", text="late")

    task = asyncio.create_task(post_later())
    found = await fake.wait_for(lambda: fake.messages("C1"))
    await task
    assert found[0].text == "late"
    with pytest.raises(AssertionError, match=r"(?s)still false after 0.05s.*C1 .*late"):
        await fake.wait_for(lambda: fake.messages("C2"), timeout=0.05)
