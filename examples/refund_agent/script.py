"""The turns a model takes on a refund above the agent's limit, scripted: no model, no network.

Each `yield` is one assistant turn; what it evaluates to is the result of the tool that turn called.
So the later turns act on what came back: the council's approved amount, its conditions, its no.
"""

from __future__ import annotations

from examples.refund_agent.model import Script, call, say


def refund_script(*, order_id: str, amount: str, currency: str, reason: str, preferred: str) -> Script:
    """Refund `amount` on an order as the customer prefers, unless the council decides otherwise."""
    order = {"order_id": order_id, "currency": currency}
    # A model tries first, as models do; the agent's guard refuses what is above its limit.
    tried = yield call("issue_refund", **order, amount=amount, destination=preferred)
    if "error" not in tried:
        yield say(f"Refunded {tried['refunded']} {currency} on order {order_id} ({tried['reference']}).")
        return
    decision = yield call("ask_council", **order, amount=amount, reason=reason)
    if "error" in decision:
        yield say(f"I did not refund order {order_id}: {decision['error']}. A person will follow up.")
        return
    if decision["status"] != "approved":
        why = "; ".join(decision.get("reasons", [])) or "no decision came in time"
        yield say(
            f"I did not refund order {order_id}: the council's answer was {decision['status']} ({why}). "
            "A person will follow up with the customer."
        )
        return
    conditions = decision.get("conditions") or ""
    # Conditions are words that bind: a model reads them; this script knows one it must follow.
    destination = "original_card" if "original card" in conditions.lower() else preferred
    refund = yield call(
        "issue_refund",
        **order,
        amount=decision["approved_amount"],
        destination=destination,
        escalation_id=decision["escalation_id"],
    )
    if "error" in refund:
        yield say(f"I could not refund order {order_id}: {refund['error']}.")
        return
    where = destination.replace("_", " ")
    report = yield call(
        "report_execution",
        escalation_id=decision["escalation_id"],
        details=f"Refunded {refund['refunded']} {currency} to the {where} ({refund['reference']}).",
    )
    recorded = "within its approval" if report.get("within_approval") else f"with a problem: {report}"
    terms = f" with conditions: {conditions.strip().rstrip('.')}" if conditions.strip() else ""
    yield say(
        f"Refunded {refund['refunded']} {currency} of the {amount} asked on order {order_id}, to the "
        f"{where}, as the council approved {decision['approved_amount']}{terms}. "
        f"Council recorded the refund on {decision['escalation_id']}, {recorded}."
    )
