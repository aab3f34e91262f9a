"""The digest's figures over a week built by hand: every figure asserted, on SQLite and PostgreSQL.

The week is 2026-W48 for a council in Europe/Berlin (UTC+1 in November): Monday 23 November 00:00
local to Monday 30 November 00:00 local. The week before (W47) is built too, for the changes.
Rows are written directly with the times they would have had, so each figure can be worked out by
hand from the table in each test's comments.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.db import transaction
from bot.runtime import Runtime
from bot.services import agents, audit, config, digest
from bot.services.digest_figures import Digest
from models import (
    Agent,
    AuditEvent,
    Council,
    Decision,
    DigestWeek,
    Escalation,
    OutboxItem,
    Person,
    PulseAnswer,
    Storm,
    Vote,
)
from models.enums import DecidedBy, Delivery, Kind, Outcome, Status

YML = """
admins: [U0ADMIN01]
councils:
  - name: ai-council
    channel: C0COUNCIL
    timezone: Europe/Berlin
    digest: {day: mon, time: "09:00"}
    members:
      - {user: U0PEOPLE1, function: people, role: chair}
      - {user: U0TECH001, function: technology}
      - {user: U0FIN0001, function: finance}
      - {user: U0LEGAL01, function: legal, delegate: U0PEOPLE1}
policies:
  - {name: everything, match: {}, rule: {type: majority}}
