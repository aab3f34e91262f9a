"""Storm control end to end: a flood becomes one grouped message, and the council acts on it there."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from bot.app_keys import RUNTIME
from bot.outbox.slack_effects import METADATA_EVENT as ESCALATION_POST
from bot.outbox.storm_effects import METADATA_EVENT as STORM_POST
from bot.services import storms
from bot.settings import Settings
from bot.slack import ids
from models import AuditEvent, Escalation, OutboxItem, Storm, Vote
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


@pytest.mark.parametrize("limits", ["{}"])
async def test_a_flood_of_a_thousand_posts_the_threshold_then_one_grouped_message(council: Harness) -> None:
    """1,000 council-bound escalations from one agent, eight at a time, with the default storm_after (20).

    The first 20 within the minute are posted one by one; every later one joins the storm, so the
    channel gets at most storm_after + 1 top-level messages: exactly 20 of its own plus one grouped.
    """
    sent = await flood(council, 1000)
    assert len(set(sent)) == 1000
    message = await grouped(council, "980 escalations")
    await settled(council)
    assert len(posts(council, ESCALATION_POST)) == 20
    assert len(posts(council, STORM_POST)) == 1
    assert len(council.fake.messages("C0COUNCIL")) == 21
    text = council.fake.rendered_text(message)
    assert "980 escalations" in text and "$196,000 requested" in text and "980 waiting" in text
    assert "@U0OWNER01" in text
    # Every one keeps its own id, status and API answer.
    assert await Escalation.filter(storm_id__isnull=False).count() == 980
    for public_id in sent[::50]:
        status, body = await council.get(public_id)
        assert status == 200 and body["status"] == "pending" and body["id"] == public_id
    assert await AuditEvent.filter(action="storm.started").count() == 1
    # The grouped message's updates were coalesced: far fewer re-renders than escalations.
    updates = [c for c in council.fake.calls if c.method == "chat.update" and c.ok]
    assert 1 <= len(updates) < 980


async def test_a_veto_holder_rejects_all_pending_each_once_with_a_callback_each(council: Harness) -> None:
    sent = await flood(council, 10)
    in_storm = [e.public_id for e in await stormed(sent)]
    assert len(in_storm) == 7  # storm_after is 3
    await grouped(council, "7 waiting")
    modal = await bulk_reject(council, "U0PEOPLE1", "A flood of refunds: stop and investigate.")
    assert "decides all 7 by itself" in str(modal["blocks"])
    await grouped(council, "0 waiting")
    await settled(council)
    for escalation in await stormed(sent):
        status, body = await council.get(escalation.public_id)
        decision = body["decision"]
        assert body["status"] == "rejected" and decision["decided_by"] == "council"
        assert any("A flood of refunds: stop and investigate." in r for r in decision["reasons"])
    # The three posted on their own are not part of the storm and still wait.
    assert await Escalation.filter(public_id__in=sent, storm_id__isnull=True, status="pending").count() == 3
    called = Counter(event["escalation"]["id"] for event in council.sink.events())
    assert called == dict.fromkeys(in_storm, 1)
    audit = await AuditEvent.get(action="storm.rejected_all")
    assert audit.actor_id == "U0PEOPLE1" and audit.payload["rejected"] == 7


async def test_a_members_bulk_reject_casts_votes_and_the_rules_decide(council: Harness) -> None:
    sent = await flood(council, 8)
    in_storm = [e.public_id for e in await stormed(sent)]
    await grouped(council, f"{len(in_storm)} waiting")
    modal = await bulk_reject(council, "U0TECH001", "Looks automated.")
    assert "cast on each of the 5" in str(modal["blocks"])
    audit = await _audit("storm.rejected_all")
    assert audit.payload == {"reason": "Looks automated.", "rejected": 0, "voted": 5, "skipped": 0}
    assert await Escalation.filter(public_id__in=in_storm, status="pending").count() == 5
    assert council.sink.events() == []
    # A second member's Reject reaches the majority on each: the rules decide, not the button.
    await bulk_reject(council, "U0FIN0001", "Agreed.")
    await grouped(council, "0 waiting")
    await settled(council)
    assert await Escalation.filter(public_id__in=in_storm, status="rejected").count() == 5
    assert Counter(e["escalation"]["id"] for e in council.sink.events()) == dict.fromkeys(in_storm, 1)


async def _audit(action: str) -> AuditEvent:
    for _ in range(1200):
        found = await AuditEvent.filter(action=action).order_by("-id").first()
        if found is not None:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {action} in the audit")


async def test_pause_agent_from_the_grouped_message(council: Harness) -> None:
    await flood(council, 5)
    await grouped(council, "2 waiting")
    await click_grouped(council, "U0FIN0001", ids.STORM_PAUSE)
    paused = await grouped(council, "is paused")
    assert button(paused, ids.STORM_PAUSE) is None
    status, body = await council.escalate(refund(99))
    assert status == 403 and body["error"]["code"] == "agent_paused"
    audit = await _audit("storm.paused_agent")
    assert audit.actor_id == "U0FIN0001"


async def test_someone_off_the_council_cannot_pause_from_the_grouped_message(council: Harness) -> None:
    await flood(council, 5)
    await grouped(council, "2 waiting")
    await click_grouped(council, "U0STRANGER", ids.STORM_PAUSE)
    await council.fake.wait_for(lambda: council.fake.responses)
    assert "Only the council" in str(council.fake.responses[-1].body)
    status, _ = await council.escalate(refund(99))
    assert status == 201


async def test_review_individually_pages_ten_at_a_time_with_vote_buttons(council: Harness) -> None:
    sent = await flood(council, 28)
    in_storm = [e.public_id for e in await stormed(sent)]
    assert len(in_storm) == 25
    await grouped(council, "25 waiting")
    before = len(council.fake.views)
    await click_grouped(council, "U0TECH001", ids.STORM_REVIEW)
    page = await opened_view(council, "U0TECH001", before)
    shown = _listed(page)
    assert shown == in_storm[:10] and "page 1 of 3" in str(page["blocks"])
    assert button(page, ids.REVIEW_PREVIOUS) is None

    page = await _turn(council, page, ids.REVIEW_NEXT)
    assert _listed(page) == in_storm[10:20] and "page 2 of 3" in str(page["blocks"])
    page = await _turn(council, page, ids.REVIEW_NEXT)
    assert _listed(page) == in_storm[20:] and button(page, ids.REVIEW_NEXT) is None
    page = await _turn(council, page, ids.REVIEW_PREVIOUS)
    assert _listed(page) == in_storm[10:20]

    # A vote from the page counts, and the page shows it.
    target = in_storm[12]
    page = await _turn(council, page, ids.REVIEW_APPROVE, block=ids.review_block(target))
    assert "your vote: *Approve*" in str(page["blocks"])
    status, body = await council.get(target)
    assert status == 200 and body["status"] == "pending"
    # Reject asks for a reason on top of the page, as Reject always does.
    before = len(council.fake.views)
    click = council.fake.block_action_body(
        "U0TECH001", ids.REVIEW_REJECT, None, view=page, block_id=ids.review_block(in_storm[13])
    )
    await council.slack(click)
    pushed = await council.fake.wait_for(
        lambda: [v for v in council.fake.views[before:] if v.action == "push"]
    )
    reason = council.fake.view_submission_body(
        "U0TECH001",
        pushed[-1].view["callback_id"],
        {ids.REASON_BLOCK: {ids.REASON_INPUT: "Duplicate of another refund."}},
        private_metadata=pushed[-1].view["private_metadata"],
    )
    await council.slack(reason)
    escalation = await Escalation.get(public_id=in_storm[13])
    votes = await Vote.filter(escalation=escalation)
    assert [(v.user_id, v.choice, v.reason) for v in votes] == [
        ("U0TECH001", "reject", "Duplicate of another refund.")
    ]


async def test_a_vote_refused_on_the_review_page_is_said_on_the_page(council: Harness) -> None:
    sent = await flood(council, 5)
    target = (await stormed(sent))[0].public_id
    await grouped(council, "2 waiting")
    before = len(council.fake.views)
    await click_grouped(council, "U0STRANGER", ids.STORM_REVIEW)
    page = await opened_view(council, "U0STRANGER", before)
    page = await _turn(council, page, ids.REVIEW_APPROVE, block=ids.review_block(target), user="U0STRANGER")
    assert "You are not on this council" in str(page["blocks"])
    assert await Vote.filter(escalation__public_id=target).count() == 0


def _listed(view: dict[str, Any]) -> list[str]:
    return [
        block["block_id"].removeprefix("council_review_")
        for block in view["blocks"]
        if block.get("block_id", "").startswith("council_review_esc_")
    ]


async def _turn(
    council: Harness,
    view: dict[str, Any],
    action_id: str,
    *,
    block: str | None = None,
    user: str = "U0TECH001",
) -> dict[str, Any]:
    """Click a button inside the review modal; return the modal as it was updated."""
    before = len(council.fake.views)
    current = council.fake.find_view(view_id=view["id"])
    click = council.fake.block_action_body(user, action_id, None, view=current, block_id=block)
    response = await council.slack(click)
    assert response.status == 200
    updated = await council.fake.wait_for(
        lambda: [v for v in council.fake.views[before:] if v.action == "update" and v.view_id == view["id"]]
    )
    return dict(updated[-1].view)


@pytest.mark.parametrize("limits", ["{storm_after: 3, auto_pause_after: 6}"])
async def test_auto_pause_after_pauses_the_agent_and_tells_its_owner(council: Harness) -> None:
    answers = [await council.escalate(refund(n)) for n in range(8)]
    assert [status for status, _ in answers] == [201] * 6 + [403] * 2
    assert answers[-1][1]["error"]["code"] == "agent_paused"
    message = await grouped(council, "Council paused refund-bot itself")
    assert "3 waiting" in council.fake.rendered_text(message)
    dms = await council.fake.wait_for(lambda: council.fake.dms("U0OWNER01"))
    assert "auto_pause_after" in dms[0].text and "refund-bot" in dms[0].text
    assert len(dms) == 1
    status, me = await council.api("GET", "/agents/me")
    assert status == 200 and me["status"] == "paused"
    audit = await _audit("agent.paused")
    assert audit.actor_id == "storm-control"


async def test_the_storm_ends_after_a_quiet_spell_with_a_final_summary(council: Harness) -> None:
    await flood(council, 6)
    await flood(council, 2, start=100, amount=20)  # auto-approved within the budget, counted too
    await grouped(council, "5 escalations")
    rt = council.app[RUNTIME]
    storm = await Storm.get(agent__name="refund-bot")
    assert await storms.end_quiet(rt, now=storm.last_at + timedelta(minutes=4)) == 0
    assert await storms.end_quiet(rt, now=storm.last_at + timedelta(minutes=5, seconds=1)) == 1
    final = await grouped(council, "final summary")
    text = council.fake.rendered_text(final)
    assert "Storm over" in text and "2 auto-approved ($40)" in text and "3 waiting" in text
    assert await AuditEvent.filter(action="storm.ended").count() == 1
    assert (await Storm.get(id=storm.id)).open_agent_id is None
    # Once over, the next flood is a storm of its own, with a message of its own.
    await flood(council, 1, start=200)
    await council.fake.wait_for(lambda: len(posts(council, STORM_POST)) == 2, timeout=60)


async def test_untrusted_titles_are_escaped_on_the_review_page(council: Harness) -> None:
    for n in range(5):
        await council.escalate({**refund(n), "title": "<!channel> <https://evil.example|click> & co"})
    await grouped(council, "2 waiting")
    before = len(council.fake.views)
    await click_grouped(council, "U0TECH001", ids.STORM_REVIEW)
    raw = str((await opened_view(council, "U0TECH001", before))["blocks"])
    assert "<!channel>" not in raw and "<https://evil.example" not in raw
    assert "&lt;!channel&gt; &lt;https://evil.example|click&gt; &amp; co" in raw
