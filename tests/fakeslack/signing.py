"""Sign requests the way Slack does, and build the bodies Slack really sends to the app."""

from __future__ import annotations

import copy
import json
import secrets
import time
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from slack_sdk.signature import SignatureVerifier

PAYLOADS = Path(__file__).resolve().parent.parent / "payloads"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def signed_headers(
    signing_secret: str,
    body: bytes | str,
    *,
    timestamp: int | None = None,
    content_type: str = FORM,
) -> dict[str, str]:
    """Return the headers Slack sends with `body`: content type, timestamp and v0 signature."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=stamp, body=body)
    assert signature is not None  # only None without a timestamp
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }


def sample(name: str) -> Any:
    """Return a fresh copy of a saved payload from tests/payloads (JSON parsed, text stripped)."""
    return copy.deepcopy(_load(name))


@cache
def _load(name: str) -> Any:
    text = (PAYLOADS / name).read_text(encoding="utf-8")
    return json.loads(text) if name.endswith(".json") else text.strip()


def slash_command_body(
    command: str = "/council",
    text: str = "",
    *,
    user_id: str = "U0ADMIN01",
    channel_id: str = "C0COUNCIL",
    team_id: str = "T0COUNCIL",
    trigger_id: str | None = None,
    response_url: str | None = None,
) -> str:
    """Return the form body of a slash command invocation."""
    fields = dict(parse_qsl(sample("slash_command.txt"), keep_blank_values=True))
    fields.update(
        command=command,
        text=text,
        user_id=user_id,
        user_name=user_id.lower(),
        channel_id=channel_id,
        team_id=team_id,
        trigger_id=trigger_id or fields["trigger_id"],
        response_url=response_url or fields["response_url"],
    )
    return urlencode(fields)


def block_action_body(
    user_id: str,
    action_id: str,
    value: str | None = None,
    *,
    block_id: str | None = None,
    message_ts: str | None = None,
    channel_id: str | None = None,
    message: Any = None,
    view: Mapping[str, Any] | None = None,
    trigger_id: str | None = None,
    response_url: str | None = None,
) -> str:
    """Return the form body (`payload=<json>`) of a click on a button in a message or view.

    Pass the `message` (or `view`) that holds the button and the action is copied from its
    blocks, as Slack does; otherwise a button with `action_id` and `value` is described.
    """
    payload = sample("block_actions.json")
    payload["user"].update(id=user_id, username=user_id.lower(), name=user_id.lower())
    payload["trigger_id"] = trigger_id or payload["trigger_id"]
    if view is not None:
        for key in ("message", "channel", "response_url"):
            payload.pop(key)
        payload["container"] = {"type": "view", "view_id": view["id"]}
        payload["view"] = dict(view)
        blocks = view.get("blocks") or []
    else:
        _set_message(payload, message, message_ts=message_ts, channel_id=channel_id)
        payload["response_url"] = response_url or payload["response_url"]
        blocks = payload["message"]["blocks"]
    payload["actions"] = [_action(blocks, action_id, value, block_id)]
    return urlencode({"payload": json.dumps(payload)})


def view_submission_body(
    user_id: str,
    callback_id: str,
    values: Mapping[str, Mapping[str, Any]],
    *,
    private_metadata: str = "",
    view: Mapping[str, Any] | None = None,
    trigger_id: str | None = None,
    response_urls: list[dict[str, Any]] | None = None,
) -> str:
    """Return the form body (`payload=<json>`) of a modal's submission.

    `values` is {block_id: {action_id: text}}; a text becomes a plain_text_input's state, a
    mapping is used as the element's state as it stands (e.g. a select's selected_option).
    """
    payload = sample("view_submission.json")
    payload["user"].update(id=user_id, username=user_id.lower(), name=user_id.lower())
    payload["trigger_id"] = trigger_id or _fresh_trigger_id()
    payload["response_urls"] = response_urls or []
    if view is not None:
        payload["view"] = copy.deepcopy(dict(view))
    payload["view"].update(callback_id=callback_id, private_metadata=private_metadata)
    payload["view"]["state"] = {
        "values": {
            block: {
                action: dict(state)
                if isinstance(state, Mapping)
                else {"type": "plain_text_input", "value": state}
                for action, state in actions.items()
            }
            for block, actions in values.items()
        }
    }
    return urlencode({"payload": json.dumps(payload)})


def event_body(event: Mapping[str, Any], *, event_id: str | None = None) -> str:
    """Return the JSON body of an Events API `event_callback` carrying `event`."""
    envelope = sample("app_home_opened.json")
    base = envelope["event"] if event.get("type") == envelope["event"]["type"] else {}
    envelope["event"] = {**base, **event}
    now = time.time()
    envelope["event"].setdefault("event_ts", f"{now:.6f}")
    envelope["event_id"] = event_id or f"Ev{secrets.token_hex(5).upper()}"
    envelope["event_time"] = int(now)
    return json.dumps(envelope)


def url_verification_body(
    challenge: str = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
) -> str:
    """Return the JSON body Slack sends when the Events request URL is saved."""
    token = sample("app_home_opened.json")["token"]
    return json.dumps({"token": token, "challenge": challenge, "type": "url_verification"})


def _fresh_trigger_id() -> str:
    return f"{secrets.randbelow(10**13)}.{secrets.randbelow(10**13)}.{secrets.token_hex(16)}"


def _set_message(
    payload: dict[str, Any], message: Any, *, message_ts: str | None, channel_id: str | None
) -> None:
    if message is not None:
        as_dict = message.to_slack() if hasattr(message, "to_slack") else dict(message)
        payload["message"] = {**payload["message"], **as_dict}
        payload["message"].setdefault("blocks", [])
        channel_id = channel_id or getattr(message, "channel", None)
    if message_ts:
        payload["message"]["ts"] = message_ts
    channel_id = channel_id or payload["channel"]["id"]
    payload["channel"] = {"id": channel_id, "name": payload["channel"]["name"]}
    payload["container"].update(message_ts=payload["message"]["ts"], channel_id=channel_id)


def _action(
    blocks: list[dict[str, Any]], action_id: str, value: str | None, block_id: str | None
) -> dict[str, Any]:
    """Describe the clicked element as Slack does, from the blocks when it is there."""
    found_block, element = _find_element(blocks, action_id, block_id)
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id or found_block or "actions",
        "type": "button",
        "text": {"type": "plain_text", "text": action_id, "emoji": True},
    }
    if element is not None:
        action.update({k: v for k, v in element.items() if k in ("type", "text", "style")})
        action["value"] = element.get("value")
    if value is not None:
        action["value"] = value
    if action.get("value") is None:
        action.pop("value", None)
    action["action_ts"] = f"{time.time():.6f}"
    return action


def _find_element(
    blocks: list[dict[str, Any]], action_id: str, block_id: str | None
) -> tuple[str | None, dict[str, Any] | None]:
    for block in blocks:
        if block_id and block.get("block_id") != block_id:
            continue
        elements = list(block.get("elements") or [])
        elements += [block[k] for k in ("accessory", "element") if block.get(k)]
        for element in elements:
            if element.get("action_id") == action_id:
                return block.get("block_id"), element
    return None, None
