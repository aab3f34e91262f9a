"""`simulate` over a month built by hand, every figure asserted, on SQLite and PostgreSQL.

The month is the 30 days up to NOW; the period starts at START (2 March 2026, 12:00 UTC). Rows are
written directly as intake and the vote would have left them. CURRENT_YML is what is applied;
PROPOSED_YML raises the auto-approve threshold from $200 to $500 (within the same $1,000 budget a
day), lowers the hard cap from $10,000 to $5,000, auto-rejects gift cards, sends crypto and vendor
payments to the finance council, asks unanimity for refunds of $4,000 or more, and drops
pricing-bot. The table in MONTH says, row by row, what happened and what the proposal would do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.council_file import parse
from bot.runtime import Runtime
from bot.schemas import EscalationIn
from bot.services import agents, config, escalations
from bot.services.simulate import simulate
from bot.services.simulate_figures import Figure, Total
from models import Agent, AuditEvent, Council, Decision, Escalation, OutboxItem, Setting
from models.enums import DecidedBy, Kind, Outcome, Status

COUNCILS = """
admins: [U0ADMIN01]
councils:
  - name: ai-council
    channel: C0COUNCIL
    members:
      - {user: U0PEOPLE1, function: people, role: chair}
      - {user: U0TECH001, function: technology}
      - {user: U0FIN0001, function: finance}
  - name: finance-council
    channel: C0FINANCE
    members:
      - {user: U0FIN0002, function: finance, role: chair}
      - {user: U0FIN0003, function: finance}
"""
CURRENT_YML = (
    COUNCILS
    + """
agents:
  - name: refund-bot
    owner: U0OWNER01
    council: ai-council
    currency: USD
    limits: {max_amount: 10000, auto_budget_24h: 1000}
  - {name: pricing-bot, owner: U0OWNER02, council: ai-council}
policies:
  - {name: small-refunds, match: {agent: refund-bot, amount_lt: 200}, decide: approve}
  - {name: no-crypto, match: {category: crypto}, decide: reject}
  - {name: approvals, match: {kind: approval}, council: ai-council, rule: {type: majority, quorum: 2}}
defaults: {council: ai-council}
"""
)
PROPOSED_YML = (
    COUNCILS
    + """
agents:
  - name: refund-bot
    owner: U0OWNER01
    council: ai-council
    currency: USD
    limits: {max_amount: 5000, auto_budget_24h: 1000}
policies:
  - {name: no-gift-cards, match: {category: gift-cards}, decide: reject}
  - {name: crypto, match: {category: crypto}, council: finance-council, rule: {type: single}}
  - {name: small-refunds, match: {agent: refund-bot, amount_lt: 500}, decide: approve}
  - {name: vendor-payments, match: {category: vendors}, council: finance-council, rule: {type: single}}
  - name: big-refunds
    match: {agent: refund-bot, amount_gte: 4000}
    council: ai-council
    rule: {type: unanimous}
  - {name: approvals, match: {kind: approval}, council: ai-council, rule: {type: majority, quorum: 2}}
