"""Governance end to end: real rules through signed clicks, amend, withdraw, budget, execution."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.services import agents
from bot.settings import Settings
from bot.slack import ids
from models import AuditEvent, Escalation, Vote
from tests.fakeslack import signed_headers
from tests.harness import REFUND, SIGNING_SECRET, Harness, running_council

GOVERNED = """
admins: [U0ADMIN01]
councils:
  - name: ai-council
    channel: C0COUNCIL
    members:
      - {user: U0PEOPLE1, function: people, role: chair}
      - {user: U0TECH001, function: technology}
      - {user: U0FIN0001, function: finance}
      - {user: U0LEGAL01, function: legal}
agents:
  - name: refund-bot
    owner: U0OWNER01
    council: ai-council
    limits: {max_amount: 100000, auto_budget_24h: 5000}
policies:
  - {name: small-refunds, match: {agent: refund-bot, category: refunds, amount_lt: 3000}, decide: approve}
  - name: cross-functional
    match: {category: cross}
    rule: {type: majority, quorum: 2, require_functions: [people, technology]}
  - {name: vetoed, match: {category: veto}, rule: {type: majority, veto: [chair]}}
  - {name: unanimous, match: {category: unanimous}, rule: {type: unanimous}}
  - {name: majority, match: {kind: approval}, rule: {type: majority}}
