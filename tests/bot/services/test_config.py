"""Applying council.yml can never silently weaken the council: refusals, the diff, removals, dry runs."""

from __future__ import annotations

from typing import Any

import pytest

from bot.errors import ConfigError, Conflict, Forbidden
from bot.runtime import Runtime
from bot.schemas import EscalationIn
from bot.services import agents, config, escalations
from models import AuditEvent, Council, Decision, Escalation
from tests.harness import COUNCIL_YML

TWO = """
admins: [U0ADMIN01]
councils:
  - name: ai-council
    channel: C0COUNCIL
    members:
      - {user: U0PEOPLE1, function: people, role: chair}
      - {user: U0TECH001, function: technology}
  - name: risk
    channel: C0RISK001
    members:
      - {user: U0FIN0001, function: finance}
agents:
  - {name: refund-bot, owner: U0OWNER01, council: ai-council}
  - {name: old-bot, owner: U0OWNER02, council: risk}
policies:
  - {name: refunds, match: {agent: refund-bot}, council: ai-council, rule: {type: majority}}
defaults: {rule: {type: single}}
"""
ONE = TWO.replace(
    "  - name: risk\n    channel: C0RISK001\n    members:\n      - {user: U0FIN0001, function: finance}\n", ""
).replace("  - {name: old-bot, owner: U0OWNER02, council: risk}\n", "")


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("", "admins, councils, policies"),
        ("# nothing left but a comment\n", "admins, councils, policies"),
        (COUNCIL_YML.replace("admins: [U0ADMIN01]\n", ""), "admins"),
        (COUNCIL_YML.replace("admins: [U0ADMIN01]", "admins: []"), "admins"),
        (COUNCIL_YML[: COUNCIL_YML.index("policies:")], "policies"),
    ],
)
async def test_an_empty_or_truncated_file_is_refused_and_changes_nothing(
    database: str, text: str, missing: str
) -> None:
    await config.apply_text(COUNCIL_YML, source="council.yml")
    before = await config.export()
    with pytest.raises(ConfigError) as refused:
        await config.apply_text(text, source="council.yml")
    assert refused.value.message.startswith(f"council.yml: refused: no {missing} (applying it would remove ")
    assert refused.value.message.endswith("fix the file, or give --allow-empty if that is what you mean")
    assert "\n" not in refused.value.message
    assert await config.export() == before


async def test_allow_empty_applies_a_file_that_wipes_on_purpose(database: str) -> None:
    await config.apply_text(COUNCIL_YML, source="council.yml")
    report = await config.apply_text(
        COUNCIL_YML.replace("admins: [U0ADMIN01]", "admins: []"), source="council.yml", allow_empty=True
    )
    assert report.changes == ["- admins: cleared"]
    assert (await config.export())["admins"] == []


async def test_apply_prints_each_change_down_to_the_key(database: str) -> None:
    first = await config.apply_text(TWO, source="council.yml")
    assert first.changes[:3] == [
        "+ council ai-council (channel C0COUNCIL)",
        "+ council ai-council: member U0PEOPLE1 (people)",
        "+ council ai-council: member U0TECH001 (technology)",
    ]
    assert "+ agent old-bot (owner U0OWNER02, council risk)" in first.changes
    assert first.changes[-3:] == [
        "+ policy refunds",
        "+ admins: U0ADMIN01",
        "+ defaults: {rule: {type: single}, on_timeout: reject}",
    ]
    edited = (
        TWO.replace("rule: {type: majority}", "rule: {type: majority, quorum: 2}")
        .replace("{user: U0TECH001, function: technology}", "{user: U0TECH001, function: engineering}")
        .replace("admins: [U0ADMIN01]", "admins: [U0ADMIN02]")
        .replace("council: risk}", "council: risk, limits: {max_amount: 500}}")
    )
    second = await config.apply_text(edited, source="council.yml")
    assert second.changes == [
        "~ council ai-council: member U0TECH001: function technology → engineering",
        "~ agent old-bot: limits.max_amount (none) → 500",
        "~ policy refunds: rule.quorum (none) → 2",
        "~ admins: +U0ADMIN02, -U0ADMIN01",
    ]
    assert (await config.apply_text(edited, source="council.yml")).changes == []