"""
P, T, F, L = "U0PEOPLE1", "U0TECH001", "U0FIN0001", "U0LEGAL01"
THREE = [P, T, F]
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # Wednesday of W49
_ids = itertools.count(1)


def berlin(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A November 2026 wall-clock time in Berlin (UTC+1), as UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=1)


async def _escalation(
    agent: Agent,
    council: Council,
    *,
    kind: Kind = Kind.APPROVAL,
    status: Status,
    created: datetime,
    closed: datetime | None = None,
    electorate: list[str] | None = None,
    decided_by: DecidedBy | None = None,
    votes: dict[str, str] | None = None,
    acknowledged: datetime | None = None,
    related: str | None = None,
) -> Escalation:
    number = next(_ids)
    escalation = await Escalation.create(
        public_id=f"esc_{number:020x}",
        agent=agent,
        request_hash="test",
        kind=kind,
        title=f"escalation {number}",
        status=status,
        council=council,
        channel_id=council.channel_id,
        electorate=[{"user": u, "function": "x", "role": "member"} for u in electorate or []],
        created_at=created,
        closed_at=closed,
        acknowledged_at=acknowledged,
        resolved_at=closed if status == Status.RESOLVED else None,
        related=related,
        amount=Decimal(100),
    )
    if decided_by is not None:
        outcome = Outcome.APPROVED if status == Status.APPROVED else Outcome.REJECTED
        await Decision.create(escalation=escalation, outcome=outcome, decided_by=decided_by)
        await Decision.filter(escalation=escalation).update(decided_at=closed)
    for user, choice in (votes or {}).items():
        await Vote.create(escalation=escalation, user_id=user, function="x", choice=choice)
    return escalation


async def _reminded(
    escalation: Escalation, user: str, done: datetime | None, dropped: str | None = None
) -> None:
    await OutboxItem.create(
        last_error=dropped,
        kind="escalation.reminder",
        escalation=escalation,
        payload={"user": user},
        status=Delivery.DONE if done else Delivery.PENDING,
        next_attempt_at=done or NOW,
        done_at=done,
    )


async def _paused(name: str, at: datetime) -> None:
    """An `agent.paused` event in the audit trail at `at` (moved there: the chain is not checked here)."""
    async with transaction() as conn:
        await audit.record(
            conn, actor_type="admin", actor_id="U0ADMIN01", action="agent.paused", subject=name
        )
    last = await AuditEvent.filter(action="agent.paused", subject=name).order_by("-id").first()
    assert last is not None
    await AuditEvent.filter(id=last.id).update(at=at)


@pytest.fixture
async def week(database: str, rt: Runtime) -> Council:
    """W47 and W48 as the table in each test describes them."""
    global _ids
    _ids = itertools.count(1)
    await config.apply_text(YML, source="council.yml")
    council = await Council.get(name="ai-council")
    for name, owner in (("refund-bot", "U0OWNER01"), ("ops-bot", "U0OWNER02")):
        await agents.create(name=name, owner=owner, council="ai-council", server_key=rt.server_key)
    refund, ops = await Agent.get(name="refund-bot"), await Agent.get(name="ops-bot")
    approved, rejected = Status.APPROVED, Status.REJECTED
    people = DecidedBy.COUNCIL

    # W47: two quick council decisions and one (A8) that waits into W48.
    b1 = await _escalation(
        refund,
        council,
        status=approved,
        created=berlin(17, 10),
        closed=berlin(17, 10, 10),
        electorate=THREE,
        decided_by=people,
        votes={P: "approve", T: "approve"},
    )
    await _escalation(
        refund,
        council,
        status=approved,
        created=berlin(18, 10),
        closed=berlin(18, 10, 20),
        electorate=THREE,
        decided_by=people,
        votes={P: "approve", F: "approve"},
    )
    await _escalation(
        refund,
        council,
        status=approved,
        created=berlin(20, 10),
        closed=berlin(23, 11),
        electorate=THREE,
        decided_by=people,
        votes={P: "approve", F: "approve"},
    )
    await _reminded(b1, F, berlin(17, 10, 5))

    # W48.
    a1 = await _escalation(
        refund,
        council,
        status=approved,
        created=berlin(23, 10),
        closed=berlin(23, 10, 30),
        electorate=THREE,
        decided_by=people,
        votes={P: "approve", T: "approve"},
    )
    await _escalation(
        refund,
        council,
        status=rejected,
        created=berlin(24, 20),
        closed=berlin(25, 10),
        electorate=THREE,
        decided_by=people,
        votes={F: "reject", P: "reject"},
    )
    await _escalation(
        refund,
        council,
        status=approved,
        created=berlin(25, 12),
        closed=berlin(25, 12),
        decided_by=DecidedBy.POLICY,
    )
    a4 = await _escalation(
        refund,
        council,
        status=Status.EXPIRED,
        created=berlin(26, 9),
        closed=berlin(27, 9),
        electorate=THREE,
        decided_by=DecidedBy.TIMEOUT,
    )
    await _escalation(
        refund,
        council,
        status=Status.WITHDRAWN,
        created=berlin(27, 16, 30),
        closed=berlin(27, 17),
        electorate=THREE,
        votes={T: "abstain"},
    )
    a6 = await _escalation(
        refund,
        council,
        status=Status.PENDING,
        created=berlin(28, 11),
        electorate=[P, T, F, L],
        votes={T: "recuse"},
    )
    await _escalation(
        refund,
        council,
        status=approved,
        created=berlin(29, 23, 30),
        closed=berlin(30, 10),
        electorate=THREE,
        decided_by=DecidedBy.OWNER,
    )
    await _escalation(
        ops,
        council,
        kind=Kind.INCIDENT,
        status=Status.RESOLVED,
        created=berlin(24, 10),
        acknowledged=berlin(24, 10, 20),
        closed=berlin(25, 10),
    )
    await _escalation(
        refund,
        council,
        kind=Kind.INCIDENT,
        status=Status.ACKNOWLEDGED,
        created=berlin(26, 16),
        acknowledged=berlin(26, 17),
        related=a1.public_id,
    )
    await _escalation(
        ops,
        council,
        kind=Kind.NOTICE,
        status=Status.POSTED,
        created=berlin(25, 9, 30),
        closed=berlin(25, 9, 30),
    )
    for user in THREE:
        await _reminded(a4, user, berlin(26, 21))
    await _reminded(a6, L, berlin(28, 15))
    await _reminded(a6, P, None)  # still waiting: not sent, not counted
    await _reminded(a6, T, berlin(28, 16), dropped="dropped: U0TECH001 has voted")  # never sent

    await Storm.create(agent=refund, council=council, started_at=berlin(25, 14), last_at=berlin(25, 14, 5))
    await _paused(refund.name, berlin(26, 17))
    await _paused(ops.name, berlin(19, 9))  # in W47

    await Person.create(user_id=P, timezone="Europe/Berlin")
    await Person.create(user_id=T, timezone="Europe/Berlin", work_start="08:00", work_end="16:00")
    await Person.create(user_id=F, timezone="America/New_York")
    for user, score in ((P, 4), (T, 2), (F, 3)):
        await PulseAnswer.create(council=council, user_id=user, week="2026-W48", score=score)
    for user, score in ((P, 1), (T, 1)):
        await PulseAnswer.create(council=council, user_id=user, week="2026-W47", score=score)
    return council


async def _digest(council: Council) -> Digest:
    return await digest.compute(council, digest.read_week(council, "2026-W48", NOW), now=NOW)


async def test_flow_figures_of_the_week(week: Council) -> None:
    """W48 opened A1–A7 (approvals), I1, I2 (incidents) and N1 (a notice); closed A1, A2, A3, A4, A5
    and W47's A8. People decided A1 in 30 min, A2 in 14 h, A8 in 3 d 1 h; A4 expired."""
    found = (await _digest(week)).week
    flow = found.flow
    assert (found.week, found.start, found.end, found.complete) == (
        "2026-W48",
        berlin(23, 0),
        berlin(30, 0),
        True,
    )
    assert flow.escalations == 10
    assert flow.by_kind == {"approval": 7, "incident": 2, "notice": 1}
    assert flow.by_agent == {"refund-bot": 8, "ops-bot": 2}
    assert flow.outcomes.model_dump() == {
        "approved_by_council": 2,
        "approved_by_policy": 1,
        "approved_by_owner_or_admin": 0,
        "rejected": 1,
        "expired": 1,
        "withdrawn": 1,
    }
    assert flow.decided_by_people == 3
    # Nearest rank: the 2nd of 3 (median) and the 3rd of 3 (p90).
    assert flow.median_seconds == pytest.approx(14 * 3600, abs=0.01)
    assert flow.p90_seconds == pytest.approx(73 * 3600, abs=0.01)
    assert flow.decided_before_deadline == 0.75
    # Open at the week's end: A6 (pending), A7 (closed only in W49) and I2 (owned, not resolved).
    assert flow.backlog == 3
    assert flow.oldest_open is not None
    assert flow.oldest_open.title == "escalation 12"  # I2, opened Thursday 16:00
    assert flow.oldest_open.age_seconds == pytest.approx(
        (berlin(30, 0) - berlin(26, 16)).total_seconds(), abs=0.01
    )
    assert flow.incidents.model_dump() == {
        "opened": 2,
        "owned": 2,
        "resolved": 1,
        "median_seconds_to_own": pytest.approx(1200, abs=0.01),
    }
    assert flow.execution_mismatches == 1
    assert flow.agents_paused == ["refund-bot"]
    assert flow.storms == 1
    assert found.chart.days == ["Mon 23", "Tue 24", "Wed 25", "Thu 26", "Fri 27", "Sat 28", "Sun 29"]
    assert found.chart.series == {
        "approved": [1, 0, 1, 0, 0, 0, 1],
        "rejected": [0, 1, 0, 0, 0, 0, 0],
        "expired": [0, 0, 0, 1, 0, 0, 0],
        "withdrawn": [0, 0, 0, 0, 1, 0, 0],
        "open": [0, 0, 0, 1, 0, 1, 0],
        "other": [0, 1, 1, 0, 0, 0, 0],
    }
    assert found.chart.waits == {"< 15 min": 0, "< 1 h": 1, "< 4 h": 0, "< 24 h": 1, "≥ 24 h": 1}


