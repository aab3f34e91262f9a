"""The escalation JSON, field for field: what agents and callback receivers parse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from bot.services.serialize import escalation_json
from models import Decision, Escalation

CREATED = datetime(2026, 11, 28, 3, 2, 36, 754750, tzinfo=UTC)
RULE = {"type": "majority", "quorum": 2, "require_functions": [], "veto": [], "exclude_owner": False}


def _escalation(**changes: Any) -> Escalation:
    fields: dict[str, Any] = {
        "public_id": "esc_6c0c8298e5a7a850615a",
        "kind": "approval",
        "status": "pending",
        "title": "Refund order #8812",
        "summary": "Charged twice.",
        "action": {"type": "refund", "amount": "1250.00", "currency": "EUR", "target": "order #8812"},
        "amount": Decimal("1250.0000"),
        "currency": "EUR",
        "category": "refund",
        "risk": "medium",
        "context": {"customer_id": "cus_4431"},
        "links": [{"title": "Order", "url": "https://shop.example.com/orders/8812"}],
        "run_id": "run_7f3a",
        "call_id": None,
        "council_id": 1,
        "policy_name": "refunds",
        "route_reason": "policy refunds",
        "rule": RULE,
        "deadline": CREATED + timedelta(hours=4),
        "created_at": CREATED,
        "execution": None,
        "version": 1,
        "owner_user_id": None,
        "acknowledged_at": None,
        "resolved_at": None,
        "resolution": None,
        "related": None,
    }
    storm_id = changes.pop("storm_id", None)
    escalation = Escalation(**{**fields, **changes})
    # Without Tortoise set up (no database here), the model takes no foreign key ids as arguments.
    escalation.storm_id = storm_id
    return escalation


def test_a_pending_approval_reads_as_documented() -> None:
    assert escalation_json(_escalation(), None, council="ai-council") == {
        "id": "esc_6c0c8298e5a7a850615a",
        "status": "pending",
        "kind": "approval",
        "title": "Refund order #8812",
        "summary": "Charged twice.",
        "action": {"type": "refund", "amount": "1250", "currency": "EUR", "target": "order #8812"},
        "category": "refund",
        "risk": "medium",
        "council": "ai-council",
        "policy": "refunds",
        "route": "policy refunds",
        "rule": "majority · quorum 2",
        "deadline": "2026-11-28T07:02:36.754750Z",
        "created_at": "2026-11-28T03:02:36.754750Z",
        "decision": None,
        "execution": None,
        "version": 1,
        "context": {"customer_id": "cus_4431"},
        "links": [{"title": "Order", "url": "https://shop.example.com/orders/8812"}],
        "run_id": "run_7f3a",
        "call_id": None,
        "storm": None,
    }


def test_an_escalation_in_a_storm_names_it() -> None:
    assert escalation_json(_escalation(storm_id=12), None)["storm"] == "storm-12"


def test_keys_keep_their_order() -> None:
    assert list(escalation_json(_escalation(), None)) == [
        "id",
        "status",
        "kind",
        "title",
        "summary",
        "action",
        "category",
        "risk",
        "council",
        "policy",
        "route",
        "rule",
        "deadline",
        "created_at",
        "decision",
        "execution",
        "version",
        "context",
        "links",
        "run_id",
        "call_id",
        "storm",
    ]


def test_a_council_decision_carries_votes_conditions_and_the_lowest_amount() -> None:
    decision = Decision(
        outcome="approved",
        decided_by="council",
        decided_at=datetime(2026, 11, 28, 3, 41, 9, tzinfo=UTC),
        tally={"approve": 2, "reject": 1, "abstain": 0, "recuse": 0, "waiting": 0},
        votes=[
            {"user": "U0TECH001", "function": "technology", "choice": "approve", "reason": None}
            | {"conditions": "Card only.", "approved_amount": "1000"},
            {"user": "U0FIN0001", "function": "finance", "choice": "reject", "reason": "Fraud?"},
            {"user": "U0PEOPLE1", "function": "people", "choice": "approve", "reason": None},
        ],
        reasons=["approved by majority (2–1)"],
        conditions="U0TECH001 (technology): Card only.",
        approved_amount=Decimal("1000.0000"),
    )
    answer = escalation_json(_escalation(status="approved"), decision, council="ai-council")
    assert answer["decision"] == {
        "outcome": "approved",
        "decided_by": "council",
        "decided_at": "2026-11-28T03:41:09Z",
        "tally": {"approve": 2, "reject": 1, "abstain": 0, "recuse": 0, "waiting": 0},
        "votes": [
            {
                "user": "U0TECH001",
                "function": "technology",
                "choice": "approve",
                "reason": None,
                "conditions": "Card only.",
                "approved_amount": "1000",
            },
            {"user": "U0FIN0001", "function": "finance", "choice": "reject", "reason": "Fraud?"},
            {"user": "U0PEOPLE1", "function": "people", "choice": "approve", "reason": None},
        ],
        "reasons": ["approved by majority (2–1)"],
        "conditions": "U0TECH001 (technology): Card only.",
        "approved_amount": "1000",
    }


def test_a_decision_at_once_has_an_empty_tally_and_no_rule() -> None:
    decision = Decision(
        outcome="rejected",
        decided_by="policy",
        decided_at=CREATED,
        tally={},
        votes=[],
        reasons=["over the hard cap"],
        conditions=None,
        approved_amount=None,
    )
    answer = escalation_json(_escalation(status="rejected", rule={}, deadline=None), decision)
    assert answer["rule"] is None and answer["deadline"] is None and answer["council"] is None
    assert answer["decision"]["tally"] == {} and answer["decision"]["votes"] == []
    assert answer["decision"]["approved_amount"] is None


def test_an_action_without_amount_has_no_amount_key() -> None:
    answer = escalation_json(_escalation(action={"type": "email"}, amount=None, currency=None), None)
    assert answer["action"] == {"type": "email"}
    assert escalation_json(_escalation(action={}, amount=None), None)["action"] == {}


def test_an_execution_report_is_shown_as_recorded() -> None:
    execution = {
        "status": "succeeded",
        "proposed_amount": "1250",
        "approved_amount": "1000",
        "executed_amount": "1000",
        "currency": "EUR",
        "details": "Refunded to card ending 4242.",
        "executed_at": "2026-11-28T03:45:00Z",
        "reported_at": "2026-11-28T03:45:02.118307Z",
        "within_approval": True,
        "breach": None,
    }
    answer = escalation_json(_escalation(status="approved", execution=execution), None)
    assert answer["execution"] == execution


def test_only_incidents_have_the_incident_fields() -> None:
    incident = _escalation(
        kind="incident",
        status="resolved",
        rule={},
        action={},
        amount=None,
        owner_user_id="U0TECH001",
        acknowledged_at=datetime(2026, 11, 28, 9, 52, 4, 693433, tzinfo=UTC),
        resolved_at=datetime(2026, 11, 28, 10, 31, 40, tzinfo=UTC),
        resolution="Restarted the payment worker.",
        related="esc_9d41b7c2e0f3a6158b2c",
    )
    answer = escalation_json(incident, None)
    assert list(answer)[-5:] == ["owner", "acknowledged_at", "resolved_at", "resolution", "related"]
    assert answer["owner"] == "U0TECH001" and answer["related"] == "esc_9d41b7c2e0f3a6158b2c"
    assert answer["acknowledged_at"] == "2026-11-28T09:52:04.693433Z"
    assert answer["resolved_at"] == "2026-11-28T10:31:40Z"
    assert answer["rule"] is None
    open_incident = escalation_json(_escalation(kind="incident", status="open", rule={}), None)
    assert [open_incident[k] for k in ("owner", "acknowledged_at", "resolved_at", "resolution")] == [None] * 4
    notice = escalation_json(_escalation(kind="notice", status="posted", rule={}, deadline=None), None)
    assert "owner" not in notice and "related" not in notice and notice["rule"] is None


def test_times_are_utc_ending_in_z_whatever_zone_they_were_given_in() -> None:
    berlin = timezone(timedelta(hours=1))
    answer = escalation_json(_escalation(deadline=datetime(2026, 11, 28, 8, 0, tzinfo=berlin)), None)
    assert answer["deadline"] == "2026-11-28T07:00:00Z"