defaults: {council: ai-council}
"""
)
NOW = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
MAJORITY_Q2 = {"type": "majority", "quorum": 2}


@dataclass(frozen=True)
class Row:
    """One stored escalation: when (hours after START), what, and how it went."""

    number: int
    hours: float
    amount: int | None
    category: str | None
    status: Status
    decided_by: DecidedBy | None
    policy: str | None = "approvals"
    agent: str = "refund-bot"
    kind: Kind = Kind.APPROVAL
    currency: str | None = "USD"


COUNCIL, POLICY, TIMEOUT = DecidedBy.COUNCIL, DecidedBy.POLICY, DecidedBy.TIMEOUT
APPROVED, REJECTED = Status.APPROVED, Status.REJECTED
# number, hours after START, amount, category, status, decided by  # what the proposal does
MONTH = (
    Row(90, -72, 5000, "refunds", APPROVED, COUNCIL),  # before the replay: never read
    Row(91, -2, 450, "refunds", APPROVED, COUNCIL),  # warm-up: auto-approved, $450 of the budget
    Row(1, 1, 450, "refunds", APPROVED, COUNCIL),  # auto-approved: $900 used
    Row(2, 3, 150, "refunds", APPROVED, POLICY, "small-refunds"),  # $1,050 > $1,000: over budget
    Row(3, 188.5, 50, "refunds", APPROVED, POLICY, "small-refunds"),  # unchanged
    Row(4, 214, 2000, "refunds", APPROVED, COUNCIL),  # unchanged
    Row(5, 238, 600, "crypto", REJECTED, POLICY, "no-crypto"),  # to the finance council
    Row(6, 286, 300, "gift-cards", REJECTED, COUNCIL),  # auto-rejected
    Row(7, 334, 7000, "refunds", APPROVED, COUNCIL),  # auto-rejected: over the $5,000 cap
    Row(8, 382, 3000, "vendors", Status.EXPIRED, TIMEOUT),  # rerouted: finance council
    Row(9, 430, 4500, "refunds", APPROVED, COUNCIL),  # rerouted: unanimous
    Row(10, 478, 800, "pricing", APPROVED, COUNCIL, agent="pricing-bot", currency="EUR"),  # refused
    Row(11, 550, None, None, Status.RESOLVED, None, None, kind=Kind.INCIDENT, currency=None),  # same
    Row(12, 621, 480, "refunds", Status.PENDING, None),  # auto-approved: $480 used
    Row(13, 622, 490, "refunds", APPROVED, COUNCIL),  # auto-approved: $970 used
    Row(14, 623, 30, "refunds", APPROVED, POLICY, "small-refunds"),  # $1,000: just within, same
)


def public_id(number: int) -> str:
    return f"esc_{number:020d}"


def _reason(row: Row) -> str:
    """The route_reason intake stores, as its settlement said it."""
    if row.decided_by == POLICY and row.status == APPROVED:
        return f"approved by policy {row.policy} within {row.agent}'s mandate"
    if row.decided_by == POLICY:
        return f"rejected by policy {row.policy}"
    return f"policy {row.policy}" if row.policy else "no policy matched: default route"


async def build_month(now: datetime) -> None:
    """Apply CURRENT_YML and write MONTH's rows for the 30 days up to `now`."""
    await config.apply_text(CURRENT_YML, source="council.yml")
    start = now - timedelta(days=30)
    council = await Council.get(name="ai-council")
    for row in MONTH:
        voted = row.kind == Kind.APPROVAL and row.decided_by != POLICY
        escalation = await Escalation.create(
            public_id=public_id(row.number),
            agent=await Agent.get(name=row.agent),
            request_hash="test",
            kind=row.kind,
            title=f"Escalation {row.number}",
            amount=None if row.amount is None else Decimal(row.amount),
            currency=row.currency,
            action={} if row.amount is None else {"amount": row.amount, "currency": row.currency},
            category=row.category,
            status=row.status,
            council=council,
            channel_id=council.channel_id,
            policy_name=row.policy,
            route_reason=_reason(row),
            rule=MAJORITY_Q2 if voted else {},
            electorate=[{"user": "U0TECH001", "function": "technology", "role": "member"}] if voted else [],
            created_at=start + timedelta(hours=row.hours),
        )
        if row.decided_by is not None:
            approved = row.status == APPROVED
            await Decision.create(
                escalation=escalation,
                outcome=Outcome.APPROVED if approved else Outcome.REJECTED,
                decided_by=row.decided_by,
                approved_amount=escalation.amount if approved else None,
            )


def usd(amount: int) -> list[Total]:
    return [Total(currency="USD", amount=Decimal(amount))]


def figure(count: int, amounts: list[Total] | None = None) -> Figure:
    return Figure(count=count, amounts=amounts or [])


async def _counts() -> list[int]:
    return [await model.all().count() for model in (Escalation, Decision, OutboxItem, AuditEvent, Setting)]


