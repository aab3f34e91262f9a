"""The decision log on a real database: filters, the newest first, and a CSV that gives it all back."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from bot.errors import NotAnAdmin, NotFound
from bot.governance import Choice
from bot.runtime import Runtime
from bot.schemas import EscalationIn, ExecutionIn
from bot.services import agents, config, deadlines, decision_log, escalations, execution, membership, votes
from bot.services.agents import Credentials
from bot.services.decision_log import COLUMNS, Filters
from bot.services.votes import Ballot
from models import AuditEvent, Decision, Escalation, OutboxItem
from tests.harness import COUNCIL_YML

ADMIN, MEMBER = "U0ADMIN01", "U0TECH001"
WORKSPACE = "https://council-test.slack.com/"
# The harness's council, with a second agent and a policy that rejects small refunds at once.
LOG_YML = COUNCIL_YML.replace(
    "agents:\n", "agents:\n  - {name: ops-bot, owner: U0OWNER02, council: ai-council}\n"
).replace(
    "policies:\n",
    "policies:\n  - {name: small-refunds, match: {category: small}, decide: reject}\n",
)
FORMULA_TITLE = '@SUM(1+1) refund, "quoted" for <!channel>'
FORMULA_REASON = '=HYPERLINK("http://evil.example","click")'
ABSTAIN_REASON = "+1 from me, but I sold them the plan\nso I abstain"


@dataclass(frozen=True)
class Log:
    """The decisions `build_log` made, by how each ended."""

    approved: str
    rejected: str
    expired: str
    by_policy: str


async def _open(rt: Runtime, creds: Credentials, **body: Any) -> Escalation:
    agent = await agents.authenticate(f"Bearer {creds.api_key}")
    sent = {"kind": "approval", "title": "Refund", **body}
    escalation, _ = await escalations.create(
        rt, agent=agent, body=EscalationIn.model_validate(sent), idempotency_key=None
    )
    return escalation


async def build_log(rt: Runtime, refund_bot: Credentials, ops_bot: Credentials) -> Log:
    """Four decisions, oldest first: approved (with terms, then executed), rejected, expired, by policy."""
    approved = await _open(
        rt,
        refund_bot,
        title="Refund order 1042",
        action={"type": "refund", "amount": "1250.50", "currency": "usd", "target": "order 1042"},
    )
    terms = Ballot(
        Choice.APPROVE, "charged twice", conditions="to the card only", approved_amount=Decimal(1000)
    )
    await votes.cast(rt, public_id=approved.public_id, user="U0TECH001", ballot=terms)
    await votes.cast(rt, public_id=approved.public_id, user="U0FIN0001", ballot=Ballot(Choice.APPROVE))
    agent = await agents.authenticate(f"Bearer {refund_bot.api_key}")
    await execution.report(
        rt,
        agent=agent,
        public_id=approved.public_id,
        body=ExecutionIn(amount=Decimal("999.99"), currency="USD"),
    )

    rejected = await _open(rt, ops_bot, title=FORMULA_TITLE, action={"amount": 80, "currency": "EUR"})
    await votes.cast(
        rt, public_id=rejected.public_id, user="U0PEOPLE1", ballot=Ballot(Choice.ABSTAIN, ABSTAIN_REASON)
    )
    await votes.cast(
        rt, public_id=rejected.public_id, user="U0TECH001", ballot=Ballot(Choice.REJECT, FORMULA_REASON)
    )

    expired = await _open(rt, refund_bot, title="Refund order 7", deadline_seconds=60)
    assert expired.deadline is not None
    await deadlines.expire(rt, expired.id, now=expired.deadline + timedelta(seconds=1))

    by_policy = await _open(rt, refund_bot, title="Small refund", category="small", action={"amount": 20})
    # Decided on four days, a day apart, so `since=` has something to tell apart.
    for days_ago, public_id in enumerate([by_policy.public_id, expired.public_id, rejected.public_id]):
        decided_at = datetime(2026, 3, 4, 12, tzinfo=UTC) - timedelta(days=days_ago)
        await Decision.filter(escalation__public_id=public_id).update(decided_at=decided_at)
    await Decision.filter(escalation__public_id=approved.public_id).update(
        decided_at=datetime(2026, 3, 1, 9, tzinfo=UTC)
    )
    return Log(approved.public_id, rejected.public_id, expired.public_id, by_policy.public_id)


async def configure_log(rt: Runtime) -> Log:
    """Apply LOG_YML, create both agents, and build the log."""
    await config.apply_text(LOG_YML, source="council.yml")
    refund_bot = await agents.create(
        name="refund-bot", owner="U0OWNER01", council="ai-council", server_key=rt.server_key
    )
    ops_bot = await agents.create(
        name="ops-bot", owner="U0OWNER02", council="ai-council", server_key=rt.server_key
    )
    return await build_log(rt, refund_bot, ops_bot)


@pytest.fixture
async def log(database: str, rt: Runtime) -> Log:
    return await configure_log(rt)


def read_csv(text: str) -> list[dict[str, str]]:
    """Read the export as a spreadsheet user's script would, undoing the formula guard."""
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    return [{key: value.removeprefix("'") for key, value in row.items()} for row in rows]


