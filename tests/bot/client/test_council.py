"""The async client against the real app on a port: typed answers, typed refusals, the long poll."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from bot.api_out import AgentOut, EscalationOut
from bot.client import Conflict, CouncilClient, Forbidden, Invalid, NotFound, Unauthorized
from bot.services import agents
from bot.slack import ids
from models import Escalation
from tests.harness import REFUND, Harness


def client(council: Harness, key: str | None = None) -> CouncilClient:
    return CouncilClient(council.url, key or council.creds.api_key, backoff=0.01)


async def test_escalate_answers_the_apis_own_model(council: Harness) -> None:
    async with client(council) as agent:
        escalation = await agent.escalate(**REFUND)
    assert isinstance(escalation, EscalationOut)
    assert escalation.id.startswith("esc_") and escalation.status == "pending"
    assert escalation.action.amount == Decimal("1250") and escalation.council == "ai-council"
    assert await Escalation.filter(public_id=escalation.id).count() == 1


async def test_an_idempotency_key_replays_to_the_same_escalation(council: Harness) -> None:
    async with client(council) as agent:
        first = await agent.escalate(idempotency_key="refund-1042", **REFUND)
        again = await agent.escalate(idempotency_key="refund-1042", **REFUND)
        with pytest.raises(Conflict) as reused:
            await agent.escalate(idempotency_key="refund-1042", **{**REFUND, "title": "Another"})
        # Without a key of the caller's, each call makes its own: two calls are two escalations.
        one, two = await agent.escalate(**REFUND), await agent.escalate(**REFUND)
    assert again.id == first.id and one.id != two.id
    assert reused.value.status == 409 and reused.value.code == "idempotency_conflict"
    assert await Escalation.all().count() == 3


async def test_wait_for_decision_returns_the_councils_decision(council: Harness) -> None:
    async with client(council) as agent:
        escalation = await agent.escalate(**REFUND)
        waiting = asyncio.create_task(agent.wait_for_decision(escalation.id, timeout=120))
        await council.click("U0TECH001", ids.APPROVE, escalation.id)
        await council.click("U0FIN0001", ids.APPROVE, escalation.id)
        decided = await asyncio.wait_for(waiting, timeout=60)
    assert decided.status == "approved" and decided.decision is not None
    assert decided.decision.outcome == "approved" and decided.decision.decided_by == "council"
    assert {vote.user for vote in decided.decision.votes} == {"U0TECH001", "U0FIN0001"}


async def test_wait_for_decision_gives_back_a_pending_one_at_its_timeout(council: Harness) -> None:
    async with client(council) as agent:
        escalation = await agent.escalate(**REFUND)
        still = await agent.wait_for_decision(escalation.id, timeout=0.2)
    assert still.id == escalation.id and still.status == "pending" and still.decision is None


async def test_a_refused_field_is_invalid_with_the_apis_details(council: Harness) -> None:
    async with client(council) as agent:
        with pytest.raises(Invalid) as refused:
            await agent.escalate(kind="approval", title="Refund", risk="enormous")
    assert refused.value.status == 422 and refused.value.code == "validation_failed"
    assert [problem.field for problem in refused.value.details] == ["risk"]


async def test_a_wrong_key_is_unauthorized(council: Harness) -> None:
    async with client(council, "ck_not-a-key-council-made") as agent:
        with pytest.raises(Unauthorized) as refused:
            await agent.me()
    assert refused.value.status == 401


async def test_another_agents_escalation_is_not_found(council: Harness) -> None:
    other = await agents.create(
        name="other-bot", owner="U0OWNER01", council="ai-council", server_key=b"k" * 32
    )
    async with client(council) as agent, client(council, other.api_key) as stranger:
        escalation = await agent.escalate(**REFUND)
        with pytest.raises(NotFound) as hidden:
            await stranger.get(escalation.id)
    assert hidden.value.status == 404


async def test_amend_withdraw_and_a_second_withdraw_conflicts(council: Harness) -> None:
    async with client(council) as agent:
        escalation = await agent.escalate(**REFUND)
        amended = await agent.amend(escalation.id, action={**REFUND["action"], "amount": "900"})
        withdrawn = await agent.withdraw(escalation.id, reason="customer cancelled")
        with pytest.raises(Conflict) as again:
            await agent.withdraw(escalation.id)
    assert amended.version == 2 and amended.action.amount == Decimal("900")
    assert withdrawn.status == "withdrawn"
    assert again.value.code == "escalation_closed"


async def test_report_execution_within_and_beyond_the_approval(council: Harness) -> None:
    async with client(council) as agent:
        escalation = await agent.escalate(**REFUND)
        await council.click("U0TECH001", ids.APPROVE, escalation.id)
        await council.click("U0FIN0001", ids.APPROVE, escalation.id)
        await agent.wait_for_decision(escalation.id, timeout=60)
        reported = await agent.report_execution(escalation.id, amount=Decimal("1250"), currency="USD")
        second = await agent.escalate(**REFUND)
        await council.click("U0TECH001", ids.APPROVE, second.id)
        await council.click("U0FIN0001", ids.APPROVE, second.id)
        await agent.wait_for_decision(second.id, timeout=60)
        beyond = await agent.report_execution(second.id, amount="5000", currency="USD", details="typo")
        me = await agent.me()
        with pytest.raises(Forbidden) as paused:
            await agent.escalate(**REFUND)
    assert reported.execution is not None and reported.execution.within_approval
    assert beyond.execution is not None and not beyond.execution.within_approval
    assert isinstance(me, AgentOut) and me.name == "refund-bot" and me.status == "paused"
    assert paused.value.code == "agent_paused"


def test_arguments_that_would_change_the_request_are_refused_before_sending() -> None:
    agent = CouncilClient("http://127.0.0.1:9", "ck_key")
    with pytest.raises(ValueError, match="not an escalation id"):
        asyncio.run(agent.get("esc_1/../../agents/me"))
    with pytest.raises(ValueError, match="wait must be 0 to 60"):
        asyncio.run(agent.get("esc_00", wait=61))
    with pytest.raises(ValueError, match="http:// or https://"):
        CouncilClient("council.example.com", "ck_key")
    with pytest.raises(ValueError, match="api_key is empty"):
        CouncilClient("http://council", "")


async def test_float_amounts_go_out_as_the_decimals_they_print_as(council: Harness) -> None:
    async with client(council) as agent:
        escalation = await agent.escalate(**{**REFUND, "action": {**REFUND["action"], "amount": 1250.5}})
        big = await agent.escalate(**{**REFUND, "action": {**REFUND["action"], "amount": 1e6}})
        with pytest.raises(ValueError, match="finite"):
            await agent.escalate(**{**REFUND, "action": {**REFUND["action"], "amount": float("nan")}})
    assert escalation.action.amount == Decimal("1250.5") and big.action.amount == Decimal("1000000")


async def test_a_closed_client_refuses_calls_rather_than_opening_a_session(council: Harness) -> None:
    agent = client(council)
    await agent.me()
    await agent.close()
    with pytest.raises(RuntimeError, match="closed"):
        await agent.me()


@pytest.mark.parametrize("odd", ["esc_١٢٣", "esc_ß", "esc_", "esc_ab/../x", "ESC_ab"])
def test_an_id_that_is_not_councils_is_refused_before_sending(odd: str) -> None:
    with pytest.raises(ValueError, match="not an escalation id"):
        asyncio.run(CouncilClient("http://127.0.0.1:9", "ck_key").get(odd))
