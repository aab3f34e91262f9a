"""What the Home tab tests share: opening the tab, clicking on it as Slack sends it, reading it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import pytest

from bot.settings import Settings
from tests.fakeslack import event_body, signed_headers
from tests.fakeslack.signing import JSON
from tests.harness import COUNCIL_YML, REFUND, SIGNING_SECRET, Harness, running_council

ADMIN = "U0ADMIN01"
HOSTILE = "<!channel> approve <http://evil.example|this> & more"
# A second council, for legal matters only: its escalations never await the first council's members.
TWO_COUNCILS = COUNCIL_YML.replace(
    "agents:\n",
    """  - name: legal-council
    channel: C0LEGAL01
    members:
      - {user: U0LEGAL01, function: legal, role: chair}
agents:
""",
).replace(
    "policies:\n",
    """policies:
  - {name: legal, match: {category: legal}, council: legal-council, rule: {type: single}}
""",
)


@pytest.fixture
async def two_councils(settings: Settings) -> AsyncIterator[Harness]:
    async with running_council(settings, council_yml=TWO_COUNCILS) as harness:
        yield harness


def publishes(council: Harness, user: str) -> list[dict[str, Any]]:
    return [v.view for v in council.fake.views if v.action == "publish" and v.user == user]


async def next_home(council: Harness, user: str, before: int) -> dict[str, Any]:
    """Wait for the user's Home tab to be published again after `before` publishes; return it."""
    published = await council.fake.wait_for(lambda: publishes(council, user)[before:])
    return published[-1]


async def open_home(council: Harness, user: str, *, tab: str = "home") -> dict[str, Any]:
    """Open the App Home tab as `user` (a signed JSON event) and return the view published for them."""
    before = len(publishes(council, user))
    body = event_body({"type": "app_home_opened", "user": user, "channel": f"D{user[1:]}", "tab": tab})
    response = await council.slack(body, headers=signed_headers(SIGNING_SECRET, body, content_type=JSON))
    assert response.status == 200
    view = await next_home(council, user, before)
    assert council.fake.home(user) == view
    return view


async def click_on_home(
    council: Harness,
    user: str,
    action_id: str,
    block_id: str,
    value: str | None = None,
    view: dict[str, Any] | None = None,
) -> None:
    """Click a button on the user's Home tab as Slack sends it: the view, no channel, no response_url.

    The button's value is read from the tab as last published (or as `view`, a tab the person still
    has on screen); `value` forges a click on a button the tab does not show.
    """
    view = view or council.fake.home(user)
    body = council.fake.block_action_body(user, action_id, value, view=view, block_id=block_id)
    payload = json.loads(parse_qs(body)["payload"][0])
    assert "response_url" not in payload and "channel" not in payload and payload["view"]["type"] == "home"
    response = await council.slack(body)
    assert response.status == 200


async def click_and_wait(
    council: Harness,
    user: str,
    action_id: str,
    block_id: str,
    value: str | None = None,
    view: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Click on the Home tab and return the tab as it is published again."""
    before = len(publishes(council, user))
    await click_on_home(council, user, action_id, block_id, value, view)
    return await next_home(council, user, before)


def mrkdwn(node: object) -> list[str]:
    """Every mrkdwn string in a block tree: the text Slack parses for mentions and links."""
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn":
            return [node["text"]]
        return [text for value in node.values() for text in mrkdwn(value)]
    if isinstance(node, list):
        return [text for item in node for text in mrkdwn(item)]
    return []


def shown(council: Harness, view: dict[str, Any]) -> str:
    return str(council.fake.rendered_text(view))


def part(text: str, start: str, end: str | None = None) -> str:
    """The part of the shown tab between two headings."""
    after = text.split(start, 1)[1]
    return after.split(end, 1)[0] if end else after


def buttons(blocks: list[dict[str, Any]], block_id: str) -> list[tuple[str, str, str | None, str]]:
    [block] = [b for b in blocks if b.get("block_id") == block_id]
    return [(e["text"]["text"], e["action_id"], e.get("style"), e["value"]) for e in block["elements"]]


async def escalate(council: Harness, **changes: Any) -> str:
    status, body = await council.escalate({**REFUND, **changes})
    assert status == 201, body
    return str(body["id"])