async def test_every_figure_of_the_month(database: str) -> None:
    await build_month(NOW)
    before = await _counts()
    found = await simulate(
        parse(PROPOSED_YML, source="proposed.yml"), source="proposed.yml", period=timedelta(days=30), now=NOW
    )
    assert await _counts() == before  # read only
    assert (found.file, found.since, found.start, found.end) == (
        "proposed.yml",
        "30d",
        datetime(2026, 3, 2, 12, tzinfo=UTC),
        NOW,
    )
    assert found.escalations == 14
    assert found.actual.model_dump() == {
        "auto_approved": figure(3, usd(230)).model_dump(),
        "auto_rejected": figure(1, usd(600)).model_dump(),
        "council": figure(10, [Total(currency="EUR", amount=Decimal(800)), *usd(18220)]).model_dump(),
        "over_budget": figure(0).model_dump(),
        "refused": figure(0).model_dump(),
    }
    assert found.proposed.model_dump() == {
        "auto_approved": figure(5, usd(1500)).model_dump(),
        "auto_rejected": figure(2, usd(7300)).model_dump(),
        "council": figure(6, usd(10250)).model_dump(),
        "over_budget": figure(1, usd(150)).model_dump(),
        "refused": figure(1, [Total(currency="EUR", amount=Decimal(800))]).model_dump(),
    }
    assert found.changes.model_dump() == {
        "auto_approved": figure(3, usd(1420)).model_dump(),
        "auto_rejected": figure(2, usd(7300)).model_dump(),
        "over_budget": figure(1, usd(150)).model_dump(),
        "to_council": figure(1, usd(600)).model_dump(),
        "rerouted": figure(2, usd(7500)).model_dump(),
        "refused": figure(1, [Total(currency="EUR", amount=Decimal(800))]).model_dump(),
        "unchanged": figure(4, usd(2080)).model_dump(),
    }
    changed = {each.id: each.change for each in found.changed}
    assert changed == {
        public_id(1): "auto_approved",
        public_id(2): "over_budget",
        public_id(5): "to_council",
        public_id(6): "auto_rejected",
        public_id(7): "auto_rejected",
        public_id(8): "rerouted",
        public_id(9): "rerouted",
        public_id(10): "refused",
        public_id(12): "auto_approved",
        public_id(13): "auto_approved",
    }
    assert [each.id for each in found.changed] == list(changed)  # oldest first


async def test_each_change_says_what_happened_and_what_would(database: str) -> None:
    await build_month(NOW)
    found = await simulate(
        parse(PROPOSED_YML, source="proposed.yml"), source="proposed.yml", period=timedelta(days=30), now=NOW
    )
    by_id = {each.id: each for each in found.changed}
    over = by_id[public_id(2)]
    assert over.actual.fate == "auto_approved" and over.actual.decided_by == "policy"
    assert over.proposed.model_dump() == {
        "fate": "council",
        "council": "ai-council",
        "policy": "small-refunds",
        "rule": "majority",
        "over_budget": True,
        "reason": "auto-approval budget of $1,000 per 24 h used ($900 approved automatically so far); "
        "sent to the council",
    }
    capped = by_id[public_id(7)].proposed
    assert (capped.fate, capped.policy) == ("auto_rejected", "big-refunds")
    assert capped.reason == "$7,000 is over refund-bot's hard cap of $5,000 per action"
    vendors = by_id[public_id(8)]
    assert (vendors.actual.council, vendors.actual.rule) == ("ai-council", "majority · quorum 2")
    assert (vendors.actual.status, vendors.actual.outcome, vendors.actual.decided_by) == (
        "expired",
        "rejected",
        "timeout",
    )
    assert (vendors.proposed.council, vendors.proposed.rule) == ("finance-council", "single decider")
    assert by_id[public_id(9)].proposed.rule == "unanimous"
    refused = by_id[public_id(10)].proposed
    assert (refused.fate, refused.reason) == (
        "refused",
        "pricing-bot would be paused: removed from council.yml",
    )
    dumped = found.model_dump(mode="json")
    assert dumped["changed"][0]["created_at"] == "2026-03-02T13:00:00Z"
    assert dumped["changed"][0]["amount"] == "450"
    assert dumped["proposed"]["council"]["amounts"] == [{"currency": "USD", "amount": "10250"}]


