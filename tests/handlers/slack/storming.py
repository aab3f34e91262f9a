"""What the storm tests share: a council with storm limits, a flood, and the grouped message's buttons."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.outbox.storm_effects import METADATA_EVENT as STORM_POST
from bot.settings import Settings
from bot.slack import ids
from models import AuditEvent, Escalation, OutboxItem
from models.enums import Delivery
from tests.fakeslack.records import Message
from tests.harness import Harness, running_council

STORM_YML = """
admins: [U0ADMIN01]
councils:
  - name: ai-council
    channel: C0COUNCIL
    members:
      - {{user: U0PEOPLE1, function: people, role: chair}}
      - {{user: U0TECH001, function: technology}}
      - {{user: U0FIN0001, function: finance}}
agents:
  - {{name: refund-bot, owner: U0OWNER01, council: ai-council, limits: {limits}}}
policies:
  - {{name: small-refunds, match: {{kind: approval, amount_lt: 50}}, decide: approve}}
  - name: refunds
    match: {{kind: approval}}
    council: ai-council
    rule: {{type: majority, quorum: 2, veto: [chair]}}
    deadline: 4h
defaults: {{council: ai-council}}
"""


def refund(n: int, amount: int = 200) -> dict[str, Any]:
    return {
        "kind": "approval",
        "title": f"Refund order {n}",
        "action": {"type": "refund", "amount": amount, "currency": "USD", "target": f"order {n}"},
    }


@pytest.fixture
def limits() -> str:
    return "{storm_after: 3, auto_budget_24h: 100}"


@pytest.fixture
async def council(settings: Settings, limits: str) -> AsyncIterator[Harness]:
    async with running_council(settings, council_yml=STORM_YML.format(limits=limits)) as harness:
        yield harness


async def flood(council: Harness, count: int, *, start: int = 0, amount: int = 200) -> list[str]:
    """Send `count` escalations, eight at a time; return their ids in the order they were answered."""
    gate = asyncio.Semaphore(8)
    ids_: list[str] = []

    async def one(n: int) -> None:
        async with gate:
            status, body = await council.escalate({**refund(n, amount), "callback_url": council.sink.url})
        assert status == 201, body
        ids_.append(body["id"])

    await asyncio.gather(*(one(start + n) for n in range(count)))
    return ids_


def posts(council: Harness, kind: str) -> list[Message]:
    """The channel's top-level messages posted as one kind (an escalation's own, or a storm's)."""
    return [m for m in council.fake.messages("C0COUNCIL") if (m.metadata or {}).get("event_type") == kind]


async def grouped(council: Harness, contains: str = "") -> Message:
    """Wait for the storm's grouped message to read `contains`; return it."""

    def found() -> Message | None:
        for message in posts(council, STORM_POST):
            if contains in council.fake.rendered_text(message):
                return message
        return None

    return await council.fake.wait_for(found, timeout=60)


def button(message: Message | dict[str, Any], action_id: str) -> str | None:
    for block in message["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return str(element["value"])
    return None


async def click_grouped(council: Harness, user: str, action_id: str) -> None:
    message = await grouped(council)
    value = button(message, action_id)
    assert value is not None, f"no {action_id} on the grouped message"
    body = council.fake.block_action_body(
        user, action_id, value, channel_id="C0COUNCIL", message_ts=message.ts
    )
    response = await council.slack(body)
    assert response.status == 200


async def opened_view(council: Harness, user: str, before: int) -> dict[str, Any]:
    views = await council.fake.wait_for(lambda: [v for v in council.fake.views[before:] if v.user == user])
    return dict(views[-1].view)


async def bulk_reject(council: Harness, user: str, reason: str) -> dict[str, Any]:
    """Click Reject all pending, read the modal, submit it with a reason; return the modal shown."""
    before = len(council.fake.views)
    await click_grouped(council, user, ids.STORM_REJECT_ALL)
    modal = await opened_view(council, user, before)
    body = council.fake.view_submission_body(
        user,
        modal["callback_id"],
        {ids.REASON_BLOCK: {ids.REASON_INPUT: reason}},
        private_metadata=modal["private_metadata"],
    )
    response = await council.slack(body)
    assert response.status == 200
    return modal


async def settled(council: Harness) -> None:
    """Wait until the outbox has delivered everything (callbacks included)."""

    async def idle() -> bool:
        return not await OutboxItem.filter(status=Delivery.PENDING).exists()

    for _ in range(1200):
        if await idle():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the outbox never emptied\n{council.fake.dump()}")


async def stormed(storm_ids: list[str]) -> list[Escalation]:
    return await Escalation.filter(public_id__in=storm_ids, storm_id__isnull=False).order_by("id")


async def audited(action: str) -> AuditEvent:
    for _ in range(1200):
        found = await AuditEvent.filter(action=action).order_by("-id").first()
        if found is not None:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {action} in the audit")