def decisions_of(rows: list[dict[str, str]]) -> dict[str, dict[str, Any]]:
    """Group the rows (one per vote) back into decisions, by escalation id, in file order."""
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        decision = {key: row[key] for key in COLUMNS if not key.startswith("vote_")}
        entry = found.setdefault(row["escalation_id"], {**decision, "votes": []})
        assert {key: entry[key] for key in decision} == decision  # a decision's cells agree on every row
        if row["vote_user"]:
            entry["votes"].append(
                {key.removeprefix("vote_"): row[key] for key in COLUMNS if key.startswith("vote_")}
            )
    return found


async def test_the_latest_come_newest_first_and_each_filter_narrows_them(log: Log) -> None:
    page = await decision_log.latest(Filters(), count=20)
    assert [e.public_id for e in page.entries] == [log.by_policy, log.expired, log.rejected, log.approved]
    assert page.total == 4
    page = await decision_log.latest(Filters(), count=2)
    assert [e.public_id for e in page.entries] == [log.by_policy, log.expired] and page.total == 4

    async def ids(**given: Any) -> list[str]:
        return [e.public_id for e in (await decision_log.latest(Filters(**given), count=20)).entries]

    assert await ids(agent="ops-bot") == [log.rejected]
    assert await ids(agent="refund-bot") == [log.by_policy, log.expired, log.approved]
    assert await ids(outcome="approved") == [log.approved]
    assert await ids(outcome="rejected") == [log.by_policy, log.rejected]
    assert await ids(outcome="expired") == [log.expired]
    assert await ids(since=date(2026, 3, 3)) == [log.by_policy, log.expired]
    assert await ids(since=date(2026, 3, 4)) == [log.by_policy]
    assert await ids(since=date(2026, 3, 5)) == []
    assert await ids(agent="refund-bot", outcome="rejected", since=date(2026, 3, 1)) == [log.by_policy]


async def test_an_entry_carries_the_amounts_the_tally_and_every_vote(log: Log) -> None:
    [entry] = (await decision_log.latest(Filters(outcome="approved"), count=1)).entries
    assert (entry.title, entry.agent, entry.council, entry.kind) == (
        "Refund order 1042",
        "refund-bot",
        "ai-council",
        "approval",
    )
    assert (entry.status, entry.outcome, entry.decided_by) == ("approved", "approved", "council")
    assert (entry.proposed, entry.approved, entry.executed) == (
        Decimal("1250.5"),
        Decimal(1000),
        Decimal("999.99"),
    )
    assert entry.currency == "USD"
    assert entry.tally == {"approve": 2, "reject": 0, "abstain": 0, "recuse": 0, "waiting": 1}
    assert [(v.user, v.function, v.choice, v.reason) for v in entry.votes] == [
        ("U0TECH001", "technology", "approve", "charged twice"),
        ("U0FIN0001", "finance", "approve", None),
    ]
    assert entry.votes[0].conditions == "to the card only" and entry.votes[0].approved_amount == Decimal(1000)
    [expired] = (await decision_log.latest(Filters(outcome="expired"), count=1)).entries
    assert (expired.outcome, expired.decided_by) == ("rejected", "timeout")
    assert expired.reasons == ["no decision by the deadline; a timeout never approves"]