async def test_a_dry_run_says_the_changes_and_makes_none(database: str) -> None:
    await config.apply_text(TWO, source="council.yml")
    before, audited = await config.export(), await AuditEvent.all().count()
    report = await config.apply_text(ONE, source="council.yml", dry_run=True)
    assert report.dry_run and report.changes == [
        "- council risk: retired (no new escalations; open ones keep their council)",
        "- agent old-bot: paused, removed from council.yml (its key stops working; its history stays)",
    ]
    assert await config.export() == before
    assert await AuditEvent.all().count() == audited
    # The same file, applied for real, makes exactly the changes the dry run said.
    assert (await config.apply_text(ONE, source="council.yml")).changes == report.changes


async def test_an_agent_removed_from_the_file_is_paused_not_deleted(rt: Runtime, database: str) -> None:
    await config.apply_text(TWO, source="council.yml")
    creds = await agents.create(name="old-bot", owner="U0OWNER02", council=None, server_key=rt.server_key)
    agent = await agents.authenticate(f"Bearer {creds.api_key}")
    body = EscalationIn.model_validate({"kind": "approval", "title": "Refund"})
    opened, _ = await escalations.create(rt, agent=agent, body=body, idempotency_key=None)

    await config.apply_text(ONE, source="council.yml")
    agent = await agents.authenticate(f"Bearer {creds.api_key}")
    assert (agent.status, agent.paused_reason) == ("paused", "removed from council.yml")
    with pytest.raises(Forbidden, match="agent old-bot is paused: removed from council.yml"):
        agents.require_active(agent)
    assert await Escalation.filter(id=opened.id).exists()  # its history stays
    with pytest.raises(Conflict, match="was removed from council.yml; add it back to the file"):
        await agents.resume(name="old-bot", actor="cli")
    assert "old-bot" not in [a["name"] for a in (await config.export())["agents"]]

    report = await config.apply_text(TWO, source="council.yml")
    assert "+ agent old-bot: back in council.yml, resumed" in report.changes
    assert (await agents.authenticate(f"Bearer {creds.api_key}")).status == "active"


async def test_an_agent_paused_by_an_admin_stays_paused_when_the_file_is_reapplied(
    rt: Runtime, database: str
) -> None:
    await config.apply_text(TWO, source="council.yml")
    await agents.pause(name="old-bot", reason="runaway refunds", actor="U0ADMIN01")
    assert (await config.apply_text(TWO, source="council.yml")).changes == []
    paused = await agents.get("old-bot")
    assert (paused.status, paused.paused_reason) == ("paused", "runaway refunds")


async def test_an_agent_the_file_never_declared_is_left_alone(rt: Runtime, database: str) -> None:
    await config.apply_text(TWO, source="council.yml")
    await agents.create(name="cli-bot", owner="U0OWNER03", council="ai-council", server_key=rt.server_key)
    assert (await config.apply_text(ONE, source="council.yml")).changes[-1].startswith("- agent old-bot")
    assert (await agents.get("cli-bot")).status == "active"


