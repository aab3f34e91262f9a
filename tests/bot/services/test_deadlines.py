"""Time: reminders go to those who have not voted; a deadline never approves silently."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import EscalationClosed
from bot.governance import Choice
from bot.runtime import Runtime
from bot.schemas import EscalationIn
from bot.services import agents, config, deadlines, escalations, incidents, votes
from bot.services.votes import Ballot
from models import Decision, Escalation, OutboxItem

TIMED = """
admins: [U0ADMIN01]
councils:
  - name: ai-council
    channel: C0COUNCIL
    members:
      - {user: U0PEOPLE1, function: people, role: chair}
      - {user: U0TECH001, function: technology}
      - {user: U0FIN0001, function: finance}
agents:
  - {name: refund-bot, owner: U0OWNER01, council: ai-council}
policies:
  - {name: reminded, match: {category: reminded}, rule: {type: majority}, deadline: 4h, remind: ["50%"]}
  - {name: extended, match: {category: extended}, rule: {type: majority}, on_timeout: extend}
  - {name: escalated, match: {category: escalated}, rule: {type: majority}, on_timeout: escalate}
  - {name: hourly, match: {category: hourly}, rule: {type: majority}, deadline: 4h, remind: ["50%", "1h"]}
  - name: extended-reminded
    match: {category: extended-reminded}
    rule: {type: majority}
    deadline: 2h
    remind: ["50%"]
    on_timeout: extend
defaults: {council: ai-council}
"""


@pytest.fixture
async def agent_key(database: str, rt: Runtime) -> str:
    await config.apply_text(TIMED, source="council.yml")
    return (
        await agents.create(name="refund-bot", owner="U0OWNER01", council=None, server_key=rt.server_key)
    ).api_key


async def _open(rt: Runtime, key: str, category: str, **more: object) -> Escalation:
    agent = await agents.authenticate(f"Bearer {key}")
    body = EscalationIn.model_validate(
        {"kind": "approval", "title": "Refund", "category": category, "callback_url": "http://127.0.0.1:9/cb"}
        | more
    )
    escalation, _ = await escalations.create(rt, agent=agent, body=body, idempotency_key=None)
    return escalation


async def _age(escalation: Escalation, *, past_deadline: bool) -> None:
    """Move the clock: shift the escalation's times back instead of waiting."""
    shift = (
        (escalation.deadline - escalation.created_at) + timedelta(seconds=1)
        if past_deadline
        else (escalation.deadline - escalation.created_at) / 2 + timedelta(seconds=1)
    )
    remind_at = [(datetime.fromisoformat(at) - shift).isoformat() for at in escalation.remind_at]
    await Escalation.filter(id=escalation.id).update(
        created_at=escalation.created_at - shift, deadline=escalation.deadline - shift, remind_at=remind_at
    )


async def _dms(escalation: Escalation) -> list[str]:
    # Every direct message names the person it goes to.
    direct = ("escalation.reminder", "escalation.escalated", "incident.unowned_alert", "agent.paused")
    rows = await OutboxItem.filter(escalation=escalation, kind__in=direct).order_by("id")
    return [row.payload["user"] for row in rows]


async def test_reminders_go_only_to_members_who_have_not_voted(rt: Runtime, agent_key: str) -> None:
    escalation = await _open(rt, agent_key, "reminded")
    await votes.cast(rt, public_id=escalation.public_id, user="U0TECH001", ballot=Ballot(Choice.APPROVE))
    await deadlines.sweep(rt)
    assert await _dms(escalation) == []
    await _age(await Escalation.get(id=escalation.id), past_deadline=False)
    await deadlines.sweep(rt)
    await deadlines.sweep(rt)
    assert await _dms(escalation) == ["U0PEOPLE1", "U0FIN0001"]


async def test_timeout_rejects_and_tells_the_agent(rt: Runtime, agent_key: str) -> None:
    escalation = await _open(rt, agent_key, "anything")
    await _age(escalation, past_deadline=True)
    await deadlines.sweep(rt)
    await escalation.refresh_from_db()
    decision = await Decision.get(escalation=escalation)
    assert escalation.status == "expired"
    assert (decision.outcome, decision.decided_by) == ("rejected", "timeout")
    callback = await OutboxItem.get(escalation=escalation, kind="agent.callback")
    assert callback.payload["body"]["escalation"]["status"] == "expired"


async def test_extend_gives_one_more_period_then_rejects(rt: Runtime, agent_key: str) -> None:
    escalation = await _open(rt, agent_key, "extended")
    await _age(escalation, past_deadline=True)
    await deadlines.sweep(rt)
    await escalation.refresh_from_db()
    assert escalation.status == "pending" and escalation.extended
    assert escalation.deadline > datetime.now(UTC)
    await _age(escalation, past_deadline=True)
    await deadlines.sweep(rt)
    await escalation.refresh_from_db()
    assert escalation.status == "expired"


async def test_escalate_tells_the_chair_and_the_owner(rt: Runtime, agent_key: str) -> None:
    escalation = await _open(rt, agent_key, "escalated")
    await _age(escalation, past_deadline=True)
    await deadlines.sweep(rt)
    await escalation.refresh_from_db()
    assert escalation.status == "pending"
    assert await _dms(escalation) == ["U0PEOPLE1", "U0OWNER01"]


async def test_no_vote_slips_in_between_the_deadline_and_the_sweep(rt: Runtime, agent_key: str) -> None:
    escalation = await _open(rt, agent_key, "anything")
    await _age(escalation, past_deadline=True)
    with pytest.raises(EscalationClosed, match="deadline has passed"):
        await votes.cast(rt, public_id=escalation.public_id, user="U0TECH001", ballot=Ballot(Choice.APPROVE))
    await deadlines.sweep(rt)
    await escalation.refresh_from_db()
    assert escalation.status == "expired"