async def test_an_unknown_agent_is_refused_with_the_name_it_most_likely_meant(log: Log) -> None:
    with pytest.raises(NotFound) as refused:
        await decision_log.latest(Filters(agent="refund-bto"), count=20)
    assert refused.value.message == (
        "There is no agent named `refund-bto`. Did you mean `refund-bot`? `/council agents` lists them."
    )
    with pytest.raises(NotFound) as refused:
        await decision_log.latest(Filters(agent="`payroll`"), count=20)
    assert refused.value.message == "There is no agent named `'payroll'`. `/council agents` lists them."


async def test_the_csv_parses_and_gives_back_every_decision_vote_reason_and_amount(log: Log) -> None:
    await Escalation.filter(public_id=log.approved).update(
        channel_id="C0COUNCIL", message_ts="1772355600.000100"
    )
    text = decision_log.csv_text(await decision_log.log(), workspace_url=WORKSPACE)
    rows = read_csv(text)
    assert list(rows[0]) == list(COLUMNS)
    # One row per vote; a decision nobody voted on has one.
    assert [row["escalation_id"] for row in rows] == [log.approved] * 2 + [log.rejected] * 2 + [
        log.expired,
        log.by_policy,
    ]
    found = decisions_of(rows)
    assert list(found) == [log.approved, log.rejected, log.expired, log.by_policy]  # oldest first
    for public_id, decision in found.items():
        stored = await Decision.get(escalation__public_id=public_id).prefetch_related("escalation")
        escalation = stored.escalation
        assert decision["title"] == escalation.title
        assert decision["kind"] == escalation.kind and decision["status"] == escalation.status
        assert decision["outcome"] == stored.outcome and decision["decided_by"] == stored.decided_by
        assert datetime.fromisoformat(decision["decided_at"]) == stored.decided_at
        assert decision["currency"] == (escalation.currency or "")
        for cell, amount in [
            ("proposed_amount", escalation.amount),
            ("approved_amount", stored.approved_amount),
            ("executed_amount", escalation.executed_amount),
        ]:
            assert (Decimal(decision[cell]) if decision[cell] else None) == amount, cell
        tally = {key: int(decision[f"tally_{key}"]) for key in decision_log.TALLY if decision[f"tally_{key}"]}
        assert tally == stored.tally
        assert decision["reasons"].split("\n") == stored.reasons
        assert decision["conditions"] == (stored.conditions or "")
        assert [{k: v for k, v in vote.items() if v} for vote in decision["votes"]] == [
            {k: v for k, v in vote.items() if v is not None} for vote in stored.votes
        ]
    assert found[log.approved]["agent"] == "refund-bot" and found[log.rejected]["agent"] == "ops-bot"
    assert found[log.approved]["council"] == "ai-council"
    assert (
        found[log.approved]["message_link"]
        == "https://council-test.slack.com/archives/C0COUNCIL/p1772355600000100"
    )
    assert found[log.by_policy]["message_link"] == ""  # decided at once: it never had a message
    assert found[log.by_policy]["tally_approve"] == ""  # no vote is not a vote of none
    assert found[log.rejected]["votes"][0]["reason"] == ABSTAIN_REASON


async def test_cells_a_spreadsheet_would_run_as_formulas_start_with_a_quote(log: Log) -> None:
    raw = list(csv.reader(io.StringIO(decision_log.csv_text(await decision_log.log()), newline="")))
    cells = [cell for row in raw for cell in row]
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert "'" + FORMULA_TITLE in cells and "'" + FORMULA_REASON in cells and "'" + ABSTAIN_REASON in cells


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("'=1", "''=1"),
        ("'quoted'", "''quoted'"),
        ("fine = fine", "fine = fine"),
        ("1250", "1250"),
        ("", ""),
    ],
)
def test_neutralised_cells_give_back_the_original_when_one_quote_is_dropped(cell: str, written: str) -> None:
    assert decision_log.neutralised(cell) == written
    assert written.removeprefix("'") == cell


