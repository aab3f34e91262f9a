"""The core loop on a real database: escalate, vote, decide, and what is queued to tell people."""

from __future__ import annotations

import pytest

from bot.errors import Conflict, EscalationClosed, Forbidden, Invalid, NotAMember
from bot.governance import Choice
from bot.runtime import Runtime
from bot.schemas import EscalationIn
from bot.services import agents, audit, escalations, votes
from bot.services.agents import Credentials
from bot.services.votes import Ballot
from models import AuditEvent, Decision, OutboxItem, Vote

REFUND = {
    "kind": "approval",
    "title": "Refund order 1042",
    "summary": "Customer double-charged",
    "action": {"type": "refund", "amount": "1250.00", "currency": "usd", "target": "order 1042"},
    "callback_url": "http://127.0.0.1:9/callback",
}


async def _open(rt: Runtime, creds: Credentials, key: str | None = None, **changes: object):
    agent = await agents.authenticate(f"Bearer {creds.api_key}")
    body = EscalationIn.model_validate({**REFUND, **changes})
    return await escalations.create(rt, agent=agent, body=body, idempotency_key=key)


async def test_escalation_freezes_rule_and_electorate_and_queues_one_post(
    rt: Runtime, credentials: Credentials
) -> None:
    escalation, created = await _open(rt, credentials)
    assert created and escalation.status == "pending"
    assert escalation.rule["type"] == "majority" and escalation.rule["quorum"] == 2
    assert [e["user"] for e in escalation.electorate] == ["U0PEOPLE1", "U0TECH001", "U0FIN0001"]
    assert escalation.currency == "USD"
    kinds = await OutboxItem.filter(escalation=escalation).values_list("kind", flat=True)
    assert kinds == ["escalation.opened"]


async def test_majority_closes_early_and_queues_update_reply_and_callback(
    rt: Runtime, credentials: Credentials
) -> None:
    escalation, _ = await _open(rt, credentials)
    first = await votes.cast(
        rt, public_id=escalation.public_id, user="U0TECH001", ballot=Ballot(Choice.APPROVE, reason=None)
    )
    assert not first.verdict.decided
    second = await votes.cast(
        rt,
        public_id=escalation.public_id,
        user="U0FIN0001",
        ballot=Ballot(Choice.APPROVE, reason="within policy"),
    )
    assert second.verdict.decided and second.verdict.outcome == "approved"
    decision = await Decision.get(escalation_id=escalation.id)
    assert decision.decided_by == "council"
    assert decision.tally["approve"] == 2 and decision.tally["waiting"] == 1
    assert {v["user"]: v["reason"] for v in decision.votes} == {
        "U0TECH001": None,
        "U0FIN0001": "within policy",
    }
    kinds = await OutboxItem.filter(escalation=escalation).order_by("id").values_list("kind", flat=True)
    assert kinds[-2:] == ["escalation.decided", "agent.callback"]
    callback = await OutboxItem.filter(escalation=escalation, kind="agent.callback").get()
    assert callback.payload["body"]["type"] == "escalation.decided"
    assert callback.payload["body"]["id"].startswith("evt_")
    assert callback.payload["body"]["escalation"]["decision"]["outcome"] == "approved"
    with pytest.raises(EscalationClosed):
        await votes.cast(
            rt, public_id=escalation.public_id, user="U0PEOPLE1", ballot=Ballot(Choice.REJECT, reason="late")
        )


async def test_a_vote_can_change_until_close_and_one_row_per_member(
    rt: Runtime, credentials: Credentials
) -> None:
    escalation, _ = await _open(rt, credentials)
    await votes.cast(
        rt, public_id=escalation.public_id, user="U0TECH001", ballot=Ballot(Choice.APPROVE, reason=None)
    )
    changed = await votes.cast(
        rt, public_id=escalation.public_id, user="U0TECH001", ballot=Ballot(Choice.ABSTAIN, reason=None)
    )
    assert changed.changed_from == "approve"
    assert await Vote.filter(escalation=escalation).count() == 1
    actions = await AuditEvent.filter(subject=escalation.public_id).values_list("action", flat=True)
    assert actions == ["escalation.created", "vote.cast", "vote.changed"]


async def test_outsider_and_reasonless_reject_record_nothing(rt: Runtime, credentials: Credentials) -> None:
    escalation, _ = await _open(rt, credentials)
    with pytest.raises(NotAMember):
        await votes.cast(
            rt, public_id=escalation.public_id, user="U0STRANGER", ballot=Ballot(Choice.APPROVE, reason=None)
        )
    with pytest.raises(Invalid):
        await votes.cast(
            rt, public_id=escalation.public_id, user="U0TECH001", ballot=Ballot(Choice.REJECT, reason="  ")
        )
    assert await Vote.filter(escalation=escalation).count() == 0


async def test_idempotency_replays_and_conflicts(rt: Runtime, credentials: Credentials) -> None:
    first, created = await _open(rt, credentials, key="order-1042")
    again, created_again = await _open(rt, credentials, key="order-1042")
    assert created and not created_again and again.id == first.id
    with pytest.raises(Conflict):
        await _open(rt, credentials, key="order-1042", title="Refund order 9999")


async def test_paused_agent_is_refused(rt: Runtime, credentials: Credentials) -> None:
    await agents.set_status(name="refund-bot", status="paused", reason="overspent", actor="U0ADMIN01")
    with pytest.raises(Forbidden) as refused:
        await _open(rt, credentials)
    assert refused.value.code == "agent_paused"


async def test_audit_chain_verifies_and_detects_tampering(rt: Runtime, credentials: Credentials) -> None:
    escalation, _ = await _open(rt, credentials)
    await votes.cast(
        rt, public_id=escalation.public_id, user="U0TECH001", ballot=Ballot(Choice.APPROVE, reason=None)
    )
    verdict = await audit.verify()
    assert verdict.intact and verdict.head.count >= 4
    event = await AuditEvent.filter(action="vote.cast").get()
    await AuditEvent.filter(id=event.id).update(payload={"choice": "reject"})
    assert (await audit.verify()).broken_at == event.id