async def test_a_shorter_period_starts_with_the_budget_the_day_before_spent(database: str) -> None:
    await build_month(NOW)
    proposed = parse(PROPOSED_YML, source="p.yml")
    nothing = await simulate(proposed, source="p.yml", period=timedelta(hours=27), now=NOW)
    assert (nothing.since, nothing.escalations, nothing.changed) == ("1d3h", 0, [])
    # From row 13 on: row 12 (an hour earlier) is not reported, but its $480 is spent all the same.
    found = await simulate(proposed, source="p.yml", period=timedelta(hours=98), now=NOW)
    assert (found.since, found.escalations) == ("4d2h", 2)
    assert found.proposed.auto_approved == figure(2, usd(520))
    assert found.changes.auto_approved == figure(1, usd(490))
    assert found.changes.unchanged == figure(1, usd(30))


MANDATE_YML = """
admins: [U0ADMIN01]
councils:
  - name: ai-council
    channel: C0COUNCIL
    members:
      - {user: U0PEOPLE1, function: people, role: chair}
      - {user: U0TECH001, function: technology}
agents:
  - {name: refund-bot, owner: U0OWNER01, limits: {max_amount: 5000, auto_budget_24h: 1000}}
policies:
  - {name: no-crypto, match: {category: crypto}, decide: reject}
  - {name: small-refunds, match: {amount_lt: 500}, decide: approve}
  - {name: approvals, match: {kind: approval}, council: ai-council, rule: {type: majority}}
defaults: {council: ai-council}
"""


async def _escalate(rt: Runtime, api_key: str, **body: Any) -> Escalation:
    agent = await agents.authenticate(f"Bearer {api_key}")
    request = EscalationIn.model_validate({"kind": "approval", "title": "Refund", **body})
    escalation, _ = await escalations.create(rt, agent=agent, body=request, idempotency_key=None)
    return escalation


async def test_the_applied_file_replays_what_intake_did(database: str, rt: Runtime) -> None:
    await config.apply_text(MANDATE_YML, source="council.yml")
    declared = await agents.create(
        name="refund-bot", owner="U0OWNER01", council=None, server_key=rt.server_key
    )
    # Created outside council.yml: it keeps its own council and limits (none), and is not paused.
    helper = await agents.create(
        name="helper-bot", owner="U0OWNER01", council="ai-council", server_key=rt.server_key
    )
    for amount, category in (
        (400, None),
        (450, None),
        (300, None),
        (50, "crypto"),
        (6000, None),
        (1000, None),
    ):
        await _escalate(rt, declared.api_key, category=category, action={"amount": amount, "currency": "USD"})
    await _escalate(rt, declared.api_key, kind="incident", title="Refunds failing")
    await _escalate(rt, helper.api_key, action={"amount": 200, "currency": "USD"})
    found = await simulate(
        parse(MANDATE_YML, source="council.yml"),
        source="council.yml",
        period=timedelta(days=1),
        now=datetime.now(UTC),
    )
    assert found.escalations == 8 and found.changed == []
    assert found.actual == found.proposed
    assert found.actual.model_dump() == {
        "auto_approved": figure(3, usd(1050)).model_dump(),  # $400, $450, and helper-bot's $200
        "auto_rejected": figure(2, usd(6050)).model_dump(),  # crypto, and over the cap
        "council": figure(3, usd(1300)).model_dump(),  # $300 over the budget, $1,000, the incident
        "over_budget": figure(1, usd(300)).model_dump(),
        "refused": figure(0).model_dump(),
    }