async def test_a_removed_council_receives_no_new_escalations(rt: Runtime, database: str) -> None:
    await config.apply_text(TWO, source="council.yml")
    creds = await agents.create(name="cli-bot", owner="U0OWNER03", council="risk", server_key=rt.server_key)
    agent = await agents.authenticate(f"Bearer {creds.api_key}")
    body = EscalationIn.model_validate({"kind": "approval", "title": "Refund"})
    before, _ = await escalations.create(rt, agent=agent, body=body, idempotency_key=None)
    assert before.channel_id == "C0RISK001"

    await config.apply_text(
        ONE.replace("defaults: {rule: {type: single}}", "defaults: {council: ai-council}"),
        source="council.yml",
    )
    assert (await Council.get(name="risk")).retired_at is not None
    after, _ = await escalations.create(rt, agent=agent, body=body, idempotency_key=None)
    assert after.channel_id == "C0COUNCIL"
    await before.refresh_from_db()
    assert (before.channel_id, before.status) == ("C0RISK001", "pending")  # the open one keeps its snapshot
    with pytest.raises(Exception, match="no council named 'risk'"):
        await agents.create(name="new-bot", owner="U0OWNER03", council="risk", server_key=rt.server_key)


async def test_the_file_decides_a_declared_agents_owner_and_council(rt: Runtime, database: str) -> None:
    await config.apply_text(TWO, source="council.yml")
    with pytest.raises(Conflict) as owner:
        await agents.create(name="old-bot", owner="U0OTHER01", council=None, server_key=rt.server_key)
    assert owner.value.message == (
        "council.yml declares agent old-bot with owner U0OWNER02, not U0OTHER01; "
        "change the owner in council.yml and apply it"
    )
    with pytest.raises(Conflict, match="declares agent old-bot with council risk, not ai-council"):
        await agents.create(name="old-bot", owner="U0OWNER02", council="ai-council", server_key=rt.server_key)
    assert (await agents.get("old-bot")).owner_user_id == "U0OWNER02"
    await agents.create(name="old-bot", owner="U0OWNER02", council="risk", server_key=rt.server_key)


BUDGETED = """
admins: [U0ADMIN01]
councils:
  - name: ai-council
    channel: C0COUNCIL
    members:
      - {user: U0TECH001, function: technology}
agents:
  - name: refund-bot
    owner: U0OWNER01
    council: ai-council
    currency: USD
    limits: {auto_budget_24h: 100, max_amount: {amount: 1000, currency: USD}}
policies:
  - {name: small, match: {amount_lt: 5000}, decide: approve}
defaults: {council: ai-council}
"""


async def _refund(rt: Runtime, agent: Any, amount: int, currency: str | None) -> Escalation:
    action: dict[str, Any] = {"amount": amount} | ({"currency": currency} if currency else {})
    body = EscalationIn.model_validate({"kind": "approval", "title": "Refund", "action": action})
    escalation, _ = await escalations.create(rt, agent=agent, body=body, idempotency_key=None)
    return escalation


async def test_a_budget_in_one_currency_is_spent_only_by_that_currency(rt: Runtime, database: str) -> None:
    await config.apply_text(BUDGETED, source="council.yml")
    creds = await agents.create(name="refund-bot", owner="U0OWNER01", council=None, server_key=rt.server_key)
    agent = await agents.authenticate(f"Bearer {creds.api_key}")
    assert (await agents.describe(agent)).limits.model_dump(exclude_none=True) == {
        "max_amount": {"amount": "1000", "currency": "USD"},
        "auto_budget_24h": "100",
        "currency": "USD",
    }
    euros = await _refund(rt, agent, 90, "EUR")
    assert euros.status == "pending" and euros.route_reason == (
        "the amount is in EUR, and refund-bot's hard cap is in USD: not comparable, so sent to the council"
    )
    unknown = await _refund(rt, agent, 2000, None)
    assert unknown.status == "pending" and "without a currency" in (unknown.route_reason or "")
    dollars = await _refund(rt, agent, 90, "usd")
    assert dollars.status == "approved"
    over = await _refund(rt, agent, 20, "USD")
    assert over.status == "pending" and "auto-approval budget of $100 per 24 h used ($90" in (
        over.route_reason or ""
    )
    capped = await _refund(rt, agent, 2000, "USD")
    assert capped.status == "rejected"
    assert (await Decision.get(escalation=capped)).reasons == [
        "$2,000 is over refund-bot's hard cap of $1,000 per action"
    ]