defaults: {council: ai-council}
"""


@pytest.fixture
async def governed(settings: Settings) -> AsyncIterator[Harness]:
    async with running_council(settings, council_yml=GOVERNED) as harness:
        yield harness


async def _open(council: Harness, **changes: Any) -> str:
    status, body = await council.escalate({**REFUND, "callback_url": council.sink.url, **changes})
    assert status == 201, body
    await council.posted(body["id"])
    return str(body["id"])


async def _status(council: Harness, esc: str) -> dict[str, Any]:
    _, body = await council.get(esc)
    return body


async def _settled(council: Harness, esc: str) -> dict[str, Any]:
    _, body = await council.get(esc, wait=10)
    return body


async def test_cross_functional_quorum_waits_for_the_missing_function(governed: Harness) -> None:
    esc = await _open(governed, category="cross")
    await governed.click("U0TECH001", ids.APPROVE, esc)
    await governed.click("U0FIN0001", ids.APPROVE, esc)
    await governed.fake.wait_for(lambda: "Approve 2" in governed.message_text(esc))
    assert (await _status(governed, esc))["status"] == "pending"
    assert "[Approve]" in governed.message_text(esc)
    await governed.click("U0PEOPLE1", ids.APPROVE, esc)
    decided = await _settled(governed, esc)
    assert decided["status"] == "approved" and decided["decision"]["tally"]["approve"] == 3


async def test_chair_veto_rejects_a_two_nil_vote(governed: Harness) -> None:
    esc = await _open(governed, category="veto")
    await governed.click("U0TECH001", ids.APPROVE, esc)
    await governed.click("U0FIN0001", ids.APPROVE, esc)
    await governed.fake.wait_for(lambda: "Approve 2" in governed.message_text(esc))
    assert (await _status(governed, esc))["status"] == "pending"
    await governed.reject("U0PEOPLE1", esc, "Fraud pattern; the chair vetoes.")
    decided = await _settled(governed, esc)
    assert decided["status"] == "rejected"
    assert "veto" in decided["decision"]["reasons"][0]
    event = (await governed.fake.wait_for(lambda: governed.sink.events()))[0]
    assert event["escalation"]["decision"]["outcome"] == "rejected"


async def test_unanimity_closes_on_the_first_reject(governed: Harness) -> None:
    esc = await _open(governed, category="unanimous")
    await governed.reject("U0LEGAL01", esc, "Not compliant.")
    decided = await _settled(governed, esc)
    assert decided["status"] == "rejected"
    assert decided["decision"]["tally"]["waiting"] == 3
    final = await governed.fake.wait_for(
        lambda: "Rejected" in governed.message_text(esc) and governed.message_text(esc)
    )
    assert "[Approve]" not in final


async def test_a_tie_with_everyone_voted_fails(governed: Harness) -> None:
    esc = await _open(governed)
    await governed.click("U0TECH001", ids.APPROVE, esc)
    await governed.click("U0FIN0001", ids.APPROVE, esc)
    await governed.reject("U0PEOPLE1", esc, "Too large.")
    await governed.fake.wait_for(lambda: "Reject 1" in governed.message_text(esc))
    assert (await _status(governed, esc))["status"] == "pending"
    await governed.reject("U0LEGAL01", esc, "No contract basis.")
    decided = await _settled(governed, esc)
    assert decided["status"] == "rejected" and "tie" in decided["decision"]["reasons"][0]


async def test_amend_voids_votes_and_tells_the_voters(governed: Harness) -> None:
    esc = await _open(governed)
    await governed.click("U0TECH001", ids.APPROVE, esc)
    await governed.fake.wait_for(lambda: "Approve 1" in governed.message_text(esc))
    status, amended = await governed.api(
        "PATCH", f"/escalations/{esc}", {"title": "Refund order 1042 (partial)", "action": {"amount": 600}}
    )
    assert status == 200 and amended["version"] == 2 and amended["action"]["amount"] == "600"
    assert await Vote.filter(escalation__public_id=esc).count() == 0
    text = await governed.fake.wait_for(
        lambda: "partial" in governed.message_text(esc) and governed.message_text(esc)
    )
    assert "Approve 0" in text and "*Amount*\n600\n" in text
    message = governed.fake.messages("C0COUNCIL")[0]
    reply = await governed.fake.wait_for(lambda: governed.fake.replies_of("C0COUNCIL", message.ts))
    assert "@U0TECH001" in governed.fake.rendered_text(reply[-1])
    audit = await AuditEvent.get(subject=esc, action="escalation.amended")
    assert audit.payload["before"]["title"] == "Refund order 1042"
    assert audit.payload["after"]["title"] == "Refund order 1042 (partial)"
    assert audit.payload["voided_votes"][0]["user"] == "U0TECH001"


async def test_withdraw_closes_and_removes_buttons(governed: Harness) -> None:
    esc = await _open(governed)
    await governed.click("U0FIN0001", ids.ABSTAIN, esc)
    status, body = await governed.api(
        "POST", f"/escalations/{esc}/withdraw", {"reason": "customer cancelled"}
    )
    assert status == 200 and body["status"] == "withdrawn"
    text = await governed.fake.wait_for(
        lambda: "Withdrawn" in governed.message_text(esc) and governed.message_text(esc)
    )
    assert "[Approve]" not in text and "customer cancelled" in text
    again, error = await governed.api("POST", f"/escalations/{esc}/withdraw", {})
    assert again == 409 and error["error"]["code"] == "escalation_closed"
    assert (await governed.click("U0TECH001", ids.APPROVE, esc)).status == 200
    assert await Vote.filter(escalation__public_id=esc, user_id="U0TECH001").count() == 0


async def test_auto_approval_budget_sends_the_overflow_to_the_council(governed: Harness) -> None:
    small = {**REFUND, "category": "refunds", "action": {"amount": 2000, "currency": "USD"}}
    first = [await governed.escalate(small) for _ in range(2)]
    assert [(s, b["status"], b["decision"]["decided_by"]) for s, b in first] == [
        (201, "approved", "policy")
    ] * 2
    status, third = await governed.escalate(small)
    assert status == 201 and third["status"] == "pending" and third["decision"] is None
    assert "auto-approval budget of $5,000 per 24 h used" in third["route"]
    await governed.posted(third["id"])
    assert "auto-approval budget of $5,000 per 24 h used" in governed.message_text(third["id"])
    assert len(governed.fake.messages("C0COUNCIL")) == 1


async def test_over_cap_is_rejected_by_the_mandate(governed: Harness) -> None:
    status, body = await governed.escalate({**REFUND, "action": {"amount": 250000, "currency": "USD"}})
    assert status == 201 and body["status"] == "rejected"
    assert body["decision"]["decided_by"] == "policy" and "hard cap" in body["decision"]["reasons"][0]


async def test_conditions_and_lower_amount_reach_the_agent(governed: Harness) -> None:
    esc = await _open(governed)
    await governed.through_modal(
        "U0TECH001",
        ids.APPROVE_WITH_CONDITIONS,
        esc,
        {
            ids.CONDITIONS_BLOCK: {ids.CONDITIONS_INPUT: "Refund to the original card only."},
            ids.AMOUNT_BLOCK: {ids.AMOUNT_INPUT: "1,000"},
        },
    )
    await governed.click("U0FIN0001", ids.APPROVE, esc)
    await governed.click("U0PEOPLE1", ids.APPROVE, esc)
    decided = await _settled(governed, esc)
    decision = decided["decision"]
    assert decided["status"] == "approved" and decision["approved_amount"] == "1000"
    assert "Refund to the original card only." in decision["conditions"]
    event = (await governed.fake.wait_for(lambda: governed.sink.events()))[0]
    assert event["escalation"]["decision"]["approved_amount"] == "1000"
    assert "original card" in event["escalation"]["decision"]["conditions"]


async def test_conditions_modal_refuses_an_amount_above_the_request(governed: Harness) -> None:
    esc = await _open(governed)
    response = await governed.through_modal(
        "U0TECH001",
        ids.APPROVE_WITH_CONDITIONS,
        esc,
        {
            ids.CONDITIONS_BLOCK: {ids.CONDITIONS_INPUT: "ok"},
            ids.AMOUNT_BLOCK: {ids.AMOUNT_INPUT: "99999"},
        },
    )
    assert response.status == 200
    assert await Vote.filter(escalation__public_id=esc).count() == 0


async def test_over_execution_opens_an_incident_and_pauses_the_agent(governed: Harness) -> None:
    esc = await _open(governed)
    await governed.through_modal(
        "U0TECH001",
        ids.APPROVE_WITH_CONDITIONS,
        esc,
        {
            ids.CONDITIONS_BLOCK: {ids.CONDITIONS_INPUT: "Partial refund."},
            ids.AMOUNT_BLOCK: {ids.AMOUNT_INPUT: "1000"},
        },
    )
    await governed.click("U0FIN0001", ids.APPROVE, esc)
    await governed.click("U0PEOPLE1", ids.APPROVE, esc)
    assert (await _settled(governed, esc))["status"] == "approved"
    status, reported = await governed.api(
        "POST",
        f"/escalations/{esc}/execution",
        {"amount": 1250, "currency": "USD", "details": "refunded in full"},
    )
    assert status == 200
    execution = reported["execution"]
    assert (execution["proposed_amount"], execution["approved_amount"], execution["executed_amount"]) == (
        "1250",
        "1000",
        "1250",
    )
    assert execution["within_approval"] is False
    incident = await Escalation.get(kind="incident", related=esc)
    text = await governed.fake.wait_for(lambda: governed.message_text(incident.public_id))
    assert "refund-bot" in text and "U0OWNER01" in text and "[Take ownership]" in text
    blocked, error = await governed.escalate()
    assert blocked == 403 and error["error"]["code"] == "agent_paused"
    _, me = await governed.api("GET", "/agents/me")
    assert me["status"] == "paused" and esc in me["paused_reason"]
    again, _ = await governed.api("POST", f"/escalations/{esc}/execution", {"amount": 1})
    assert again == 409


async def test_execution_within_approval_changes_nothing(governed: Harness) -> None:
    esc = await _open(governed)
    for user in ("U0TECH001", "U0FIN0001", "U0PEOPLE1"):
        await governed.click(user, ids.APPROVE, esc)
    assert (await _settled(governed, esc))["status"] == "approved"
    status, reported = await governed.api("POST", f"/escalations/{esc}/execution", {"amount": 1250})
    assert status == 200 and reported["execution"]["within_approval"] is True
    assert not await Escalation.filter(kind="incident").exists()
    _, me = await governed.api("GET", "/agents/me")
    assert me["status"] == "active"


async def test_incident_is_owned_and_resolved_from_slack(governed: Harness) -> None:
    status, body = await governed.escalate(
        {"kind": "incident", "title": "Refund queue stuck", "risk": "high"}
    )
    assert status == 201 and body["status"] == "open"
    incident = body["id"]
    await governed.posted(incident)
    await governed.click("U0TECH001", ids.TAKE_OWNERSHIP, incident)
    await governed.fake.wait_for(lambda: "Owner: @U0TECH001" in governed.message_text(incident))
    await governed.through_modal(
        "U0TECH001", ids.RESOLVE, incident, {ids.NOTES_BLOCK: {ids.NOTES_INPUT: "Restarted the worker."}}
    )
    resolved = await _status(governed, incident)
    assert resolved["status"] == "resolved" and resolved["resolution"] == "Restarted the worker."
    assert resolved["owner"] == "U0TECH001"


async def test_a_vote_on_the_version_before_an_amendment_is_refused(governed: Harness) -> None:
    esc = await _open(governed)
    message = await governed.posted(esc)
    old = governed.fake.find_message("C0COUNCIL", message.message_ts or "")
    assert old is not None
    old_blocks = old.blocks
    opened_before = len(governed.fake.views)
    await governed.click("U0TECH001", ids.APPROVE_WITH_CONDITIONS, esc)
    modal = (await governed.fake.wait_for(lambda: governed.fake.views[opened_before:]))[-1].view
    status, _ = await governed.api("PATCH", f"/escalations/{esc}", {"action": {"amount": 1249}})
    assert status == 200
    body = governed.fake.view_submission_body(
        "U0TECH001",
        modal["callback_id"],
        {ids.CONDITIONS_BLOCK: {ids.CONDITIONS_INPUT: "fine"}},
        private_metadata=modal["private_metadata"],
    )
    answer = await governed.http.post(
        f"{governed.url}/slack/events", data=body.encode(), headers=signed_headers(SIGNING_SECRET, body)
    )
    errors = (await answer.json())["errors"]
    assert "now version 2" in errors[ids.CONDITIONS_BLOCK]
    stale = governed.fake.block_action_body(
        "U0FIN0001",
        ids.APPROVE,
        _value(old_blocks, ids.APPROVE),
        channel_id="C0COUNCIL",
        message_ts=message.message_ts,
    )
    await governed.slack(stale)
    told = await governed.fake.wait_for(
        lambda: [r for r in governed.fake.responses if "version 2" in r.body["text"]]
    )
    assert told and await Vote.filter(escalation__public_id=esc).count() == 0


async def test_a_paused_agent_cannot_amend(governed: Harness) -> None:
    esc = await _open(governed)
    await agents.set_status(name="refund-bot", status="paused", reason="investigating", actor="U0ADMIN01")
    status, body = await governed.api("PATCH", f"/escalations/{esc}", {"action": {"amount": 99000}})
    assert status == 403 and body["error"]["code"] == "agent_paused"


async def test_an_amendment_that_would_route_elsewhere_is_refused(governed: Harness) -> None:
    esc = await _open(governed, category="veto")
    status, body = await governed.api("PATCH", f"/escalations/{esc}", {"category": "unanimous"})
    assert status == 409 and body["error"]["code"] == "reroute_required"
    assert "policy unanimous" in body["error"]["message"]
    _, unchanged = await governed.get(esc)
    assert unchanged["category"] == "veto" and unchanged["version"] == 1


def _value(blocks: list[dict[str, Any]], action_id: str) -> str:
    return next(e["value"] for b in blocks for e in b.get("elements", []) if e.get("action_id") == action_id)
