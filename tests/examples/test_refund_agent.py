"""The worked LLM example: the refund agent's tool loop against the real Council, members voting in Slack.

The model is scripted (no network, no model), but its later turns read the tool results, so what the
agent refunds is what the council said, not what the script was written with.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from bot.client import CouncilClient
from bot.slack import ids
from examples.refund_agent import InMemoryPayments, Refund, RefundAgent, Run, ScriptedModel, call, say
from examples.refund_agent.model import Script
from examples.refund_agent.script import refund_script
from models import Escalation
from tests.harness import Harness, free_port

CONDITION = "Refund to the original card only."
REQUEST = "Please refund 1200 USD on order 1042, as store credit. The customer was charged twice."


def _script() -> Script:
    return refund_script(
        order_id="1042",
        amount="1200",
        currency="USD",
        reason="The customer was charged twice.",
        preferred="store_credit",
    )


@asynccontextmanager
async def _agent_running(
    council: Harness, script: Script, *, decision_timeout: float = 60
) -> AsyncIterator[tuple[asyncio.Task[Run], InMemoryPayments]]:
    """Start the agent on the customer's request in the background, as a real agent would run."""
    payments = InMemoryPayments()
    async with CouncilClient(council.url, council.creds.api_key) as client:
        agent = RefundAgent(
            model=ScriptedModel(script),
            council=client,
            payments=payments,
            limit=Decimal(500),
            decision_timeout=decision_timeout,
        )
        task = asyncio.create_task(agent.run(REQUEST))
        try:
            yield task, payments
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def _opened(council: Harness) -> str:
    """Wait until the agent's escalation is in the council channel; return its id."""
    deadline = asyncio.get_running_loop().time() + 30
    while asyncio.get_running_loop().time() < deadline:
        escalation = await Escalation.filter(agent__name="refund-bot").first()
        if escalation is not None:
            return (await council.posted(escalation.public_id)).public_id
        await asyncio.sleep(0.02)
    raise AssertionError("the agent never escalated")


async def _approve_900_on_a_condition(council: Harness, esc: str) -> None:
    await council.through_modal(
        "U0TECH001",
        ids.APPROVE_WITH_CONDITIONS,
        esc,
        {
            ids.CONDITIONS_BLOCK: {ids.CONDITIONS_INPUT: CONDITION},
            ids.AMOUNT_BLOCK: {ids.AMOUNT_INPUT: "900"},
        },
    )
    await council.click("U0FIN0001", ids.APPROVE, esc)


def _tool_calls(run: Run) -> list[dict[str, Any]]:
    """Each tool the model called: its call id, name and arguments, and what the agent answered."""
    results = {m["tool_call_id"]: json.loads(m["content"]) for m in run.messages if m["role"] == "tool"}
    return [
        {
            "id": c["id"],
            "name": c["function"]["name"],
            "arguments": json.loads(c["function"]["arguments"]),
            "result": results[c["id"]],
        }
        for m in run.messages
        if m["role"] == "assistant"
        for c in m.get("tool_calls", [])
    ]


