"""Storm control in the services: who joins a storm, what it writes, and when it ends."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.errors import Forbidden
from bot.runtime import Runtime
from bot.schemas import EscalationIn
from bot.services import agents, config, deadlines, escalations, storms
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


async def _refund_bot(rt: Runtime) -> str:
    created = await agents.create(
        name="refund-bot", owner="U0OWNER01", council=None, server_key=rt.server_key
    )
    return created.api_key


@pytest.fixture
async def api_key(database: str, rt: Runtime) -> str:
    await config.apply_text(YML, source="council.yml")
    return await _refund_bot(rt)


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
    assert ended.ended_at is not None and ended.open_key is None


async def test_auto_pause_just_past_storm_after_pauses_with_the_escalation_that_starts_the_storm(
    database: str, rt: Runtime
) -> None:
    await config.apply_text(
        YML.replace("storm_after: 2, storm_quiet: 1m", "storm_after: 2, auto_pause_after: 3"),
        source="council.yml",
    )
    key = await _refund_bot(rt)
    opened = [await _open(rt, key) for _ in range(3)]
    assert opened[2].storm_id is not None
    assert await _kinds(opened[2]) == ["storm.opened", "storm.auto_paused"]
    with pytest.raises(Forbidden):
        await _open(rt, key)
    assert (await agents.get("refund-bot")).status == "paused"


TWO_COUNCILS = """
admins: [U0ADMIN01]
councils:
  - name: ai-council
    channel: C0COUNCIL
    members:
      - {user: U0PEOPLE1, function: people, role: chair}
  - name: finance
    channel: C0FINANCE
    members:
      - {user: U0FIN0001, function: finance, role: chair}
agents:
  - {name: refund-bot, owner: U0OWNER01, council: ai-council, limits: {storm_after: 2}}
policies:
  - {name: big, match: {kind: approval, category: big}, council: finance, rule: {type: single}}
  - {name: refunds, match: {kind: approval}, rule: {type: single}, deadline: 4h}
defaults: {council: ai-council}
"""


async def _open_in(rt: Runtime, key: str, category: str | None) -> Escalation:
    agent = await agents.authenticate(f"Bearer {key}")
    payload = {"kind": "approval", "title": "Refund", "action": {"amount": 10}, "category": category}
    body = EscalationIn.model_validate(payload)
    escalation, _ = await escalations.create(rt, agent=agent, body=body, idempotency_key=None)
    return escalation


async def test_a_storm_belongs_to_one_council_and_each_council_gets_its_own(
    database: str, rt: Runtime
) -> None:
    await config.apply_text(TWO_COUNCILS, source="council.yml")
    key = await _refund_bot(rt)
    to_ai = [await _open_in(rt, key, None) for _ in range(4)]
    assert [e.storm_id is not None for e in to_ai] == [False, False, True, True]
    # The agent is storming ai-council, but finance has seen one of its escalations: it gets its own post.
    first_big = await _open_in(rt, key, "big")
    assert first_big.storm_id is None and await _kinds(first_big) == ["escalation.opened"]
    more_big = [await _open_in(rt, key, "big") for _ in range(2)]
    assert [e.storm_id is not None for e in more_big] == [False, True]
    ai_storm, finance_storm = await Storm.all().order_by("id")
    assert ai_storm.channel_id == "C0COUNCIL" and finance_storm.channel_id == "C0FINANCE"
    assert {e.storm_id for e in to_ai[2:]} == {ai_storm.id} and more_big[1].storm_id == finance_storm.id
    assert await _kinds(more_big[1]) == ["storm.opened"]


async def test_escalate_on_timeout_tells_the_chairs_and_owner_once_per_storm(
    database: str, rt: Runtime
) -> None:
    await config.apply_text(
        YML.replace("deadline: 4h,", "deadline: 4h, on_timeout: escalate,"), source="council.yml"
    )
    key = await _refund_bot(rt)
    opened = [await _open(rt, key) for _ in range(6)]
    alone, stormed = opened[:2], opened[2:]
    deadline = max(e.deadline for e in opened if e.deadline)
    await deadlines.sweep(rt, now=deadline + timedelta(seconds=1))
    assert await Escalation.filter(status="pending", extended=True).count() == 6
    # Each escalation posted on its own DMs the chair and the owner, as before.
    for escalation in alone:
        assert (await _kinds(escalation)).count("escalation.escalated") == 2
    # The storm's four DM them once between them, on the storm's first escalation.
    told = await OutboxItem.filter(kind="storm.escalated").values_list("payload", flat=True)
    assert sorted(p["user"] for p in told) == ["U0OWNER01", "U0PEOPLE1"]
    assert not await OutboxItem.filter(kind="escalation.escalated", escalation_id__in=[e.id for e in stormed])
    # A second sweep past the extended deadlines rejects them and tells nobody again.
    await deadlines.sweep(rt, now=deadline + timedelta(hours=5))
    assert await Escalation.filter(status="expired").count() == 6
    assert await OutboxItem.filter(kind="storm.escalated").count() == 2
