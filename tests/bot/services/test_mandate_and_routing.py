"""Policies, the agent's mandate and the frozen snapshot, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.errors import RateLimited
from bot.governance import Choice
from bot.runtime import Runtime
from bot.schemas import EscalationIn
from bot.services import agents, config, escalations, votes
from bot.services.agents import Credentials
from bot.services.votes import Ballot
from models import Decision, Escalation, OutboxItem

MANDATE_YML = """
admins: [U0ADMIN01]
councils:
  - name: ai-council
    channel: C0COUNCIL
    members:
      - {user: U0PEOPLE1, function: people, role: chair}
      - {user: U0TECH001, function: technology}
      - {user: U0FIN0001, function: finance}
  - name: legal-council
    channel: C0LEGAL01
    members:
      - {user: U0LEGAL01, function: legal, role: chair}
      - {user: U0LEGAL02, function: legal}
agents:
  - name: refund-bot
    owner: U0OWNER01
    council: ai-council
    limits: {auto_budget_24h: 5000, rate_per_minute: 30}
policies:
  - {name: small-refunds, match: {agent: refund-bot, category: refunds, amount_lt: 3000}, decide: approve}
  - {name: no-crypto, match: {category: crypto}, decide: reject}
  - name: contracts
    match: {category: contracts}
    council: legal-council
    rule: {type: unanimous}
    deadline: 2h
  - {name: refunds, match: {category: refunds}, rule: {type: majority, quorum: 2}}
defaults: {council: ai-council, rule: {type: single}, deadline: 8h}
"""


@pytest.fixture
async def mandated(database: str, rt: Runtime) -> Credentials:
    await config.apply_text(MANDATE_YML, source="council.yml")
    return await agents.create(name="refund-bot", owner="U0OWNER01", council=None, server_key=rt.server_key)


async def _escalate(rt: Runtime, creds: Credentials, **body: Any) -> Escalation:
    agent = await agents.authenticate(f"Bearer {creds.api_key}")
    request = EscalationIn.model_validate({"kind": "approval", "title": "Refund", **body})
    escalation, _ = await escalations.create(rt, agent=agent, body=request, idempotency_key=None)
    return escalation


async def test_concurrent_requests_never_overshoot_the_budget(rt: Runtime, mandated: Credentials) -> None:
    refund = {"category": "refunds", "action": {"amount": 1000, "currency": "USD"}}
    opened = await asyncio.gather(*(_escalate(rt, mandated, **refund) for _ in range(10)))
    statuses = sorted(e.status for e in opened)
    assert statuses == ["approved"] * 5 + ["pending"] * 5
    approved = await Decision.filter(decided_by="policy", outcome="approved").values_list(
        "approved_amount", flat=True
    )
    assert sum(approved) == 5000


async def test_policy_reject_is_recorded_with_its_name(rt: Runtime, mandated: Credentials) -> None:
    escalation = await _escalate(rt, mandated, category="crypto")
    decision = await Decision.get(escalation=escalation)
    assert escalation.status == "rejected" and decision.decided_by == "policy"
    assert decision.reasons == ["rejected by policy no-crypto"] and escalation.policy_name == "no-crypto"
    assert not await OutboxItem.filter(escalation=escalation, kind="escalation.opened").exists()


async def test_first_matching_policy_routes_to_its_council_and_rule(
    rt: Runtime, mandated: Credentials
) -> None:
    escalation = await _escalate(rt, mandated, category="contracts")
    assert escalation.policy_name == "contracts" and escalation.channel_id == "C0LEGAL01"
    assert escalation.rule["type"] == "unanimous"
    assert [e["user"] for e in escalation.electorate] == ["U0LEGAL01", "U0LEGAL02"]
    hours = (escalation.deadline - escalation.created_at).total_seconds() / 3600
    assert round(hours, 2) == 2


async def test_unmatched_escalation_goes_to_the_default_route(rt: Runtime, mandated: Credentials) -> None:
    escalation = await _escalate(rt, mandated, category="marketing")
    assert escalation.status == "pending" and escalation.policy_name is None
    assert escalation.channel_id == "C0COUNCIL" and escalation.rule["type"] == "single"
    assert escalation.route_reason == "no policy matched: default route"
    assert await OutboxItem.filter(escalation=escalation, kind="escalation.opened").exists()


async def test_later_edits_never_change_an_open_vote(rt: Runtime, mandated: Credentials) -> None:
    escalation = await _escalate(rt, mandated, category="refunds", action={"amount": 9000, "currency": "USD"})
    frozen_rule, frozen_electorate = escalation.rule, escalation.electorate
    edited = MANDATE_YML.replace("rule: {type: majority, quorum: 2}", "rule: {type: unanimous}").replace(
        "      - {user: U0FIN0001, function: finance}\n", "      - {user: U0NEW0001, function: finance}\n"
    )
    report = await config.apply_text(edited, source="council.yml")
    assert any("U0FIN0001 removed" in change for change in report.changes)
    await escalation.refresh_from_db()
    assert escalation.rule == frozen_rule and escalation.electorate == frozen_electorate
    # The removed member keeps their seat on this vote; the new one has none.
    await votes.cast(rt, public_id=escalation.public_id, user="U0FIN0001", ballot=Ballot(Choice.APPROVE))
    result = await votes.cast(
        rt, public_id=escalation.public_id, user="U0TECH001", ballot=Ballot(Choice.APPROVE)
    )
    assert result.verdict.outcome == "approved"


async def test_rate_limit_answers_with_retry_after(rt: Runtime, mandated: Credentials) -> None:
    for _ in range(30):
        await _escalate(rt, mandated, category="marketing")
    with pytest.raises(RateLimited) as limited:
        await _escalate(rt, mandated, category="marketing")
    assert 1 <= limited.value.retry_after <= 60