async def test_the_agent_refunds_the_lower_amount_the_council_approved_on_its_condition(
    council: Harness,
) -> None:
    async with _agent_running(council, _script()) as (running, payments):
        esc = await _opened(council)
        await _approve_900_on_a_condition(council, esc)
        run = await asyncio.wait_for(running, 60)

    first_try, ask, refund, report = _tool_calls(run)
    assert [c["name"] for c in (first_try, ask, refund, report)] == [
        "issue_refund",
        "ask_council",
        "issue_refund",
        "report_execution",
    ]
    assert first_try["arguments"]["amount"] == "1200"
    assert "above this agent's limit of 500" in first_try["result"]["error"]
    assert ask["result"]["approved_amount"] == "900" and CONDITION in ask["result"]["conditions"]
    assert refund["arguments"]["amount"] == "900" and refund["arguments"]["destination"] == "original_card"
    assert payments.refunds == [Refund("1042", Decimal(900), "USD", "original_card", esc)]

    _, escalation = await council.get(esc)
    decision, execution = escalation["decision"], escalation["execution"]
    assert escalation["status"] == "approved" and escalation["action"]["amount"] == "1200"
    assert decision["approved_amount"] == "900" and CONDITION in decision["conditions"]
    assert (execution["proposed_amount"], execution["approved_amount"], execution["executed_amount"]) == (
        "1200",
        "900",
        "900",
    )
    assert execution["within_approval"] is True and CONDITION in execution["details"]
    assert escalation["call_id"] == ask["id"] and report["result"]["within_approval"] is True
    assert "Refunded 900 USD of the 1200 asked on order 1042, to the original card" in run.answer
    assert esc in run.answer and "within its approval" in run.answer
    _, me = await council.api("GET", "/agents/me")
    assert me["status"] == "active"


async def test_a_rejection_refunds_nothing_and_reports_nothing(council: Harness) -> None:
    async with _agent_running(council, _script()) as (running, payments):
        esc = await _opened(council)
        await council.reject("U0FIN0001", esc, "Charged once only; no refund due.")
        await council.reject("U0PEOPLE1", esc, "The bank shows a single charge.")
        run = await asyncio.wait_for(running, 60)

    assert [c["name"] for c in _tool_calls(run)] == ["issue_refund", "ask_council"]
    assert payments.refunds == []
    _, escalation = await council.get(esc)
    assert escalation["status"] == "rejected" and escalation["execution"] is None
    assert "the council's answer was rejected" in run.answer and "Charged once only" in run.answer


async def test_no_decision_in_time_withdraws_the_escalation(council: Harness) -> None:
    async with _agent_running(council, _script(), decision_timeout=1) as (running, payments):
        run = await asyncio.wait_for(running, 60)

    esc = _tool_calls(run)[1]["result"]["escalation_id"]
    _, escalation = await council.get(esc)
    assert escalation["status"] == "withdrawn" and escalation["execution"] is None
    assert payments.refunds == []
    assert "the council's answer was withdrawn" in run.answer


def _greedy_script() -> Script:
    """A model that ignores the council's amount and refunds what it first wanted."""
    decision = yield call(
        "ask_council", order_id="1042", amount="1200", currency="USD", reason="Charged twice."
    )
    refund = yield call(
        "issue_refund",
        order_id="1042",
        amount="1200",
        currency="USD",
        destination="original_card",
        escalation_id=decision["escalation_id"],
    )
    yield say(refund.get("error", "refunded"))


async def test_the_guard_refuses_more_than_the_council_approved(council: Harness) -> None:
    async with _agent_running(council, _greedy_script()) as (running, payments):
        esc = await _opened(council)
        await _approve_900_on_a_condition(council, esc)
        run = await asyncio.wait_for(running, 60)

    assert payments.refunds == []
    assert run.answer.startswith("refused: the council approved at most 900 USD on order 1042")
    _, escalation = await council.get(esc)
    assert escalation["status"] == "approved" and escalation["execution"] is None


async def test_a_council_out_of_reach_refunds_nothing_above_the_limit() -> None:
    payments = InMemoryPayments()
    async with CouncilClient(f"http://127.0.0.1:{free_port()}", "ck_unused", retries=0) as client:
        agent = RefundAgent(
            model=ScriptedModel(_script()), council=client, payments=payments, limit=Decimal(500)
        )
        run = await agent.run(REQUEST)
    assert payments.refunds == []
    assert run.answer == (
        "I did not refund order 1042: Council cannot be reached; refund nothing above your limit. "
        "A person will follow up."
    )


