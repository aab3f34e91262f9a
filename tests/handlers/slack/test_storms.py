"""Storm control end to end: a flood becomes one grouped message, and the council acts on it there."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest

from bot.app_keys import RUNTIME
from bot.outbox.slack_effects import METADATA_EVENT as ESCALATION_POST
from bot.outbox.storm_effects import METADATA_EVENT as STORM_POST
from bot.services import storms
from bot.slack import ids
from models import AuditEvent, Escalation, Storm
from tests.handlers.slack.storming import (
    audited,
    bulk_reject,
    button,
    click_grouped,
    council,
    flood,
    grouped,
    limits,
    opened_view,
    posts,
    refund,
    settled,
    stormed,
)
from tests.handlers.slack.test_home_and_commands import command
from tests.harness import Harness

__all__ = ["council", "limits"]


@pytest.mark.parametrize("limits", ["{}"])
async def test_a_flood_of_a_thousand_posts_the_threshold_then_one_grouped_message(council: Harness) -> None:
    """1,000 council-bound escalations from one agent, eight at a time, with the default storm_after (20).

    The first 20 within the minute are posted one by one; every later one joins the storm, so the
    channel gets at most storm_after + 1 top-level messages: exactly 20 of its own plus one grouped.
    On a loaded 2-core machine this takes about 45 to 65 seconds per database; the full thousand is
    kept, as the issue's own figure, rather than a smaller flood.
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


async def test_a_bulk_reject_submitted_twice_at_once_decides_and_calls_back_each_once(
    council: Harness,
) -> None:
    sent = await flood(council, 12)
    in_storm = [e.public_id for e in await stormed(sent)]
    await grouped(council, f"{len(in_storm)} waiting")
    before = len(council.fake.views)
    await click_grouped(council, "U0PEOPLE1", ids.STORM_REJECT_ALL)
    modal = await opened_view(council, "U0PEOPLE1", before)
    submissions = [
        council.fake.view_submission_body(
            "U0PEOPLE1",
            modal["callback_id"],
            {ids.REASON_BLOCK: {ids.REASON_INPUT: "Stop."}},
            private_metadata=modal["private_metadata"],
        )
        for _ in range(2)
    ]
    responses = await asyncio.gather(*(council.slack(body) for body in submissions))
    # A submission that found nothing left pending is refused in the modal; the others each run once.
    accepted = [r for r in responses if not await r.text()]
    assert accepted
    bulk = AuditEvent.filter(action="storm.rejected_all")
    for _ in range(1200):
        if await bulk.count() == len(accepted):
            break
        await asyncio.sleep(0.05)
    await settled(council)
    done = await bulk.values_list("payload", flat=True)
    assert len(done) == len(accepted)
    assert sum(p["rejected"] for p in done) == len(in_storm)
    assert await AuditEvent.filter(action="escalation.decided", subject__in=in_storm).count() == len(in_storm)
    assert Counter(e["escalation"]["id"] for e in council.sink.events()) == dict.fromkeys(in_storm, 1)


async def test_a_members_bulk_reject_casts_votes_and_the_rules_decide(council: Harness) -> None:
    sent = await flood(council, 8)
    in_storm = [e.public_id for e in await stormed(sent)]
    await grouped(council, f"{len(in_storm)} waiting")
    modal = await bulk_reject(council, "U0TECH001", "Looks automated.")
    assert "cast on each of the 5" in str(modal["blocks"])
    audit = await audited("storm.rejected_all")
    assert audit.payload == {"reason": "Looks automated.", "rejected": 0, "voted": 5, "skipped": 0}
    assert await Escalation.filter(public_id__in=in_storm, status="pending").count() == 5
    assert council.sink.events() == []
    # A second member's Reject reaches the majority on each: the rules decide, not the button.
    await bulk_reject(council, "U0FIN0001", "Agreed.")
    await grouped(council, "0 waiting")
    await settled(council)
    assert await Escalation.filter(public_id__in=in_storm, status="rejected").count() == 5
    assert Counter(e["escalation"]["id"] for e in council.sink.events()) == dict.fromkeys(in_storm, 1)


async def test_pause_agent_from_the_grouped_message(council: Harness) -> None:
    await flood(council, 5)
    await grouped(council, "2 waiting")
    await click_grouped(council, "U0FIN0001", ids.STORM_PAUSE)
    paused = await grouped(council, "is paused")
    assert button(paused, ids.STORM_PAUSE) is None
    status, body = await council.escalate(refund(99))
    assert status == 403 and body["error"]["code"] == "agent_paused"
    audit = await audited("storm.paused_agent")
    assert audit.actor_id == "U0FIN0001"


async def test_someone_off_the_council_cannot_pause_from_the_grouped_message(council: Harness) -> None:
    await flood(council, 5)
    await grouped(council, "2 waiting")
    await click_grouped(council, "U0STRANGER", ids.STORM_PAUSE)
    await council.fake.wait_for(lambda: council.fake.responses)
    assert "Only the council" in str(council.fake.responses[-1].body)
    status, _ = await council.escalate(refund(99))
    assert status == 201


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
    audit = await audited("agent.paused")
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
    assert (await Storm.get(id=storm.id)).open_key is None
    # Once over, the next flood is a storm of its own, with a message of its own.
    await flood(council, 1, start=200)
    await council.fake.wait_for(lambda: len(posts(council, STORM_POST)) == 2, timeout=60)


async def test_agents_and_admins_can_see_the_storm(council: Harness) -> None:
    sent = await flood(council, 5)
    await grouped(council, "2 waiting")
    storm = await Storm.get()
    alone = await Escalation.filter(public_id__in=sent, storm_id__isnull=True).values_list(
        "public_id", flat=True
    )
    for public_id in sent:
        status, body = await council.get(public_id)
        assert status == 200
        assert body["storm"] == (None if public_id in alone else f"storm-{storm.id}")
    status, me = await council.api("GET", "/agents/me")
    assert status == 200 and me["limits"] == {"storm_after": 3, "auto_budget_24h": "100"}
    answer = await command(council, "status", user="U0ADMIN01")
    assert "Storm in <#C0COUNCIL>: *refund-bot* — 2 escalations since" in answer and "2 waiting" in answer
    # Once the storm is over, status no longer lists it.
    await storms.end_quiet(council.app[RUNTIME], now=storm.last_at + timedelta(minutes=6))
    assert "Storm" not in await command(council, "status", user="U0ADMIN01")