@pytest.mark.parametrize(
    ("body", "default_deadline", "seconds"),
    [
        ({"kind": "incident"}, None, 3600),  # nobody says: an hour
        ({"kind": "incident"}, "2h", 7200),  # the default route's
        ({"kind": "incident", "category": "reminded"}, "2h", 4 * 3600),  # the matching policy's
        ({"kind": "incident", "category": "reminded", "deadline_seconds": 600}, "2h", 600),  # the agent's
        ({"kind": "approval"}, None, 24 * 3600),
        ({"kind": "notice", "deadline_seconds": 600}, None, None),
    ],
)
async def test_whose_deadline_an_escalation_gets(
    rt: Runtime, agent_key: str, body: dict[str, object], default_deadline: str | None, seconds: int | None
) -> None:
    """What README, docs/agents.md and the OpenAPI document say about deadlines, incidents' above all."""
    if default_deadline:
        routes = f"defaults: {{council: ai-council, deadline: {default_deadline}}}"
        await config.apply_text(
            TIMED.replace("defaults: {council: ai-council}", routes), source="council.yml"
        )
    agent = await agents.authenticate(f"Bearer {agent_key}")
    opened, _ = await escalations.create(
        rt,
        agent=agent,
        body=EscalationIn.model_validate({"title": "Queue stuck", **body}),
        idempotency_key=None,
    )
    got = opened.deadline and round((opened.deadline - opened.created_at).total_seconds())
    assert got == seconds


async def test_an_unowned_incident_is_escalated_once_to_the_chair_and_the_owner(
    rt: Runtime, agent_key: str
) -> None:
    agent = await agents.authenticate(f"Bearer {agent_key}")
    body = EscalationIn.model_validate({"kind": "incident", "title": "Refund queue stuck"})
    incident, _ = await escalations.create(rt, agent=agent, body=body, idempotency_key=None)
    assert incident.status == "open" and incident.deadline is not None
    assert round((incident.deadline - incident.created_at).total_seconds()) == 3600
    await deadlines.sweep(rt)
    assert await _dms(incident) == []
    await _age(incident, past_deadline=True)
    await deadlines.sweep(rt)
    await deadlines.sweep(rt)
    assert await _dms(incident) == ["U0PEOPLE1", "U0OWNER01"]
    await incident.refresh_from_db()
    assert incident.status == "open"


async def test_an_owned_incident_is_not_escalated(rt: Runtime, agent_key: str) -> None:
    agent = await agents.authenticate(f"Bearer {agent_key}")
    body = EscalationIn.model_validate({"kind": "incident", "title": "Refund queue stuck"})
    incident, _ = await escalations.create(rt, agent=agent, body=body, idempotency_key=None)
    await incidents.take_ownership(rt, public_id=incident.public_id, user="U0TECH001")
    await _age(await Escalation.get(id=incident.id), past_deadline=True)
    await deadlines.sweep(rt)
    assert await _dms(incident) == []


def _before_deadline(escalation: Escalation) -> list[float]:
    """Each reminder as seconds before the escalation's deadline (both are stored from one clock)."""
    assert escalation.deadline is not None
    return [(escalation.deadline - datetime.fromisoformat(at)).total_seconds() for at in escalation.remind_at]


async def test_a_share_of_the_deadline_is_a_share_of_the_escalations_own(rt: Runtime, agent_key: str) -> None:
    # The policy's deadline is 4 h; this escalation's is 60 s, so "50%" is 30 s in, not 2 h.
    escalation = await _open(rt, agent_key, "reminded", deadline_seconds=60)
    opened = escalation.created_at
    await deadlines.sweep(rt, now=opened + timedelta(seconds=29))
    assert await _dms(escalation) == []
    await deadlines.sweep(rt, now=opened + timedelta(seconds=31))
    assert await _dms(escalation) == ["U0PEOPLE1", "U0TECH001", "U0FIN0001"]


@pytest.mark.parametrize(
    ("more", "before_deadline"),
    [
        ({}, [3 * 3600, 2 * 3600]),  # the policy's 4 h: 1 h in, and half of it
        ({"deadline_seconds": 600}, [300]),  # half of 10 min; "1h" falls after the deadline, left out
        ({"deadline_seconds": 7200}, [3600]),  # half of 2 h is 1 h in: one reminder, not two
    ],
)
async def test_which_reminders_an_escalation_gets(
    rt: Runtime, agent_key: str, more: dict[str, object], before_deadline: list[int]
) -> None:
    escalation = await _open(rt, agent_key, "hourly", **more)
    assert _before_deadline(escalation) == before_deadline


async def test_after_an_extend_the_new_period_is_reminded_like_the_first(rt: Runtime, agent_key: str) -> None:
    escalation = await _open(rt, agent_key, "extended-reminded", deadline_seconds=120)
    opened, first_deadline = escalation.created_at, escalation.deadline
    assert first_deadline is not None
    await deadlines.sweep(rt, now=opened + timedelta(seconds=61))
    assert len(await _dms(escalation)) == 3
    extended_at = opened + timedelta(seconds=121)
    await deadlines.sweep(rt, now=extended_at)
    await escalation.refresh_from_db()
    assert escalation.extended and escalation.deadline == extended_at + (first_deadline - opened)
    await deadlines.sweep(rt, now=extended_at + timedelta(seconds=59))
    assert len(await _dms(escalation)) == 3
    await deadlines.sweep(rt, now=extended_at + timedelta(seconds=61))
    assert await _dms(escalation) == ["U0PEOPLE1", "U0TECH001", "U0FIN0001"] * 2