async def test_flourishing_figures_of_the_week(week: Council) -> None:
    """Asks: A1, A2, A4, A5, A7 seat P, T, F; A6 seats all four; A3 (policy) seats no one.
    P and T keep Berlin hours (T 08:00–16:00), F New York's, L has none cached (UTC)."""
    people = (await _digest(week)).week.flourishing
    loads = {m.user: (m.asked, m.voted, m.out_of_hours, m.reminders) for m in people.members}
    assert loads == {
        # P: out of hours for A2 (Tue 20:00) and A7 (Sun 23:30).
        P: (6, 2, 2, 1),
        # T: A2, A5 (Fri 16:30, after T's 16:00) and A7; voted on A1, abstained on A5, recused on A6.
        T: (6, 3, 3, 1),
        # F, six hours behind: A1 (04:00), A4 (03:00) and A6 (05:00) are before 09:00 in New York.
        F: (6, 1, 3, 1),
        L: (1, 0, 0, 1),
    }
    assert [m.user for m in people.members] == [P, T, F, L]
    assert people.asks == 19
    # P, T and F tie at six asks: the top share is 6/19, and no one is named busiest.
    assert (people.busiest, people.busiest_share) == (None, pytest.approx(6 / 19))
    assert people.gini == pytest.approx(15 / 76)
    assert people.reminders == 4
    assert people.out_of_hours == 8
    assert people.not_taking_part == [L]
    assert people.delegations == {L: P}
    assert people.pulse.model_dump() == {
        "answered": 3,
        "average": pytest.approx(3.0),
        "counts": {1: 0, 2: 1, 3: 1, 4: 1, 5: 0},
    }