def _top_up_script() -> Script:
    """A model that refunds the 900 approved, then the 300 more it first wanted as "within its limit"."""
    order = {"order_id": "1042", "currency": "USD"}
    decision = yield call("ask_council", **order, amount="1200", reason="Charged twice.")
    esc = decision["escalation_id"]
    yield call("issue_refund", **order, amount="900", destination="original_card", escalation_id=esc)
    yield call("issue_refund", **order, amount="300", destination="store_credit")
    yield call("ask_council", **order, amount="300", reason="The rest of the double charge.")
    yield call("report_execution", escalation_id=esc, details="Refunded 900 USD to the original card.")
    yield say("done")


async def test_an_approval_and_a_refund_within_the_limit_do_not_add_up_past_it(council: Harness) -> None:
    async with _agent_running(council, _top_up_script()) as (running, payments):
        esc = await _opened(council)
        await _approve_900_on_a_condition(council, esc)
        run = await asyncio.wait_for(running, 60)

    _, approved, top_up, ask_again, report = (c["result"] for c in _tool_calls(run))
    assert approved["refunded"] == "900"
    assert (
        top_up["error"]
        == "refused: the council approved at most 900 USD on order 1042 (0 of it left, all refunds counted)"
    )
    assert ask_again["error"] == f"report the execution of {esc} before asking about this order again"
    assert payments.refunds == [Refund("1042", Decimal(900), "USD", "original_card", esc)]
    assert report["executed_amount"] == "900" and report["within_approval"] is True
    _, escalation = await council.get(esc)
    assert escalation["execution"]["executed_amount"] == "900"


def _unapproved_first_script() -> Script:
    """A model that refunds 300 on its own once the council approved 900, then the full 900 under it."""
    order = {"order_id": "1042", "currency": "USD"}
    decision = yield call("ask_council", **order, amount="1200", reason="Charged twice.")
    esc = decision["escalation_id"]
    yield call("issue_refund", **order, amount="300", destination="store_credit")
    yield call("issue_refund", **order, amount="900", destination="original_card", escalation_id=esc)
    yield call("issue_refund", **order, amount="600", destination="original_card", escalation_id=esc)
    yield call("report_execution", escalation_id=esc, details="Refunded 900 USD in two parts.")
    yield say("done")


async def test_a_refund_without_the_approval_counts_against_it_and_in_the_report(council: Harness) -> None:
    async with _agent_running(council, _unapproved_first_script()) as (running, payments):
        esc = await _opened(council)
        await _approve_900_on_a_condition(council, esc)
        run = await asyncio.wait_for(running, 60)

    _, on_its_own, all_of_it, the_rest, report = (c["result"] for c in _tool_calls(run))
    assert on_its_own["refunded"] == "300" and the_rest["refunded"] == "600"
    assert all_of_it["error"].endswith("(600 of it left, all refunds counted)")
    assert payments.refunds == [
        Refund("1042", Decimal(300), "USD", "store_credit"),
        Refund("1042", Decimal(600), "USD", "original_card", esc),
    ]
    _, escalation = await council.get(esc)
    assert escalation["execution"]["executed_amount"] == "900" and report["within_approval"] is True


def _after_a_no_script() -> Script:
    """A model that, refused by the council, refunds what its own limit would allow."""
    order = {"order_id": "1042", "currency": "USD"}
    decision = yield call("ask_council", **order, amount="1200", reason="Charged twice.")
    refund = yield call("issue_refund", **order, amount="400", destination="store_credit")
    yield say(f"{decision['status']}: {refund.get('error', 'refunded')}")


async def test_after_a_rejection_nothing_more_is_refunded_on_the_order(council: Harness) -> None:
    async with _agent_running(council, _after_a_no_script()) as (running, payments):
        esc = await _opened(council)
        await council.reject("U0FIN0001", esc, "Charged once only; no refund due.")
        await council.reject("U0PEOPLE1", esc, "The bank shows a single charge.")
        run = await asyncio.wait_for(running, 60)

    assert payments.refunds == []
    assert (
        run.answer
        == f"rejected: refused: the council did not approve {esc}; refund nothing more on order 1042"
    )
