"""Signed request bodies: Slack's verifier accepts them and a real Bolt app understands them."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakeslack import (
    FakeSlack,
    block_action_body,
    event_body,
    sample,
    signed_headers,
    slash_command_body,
    url_verification_body,
    view_submission_body,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


def payload_of(form_body: str) -> dict[str, Any]:
    return json.loads(parse_qs(form_body)["payload"][0])


@pytest.mark.parametrize("body", ["text=status&command=%2Fcouncil", b'{"type":"event_callback"}'])
def test_signed_headers_pass_slacks_own_verifier(body: str | bytes) -> None:
    headers = signed_headers(SECRET, body)
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)


def test_a_changed_body_an_old_timestamp_or_another_secret_fail_verification() -> None:
    body = slash_command_body(text="status")
    headers = signed_headers(SECRET, body)
    verifier = SignatureVerifier(SECRET)
    assert not verifier.is_valid_request(body.replace("status", "digest"), headers)
    assert not SignatureVerifier("another-secret").is_valid_request(body, headers)
    stale = signed_headers(SECRET, body, timestamp=int(time.time()) - 600)
    assert not verifier.is_valid_request(body, stale)


def test_slash_command_body_is_the_form_slack_posts() -> None:
    fields = parse_qs(slash_command_body("/council", "agent pause refund-bot", user_id="U0CHAIR01"))
    assert fields["command"] == ["/council"]
    assert fields["text"] == ["agent pause refund-bot"]
    assert fields["user_id"] == ["U0CHAIR01"]
    for key in ("team_id", "channel_id", "trigger_id", "response_url", "api_app_id"):
        assert fields[key][0]


def test_block_action_copies_the_clicked_button_from_the_message() -> None:
    message = sample("block_actions.json")["message"]
    payload = payload_of(block_action_body("U0FIN0001", "vote_reject", message=message))
    assert payload["type"] == "block_actions"
    assert payload["user"]["id"] == "U0FIN0001"
    assert payload["container"] == {
        "type": "message",
        "message_ts": message["ts"],
        "channel_id": "C0COUNCIL",
        "is_ephemeral": False,
    }
    [action] = payload["actions"]
    assert action["block_id"] == "esc_vote"
    assert action["text"]["text"] == "Reject"
    assert action["style"] == "danger"
    assert action["value"] == "esc_01HZX3"
    for key in ("team", "channel", "trigger_id", "response_url", "api_app_id"):
        assert payload[key]


def test_block_action_on_a_view_has_a_view_container_and_no_message() -> None:
    view = {"id": "V0HOME", "type": "home", "blocks": []}
    payload = payload_of(block_action_body("U0TECH001", "open_escalation", "e1", view=view))
    assert payload["container"] == {"type": "view", "view_id": "V0HOME"}
    assert "message" not in payload
    assert payload["actions"][0]["value"] == "e1"


def test_view_submission_carries_state_values() -> None:
    selected = {"type": "static_select", "selected_option": {"value": "high"}}
    body = view_submission_body(
        "U0TECH001",
        "reject_reason",
        {"reason": {"reason_input": "Over mandate"}, "risk": {"risk_select": selected}},
        private_metadata="esc_1",
    )
    view = payload_of(body)["view"]
    assert view["callback_id"] == "reject_reason"
    assert view["private_metadata"] == "esc_1"
    assert view["state"]["values"] == {
        "reason": {"reason_input": {"type": "plain_text_input", "value": "Over mandate"}},
        "risk": {"risk_select": selected},
    }


def test_event_body_wraps_the_event_in_an_event_callback() -> None:
    envelope = json.loads(event_body({"type": "app_home_opened", "user": "U0FIN0001"}))
    assert envelope["type"] == "event_callback"
    assert envelope["event"]["user"] == "U0FIN0001"
    assert envelope["event"]["tab"] == "home"
    assert envelope["event_id"].startswith("Ev")
    assert json.loads(url_verification_body("abc"))["challenge"] == "abc"


# -- a real Bolt app accepts what the builders produce --------------------------------------


def bolt_app(fake: FakeSlack) -> AsyncApp:
    client = AsyncWebClient(base_url=fake.api_url, token=fake.token)
    return AsyncApp(client=client, signing_secret=SECRET)


async def dispatch(app: AsyncApp, body: str, content_type: str = "application/x-www-form-urlencoded") -> Any:
    headers = signed_headers(SECRET, body, content_type=content_type)
    return await app.async_dispatch(AsyncBoltRequest(body=body, headers={**headers}))


async def test_bolt_rejects_a_request_signed_with_another_secret(fake: FakeSlack) -> None:
    body = fake.slash_command_body(text="status")
    headers = signed_headers("wrong-secret", body)
    response = await bolt_app(fake).async_dispatch(AsyncBoltRequest(body=body, headers={**headers}))
    assert response.status == 401


async def test_bolt_handles_a_slash_command_and_responds_to_the_fake(fake: FakeSlack) -> None:
    app = bolt_app(fake)

    @app.command("/council")
    async def council(ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any]) -> None:
        await ack()
        await respond(f"{command['user_id']} asked for {command['text']}")

    response = await dispatch(app, fake.slash_command_body(text="status", user_id="U0CHAIR01"))
    assert response.status == 200
    [posted] = await fake.wait_for(lambda: fake.responses)
    assert posted.body["text"] == "U0CHAIR01 asked for status"


async def test_bolt_opens_a_modal_from_a_button_click_with_the_trigger(fake: FakeSlack) -> None:
    app = bolt_app(fake)
    client = app.client
    blocks = sample("block_actions.json")["message"]["blocks"]
    posted = await client.chat_postMessage(channel="C0COUNCIL", text="vote", blocks=blocks)

    @app.action("vote_reject")
    async def reject(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        title = {"type": "plain_text", "text": "Reject"}
        view = {"type": "modal", "title": title, "private_metadata": body["actions"][0]["value"]}
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    body = fake.block_action_body("U0TECH001", "vote_reject", message_ts=posted["ts"], channel_id="C0COUNCIL")
    assert (await dispatch(app, body)).status == 200
    [opened] = await fake.wait_for(lambda: fake.views)
    assert (opened.action, opened.user) == ("open", "U0TECH001")
    assert opened.view["private_metadata"] == "esc_01HZX3"


async def test_bolt_reads_a_view_submission_and_answers_an_event(fake: FakeSlack) -> None:
    app = bolt_app(fake)
    seen: list[str] = []

    @app.view("reject_reason")
    async def submitted(ack: AsyncAck, view: dict[str, Any]) -> None:
        seen.append(view["state"]["values"]["reason"]["reason_input"]["value"])
        await ack()

    @app.event("app_home_opened")
    async def home(event: dict[str, Any], client: AsyncWebClient) -> None:
        await client.views_publish(user_id=event["user"], view={"type": "home", "blocks": []})

    body = fake.view_submission_body("U0TECH001", "reject_reason", {"reason": {"reason_input": "No"}})
    assert (await dispatch(app, body)).status == 200
    assert seen == ["No"]
    event = event_body({"type": "app_home_opened", "user": "U0FIN0001"})
    assert (await dispatch(app, event, "application/json")).status == 200
    await fake.wait_for(lambda: fake.home("U0FIN0001"))
    challenge = await dispatch(app, url_verification_body("xyz"), "application/json")
    assert json.loads(challenge.body) == {"challenge": "xyz"}