async def test_each_figure_is_compared_with_last_week(week: Council) -> None:
    found = await _digest(week)
    before = found.previous
    assert before.week == "2026-W47"
    assert before.flow.escalations == 3
    assert (before.flow.median_seconds, before.flow.p90_seconds) == (
        pytest.approx(600, abs=0.01),
        pytest.approx(1200, abs=0.01),
    )
    assert before.flow.backlog == 1 and before.flow.oldest_open is not None
    assert before.flow.agents_paused == ["ops-bot"]
    assert before.flourishing.asks == 9 and before.flourishing.gini == pytest.approx(0.25)
    assert before.flourishing.out_of_hours == 3 and before.flourishing.reminders == 1
    # Two answers only: nothing but the count is shown.
    assert before.flourishing.pulse.model_dump() == {"answered": 2, "average": None, "counts": None}
    changes = {key: (c.now, c.before, c.arrow) for key, c in found.changes.items()}
    assert changes["escalations"] == (10, 3, "↑")
    assert changes["p90_seconds"] == (pytest.approx(262800, abs=0.01), pytest.approx(1200, abs=0.01), "↑")
    assert changes["decided_before_deadline"] == (0.75, 1.0, "↓")
    assert changes["backlog"] == (3, 1, "↑")
    assert changes["gini"] == (pytest.approx(15 / 76), pytest.approx(0.25), "↓")
    assert changes["delegations"] == (1, 1, "→")
    assert changes["pulse_average"] == (pytest.approx(3.0), None, "→")
    assert changes["agents_paused"] == (1, 1, "→")


async def test_what_to_look_at_follows_from_the_figures(week: Council) -> None:
    assert (await _digest(week)).look_at == [
        "p90 time to decision grew 219× (20 min → 3.0 d); look at who was not reached in time",
        "1 approval expired undecided; check deadlines, reminders and whether the right members are asked",
        "1 execution report went beyond what was approved; review the agents' mandates",
        "42 % of asks came outside members' working hours; "
        "consider longer deadlines or a member in another timezone",
        "<@U0LEGAL01> did not vote this week although asked; check their availability or delegation",
    ]


async def test_a_week_that_has_not_ended_reads_up_to_now(week: Council) -> None:
    found = await digest.compute(week, digest.read_week(week, "2026-W48", NOW), now=berlin(26, 12))
    flow = found.week.flow
    assert not found.week.complete
    # Thursday noon: A6, A7 and I2 are not opened yet; A4 (opened 09:00) waits.
    assert flow.backlog == 1 and flow.oldest_open is not None and flow.oldest_open.title.endswith(" 7")


async def test_a_week_that_is_over_is_kept_and_next_weeks_digest_compares_with_it(week: Council) -> None:
    first = await _digest(week)
    assert sorted(await DigestWeek.filter(council=week).values_list("week", flat=True)) == [
        "2026-W47",
        "2026-W48",
    ]
    # A late change to W48 (a new escalation dated in it) is not read again: W49's digest compares
    # with what W48's digest said.
    refund = await Agent.get(name="refund-bot")
    await _escalation(refund, week, status=Status.PENDING, created=berlin(25, 12), electorate=THREE)
    later = await digest.compute(week, digest.read_week(week, "2026-W49", NOW), now=NOW)
    assert later.previous == first.week
    assert later.changes["escalations"].before == 10
    # The week not over yet is read afresh each time, and not kept.
    assert not later.week.complete
    assert not await DigestWeek.filter(council=week, week="2026-W49").exists()
