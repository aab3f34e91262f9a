"""Storm control in the services: who joins a storm, what it writes, and when it ends."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.errors import Forbidden
from bot.runtime import Runtime
from bot.schemas import EscalationIn
from bot.services import agents, config, escalations, storms
from models import Escalation, OutboxItem, Storm

YML = """
admins: [U0ADMIN01]
councils:
  - name: ai-council
    channel: C0COUNCIL
    members:
      - {user: U0PEOPLE1, function: people, role: chair}
      - {user: U0TECH001, function: technology}
agents:
  - {name: refund-bot, owner: U0OWNER01, council: ai-council, limits: {storm_after: 2, storm_quiet: 1m}}
policies:
  - {name: refunds, match: {kind: approval}, rule: {type: majority}, deadline: 4h, remind: ["50%"]}
defaults: {council: ai-council}
"""


@pytest.fixture
async def api_key(database: str, rt: Runtime) -> str:
    await config.apply_text(YML, source="council.yml")
    return (
        await agents.create(name="refund-bot", owner="U0OWNER01", council=None, server_key=rt.server_key)
    ).api_key


async def _open(rt: Runtime, key: str, kind: str = "approval") -> Escalation:
    agent = await agents.authenticate(f"Bearer {key}")
    body = EscalationIn.model_validate({"kind": kind, "title": "Refund", "action": {"amount": 10}})
    escalation, _ = await escalations.create(rt, agent=agent, body=body, idempotency_key=None)
    return escalation


async def _kinds(escalation: Escalation) -> list[str]:
    return list(await OutboxItem.filter(escalation=escalation).order_by("id").values_list("kind", flat=True))


async def test_past_storm_after_escalations_join_one_storm_without_posts_or_reminders(
    rt: Runtime, api_key: str
) -> None:
    opened = [await _open(rt, api_key) for _ in range(12)]
    alone, stormed = opened[:2], opened[2:]
    for escalation in alone:
        assert escalation.storm_id is None and escalation.remind_at
        assert await _kinds(escalation) == ["escalation.opened"]
    assert {e.storm_id for e in stormed} == {(await Storm.get()).id}
    assert all(e.remind_at == [] and e.deadline is not None for e in stormed)
    # The first one carries the grouped message's post and its one waiting re-render, however many joined.
    assert await _kinds(stormed[0]) == ["storm.opened", "storm.changed"]
    for escalation in stormed[1:]:
        assert await _kinds(escalation) == []


async def test_incidents_keep_their_own_message_during_a_storm(rt: Runtime, api_key: str) -> None:
    for _ in range(4):
        await _open(rt, api_key)
    incident = await _open(rt, api_key, kind="incident")
    assert incident.storm_id is None
    assert await _kinds(incident) == ["escalation.opened"]


async def test_a_storm_ends_after_its_agents_quiet_spell_once(rt: Runtime, api_key: str) -> None:
    for _ in range(4):
        await _open(rt, api_key)
    storm = await Storm.get()
    assert await storms.end_quiet(rt, now=storm.last_at + timedelta(seconds=59)) == 0
    assert await storms.end_quiet(rt, now=storm.last_at + timedelta(seconds=61)) == 1
    assert await storms.end_quiet(rt, now=storm.last_at + timedelta(seconds=61)) == 0
    ended = await Storm.get()
    assert ended.ended_at is not None and ended.open_agent_id is None


async def test_auto_pause_just_past_storm_after_pauses_with_the_escalation_that_starts_the_storm(
    database: str, rt: Runtime
) -> None:
    await config.apply_text(
        YML.replace("storm_after: 2, storm_quiet: 1m", "storm_after: 2, auto_pause_after: 3"),
        source="council.yml",
    )
    key = (
        await agents.create(name="refund-bot", owner="U0OWNER01", council=None, server_key=rt.server_key)
    ).api_key
    opened = [await _open(rt, key) for _ in range(3)]
    assert opened[2].storm_id is not None
    assert await _kinds(opened[2]) == ["storm.opened", "storm.auto_paused"]
    with pytest.raises(Forbidden):
        await _open(rt, key)
    assert (await agents.get("refund-bot")).status == "paused"