@pytest.mark.parametrize(
    ("url", "channel", "ts", "link"),
    [
        (
            WORKSPACE,
            "C0COUNCIL",
            "1772355600.000100",
            "https://council-test.slack.com/archives/C0COUNCIL/p1772355600000100",
        ),
        (
            "https://acme.enterprise.slack.com",
            "G0PRIVATE",
            "1772355600.123456",
            "https://acme.enterprise.slack.com/archives/G0PRIVATE/p1772355600123456",
        ),
        (None, "C0COUNCIL", "1772355600.000100", None),
        (WORKSPACE, None, "1772355600.000100", None),
        (WORKSPACE, "C0COUNCIL", None, None),
        ("http://council-test.slack.com/", "C0COUNCIL", "1772355600.000100", None),
        ("https://evil.example/x?y=", "C0COUNCIL", "1772355600.000100", None),
        (WORKSPACE, "C0COUNCIL|x", "1772355600.000100", None),
        (WORKSPACE, "C0COUNCIL", "1772355600", None),
    ],
)
def test_a_permalink_is_built_from_the_workspace_url_or_not_at_all(
    url: str | None, channel: str | None, ts: str | None, link: str | None
) -> None:
    assert decision_log.permalink(url, channel, ts) == link


@pytest.mark.parametrize(
    ("domain", "url"),
    [
        ("council-test", WORKSPACE),
        ("Acme", "https://acme.slack.com/"),
        (None, None),
        ("", None),
        ("evil.example/x", None),
        ("-leading-dash", None),
        ("x" * 64, None),
    ],
)
def test_the_workspace_url_comes_from_the_slash_commands_team_domain(
    domain: str | None, url: str | None
) -> None:
    assert decision_log.workspace_of(domain) == url


async def test_only_an_admin_can_ask_for_the_export_and_the_ask_is_audited(log: Log, rt: Runtime) -> None:
    doorbell = rt.outbox.subscribe()
    with pytest.raises(NotAnAdmin):
        await decision_log.ask_export(user=MEMBER, since=None, rt=rt)
    assert not await OutboxItem.filter(kind="decision_log.asked").exists() and not doorbell.is_set()
    await decision_log.ask_export(user=ADMIN, since=date(2026, 3, 2), rt=rt)
    assert doorbell.is_set()  # the worker is woken, not left to its next poll
    row = await OutboxItem.get(kind="decision_log.asked")
    assert row.payload == {"user": ADMIN, "since": "2026-03-02"} and row.escalation_id is None
    audited = await AuditEvent.get(action="decisions.exported")
    assert (audited.actor_type, audited.actor_id, audited.payload) == (
        "admin",
        ADMIN,
        {"since": "2026-03-02"},
    )


async def test_since_limits_the_export_and_an_empty_log_is_just_its_header(log: Log) -> None:
    assert [e.public_id for e in await decision_log.log(since=date(2026, 3, 3))] == [
        log.expired,
        log.by_policy,
    ]
    assert decision_log.csv_text(await decision_log.log(since=date(2030, 1, 1))) == (
        ",".join(f'"{column}"' for column in COLUMNS) + "\r\n"
    )


async def test_a_delegates_vote_reads_back_with_the_seat_it_was_cast_in(database: str, rt: Runtime) -> None:
    await config.apply_text(COUNCIL_YML, source="council.yml")
    creds = await agents.create(
        name="refund-bot", owner="U0OWNER01", council="ai-council", server_key=rt.server_key
    )
    await membership.away(
        actor=ADMIN, user="U0FIN0001", until=date(2099, 1, 1), delegate="U0DEPUTY1", council=None
    )
    escalation = await _open(rt, creds)
    for user in ("U0DEPUTY1", MEMBER):
        await votes.cast(rt, public_id=escalation.public_id, user=user, ballot=Ballot(Choice.APPROVE))
    [row, other] = read_csv(decision_log.csv_text(await decision_log.log()))
    assert (row["vote_user"], row["vote_on_behalf_of"], row["vote_function"]) == (
        "U0DEPUTY1",
        "U0FIN0001",
        "finance",
    )
    assert other["vote_on_behalf_of"] == ""
    stored = await Decision.get(escalation_id=escalation.id)
    assert stored.votes[0]["on_behalf_of"] == "U0FIN0001" and "on_behalf_of" not in stored.votes[1]
