"""The words `council mcp` answers with, for each way an escalation can stand."""

from __future__ import annotations

from typing import Any

from bot.api_out import EscalationOut, ExecutionOut, Problem
from bot.mcp_server import answers

ESC = "esc_0123456789abcdef0123"


def _escalation(status: str, decision: dict[str, Any] | None = None, **changes: Any) -> EscalationOut:
    fields: dict[str, Any] = {
        "id": ESC,
        "status": status,
        "kind": "approval",
        "title": "Refund order 1042",
        "summary": "",
        "action": {"type": "refund", "amount": "1200", "currency": "USD", "target": "order 1042"},
        "category": None,
        "risk": None,
        "council": "ai-council",
        "policy": "refunds",
        "route": None,
        "rule": None,
        "deadline": None,
        "created_at": "2026-11-28T03:40:00Z",
        "decision": decision,
        "execution": None,
        "version": 1,
        "context": {},
        "links": [],
        "run_id": None,
        "call_id": None,
    }
    return EscalationOut.model_validate(fields | changes)


def _decision(outcome: str, decided_by: str, *reasons: str, **changes: Any) -> dict[str, Any]:
    return {
        "outcome": outcome,
        "decided_by": decided_by,
        "decided_at": "2026-11-28T03:45:00Z",
        "tally": {},
        "votes": [],
        "reasons": list(reasons),
        "conditions": None,
        "approved_amount": None,
    } | changes


def test_an_expiry_says_do_not_proceed() -> None:
    expired = _escalation("expired", _decision("rejected", "timeout", "no decision by the deadline"))
    text = answers.verdict_text(expired)
    assert text.startswith(f"EXPIRED: the council did not decide escalation {ESC} (Refund order 1042)")
    assert "do not proceed" in text and "Reasons: no decision by the deadline" in text
    assert answers.verdict(expired).proceed is False and answers.verdict(expired).approved_amount is None


def test_a_withdrawal_approves_nothing() -> None:
    text = answers.verdict_text(_escalation("withdrawn"))
    assert text == (
        f"WITHDRAWN: escalation {ESC} (Refund order 1042) was withdrawn, so nothing was approved: "
        "do not proceed."
    )


def test_a_policy_approval_without_a_lower_amount_allows_what_was_asked() -> None:
    approved = _escalation(
        "approved", _decision("approved", "policy", "within the mandate"), policy="small-refunds"
    )
    text = answers.verdict_text(approved)
    assert text.startswith(f"APPROVED by policy small-refunds: escalation {ESC}")
    assert "You may proceed with refund on order 1042 for at most 1200 USD.\n" in text
    assert answers.verdict(approved).approved_amount == "1200"


def test_an_approval_without_an_amount_allows_the_action_as_proposed() -> None:
    approved = _escalation(
        "approved", _decision("approved", "owner", "ok"), action={"type": "deploy", "target": "prod"}
    )
    text = answers.verdict_text(approved)
    assert text.startswith("APPROVED by your owner: ")
    assert "You may proceed with deploy on prod, as proposed." in text
    assert answers.verdict(approved).approved_amount is None and answers.verdict(approved).proceed is True


def test_an_execution_beyond_the_approval_says_the_agent_is_paused() -> None:
    execution = ExecutionOut.model_validate(
        {
            "status": "succeeded",
            "proposed_amount": "1200",
            "approved_amount": "900",
            "executed_amount": "1200",
            "currency": "USD",
            "details": "",
            "executed_at": "2026-11-28T03:50:00Z",
            "reported_at": "2026-11-28T03:50:01Z",
            "within_approval": False,
            "breach": "executed $1,200 against $900 approved",
        }
    )
    words = answers.execution_words(execution)
    assert words.startswith("Execution reported: succeeded 1200 USD, BEYOND THE APPROVAL: executed $1,200")
    assert "paused this agent" in words


def test_an_incident_permits_no_action() -> None:
    incident = _escalation("open", kind="incident", owner="U0TECH001")
    text = answers.verdict_text(incident)
    assert text.startswith(f"OPEN: {ESC} (Refund order 1042) is an incident, owned by U0TECH001.")
    assert "nothing in it permits an action" in text and answers.verdict(incident).proceed is False


def test_a_refusal_names_each_problem() -> None:
    details = [{"field": "title", "message": "String should have at least 1 character"}]
    text = answers.failure_text("validation_failed", "title: too short", details, escalation_id=None)
    assert text == (
        "REFUSED by Council: title: too short [validation_failed]. "
        "Problems: title: String should have at least 1 character. Fix the named arguments and call again."
    )


def test_a_refusal_names_the_problems_the_client_gives_as_models() -> None:
    details = [Problem(field="amount", message="no more than 4 decimal places")]
    text = answers.failure_text("validation_failed", "amount: bad", details, escalation_id=None)
    assert "Problems: amount: no more than 4 decimal places." in text


def test_a_passing_refusal_says_how_to_repeat_the_call_safely() -> None:
    again = "call ask_council again with the same arguments and idempotency_key 'mcp-1'"
    text = answers.failure_text("unavailable", "no answer", None, escalation_id=None, again=again)
    assert text.endswith(f"wait a minute. Then {again}.")
    final = answers.failure_text("not_found", "no such", None, escalation_id="esc_1", again=again)
    assert "Then" not in final
