"""A long poll is one shared waiter per escalation, woken by the decision, here or on another replica."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.governance import Choice
from bot.runtime import Runtime
from bot.schemas import EscalationIn
from bot.services import agents, escalations, votes
from bot.services.agents import Credentials
from bot.services.votes import Ballot
from models import Escalation


async def _open(rt: Runtime, creds: Credentials) -> tuple[Escalation, object]:
    agent = await agents.authenticate(f"Bearer {creds.api_key}")
    body = EscalationIn.model_validate({"kind": "approval", "title": "Refund order 1042"})
    escalation, _ = await escalations.create(rt, agent=agent, body=body, idempotency_key=None)
    return escalation, agent


async def _until(predicate: Callable[[], bool]) -> None:
    for _ in range(3000):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("still false after 30 s")


async def _settle_down() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_many_polls_of_one_escalation_share_one_waiter(rt: Runtime, credentials: Credentials) -> None:
    escalation, agent = await _open(rt, credentials)
    polls = [
        asyncio.create_task(
            escalations.wait_for_decision(rt, agent=agent, public_id=escalation.public_id, seconds=30)
        )
        for _ in range(40)
    ]
    await _until(lambda: rt.long_polls.count() == 40)
    assert rt.decided.watched() == [escalation.public_id]
    await votes.cast(rt, public_id=escalation.public_id, user="U0TECH001", ballot=Ballot(Choice.APPROVE))
    await votes.cast(rt, public_id=escalation.public_id, user="U0FIN0001", ballot=Ballot(Choice.APPROVE))
    answered = await asyncio.wait_for(asyncio.gather(*polls), timeout=30)
    assert {e.status for e in answered} == {"approved"}
    assert rt.decided.watched() == [] and rt.long_polls.count() == 0


async def test_a_decision_on_another_replica_wakes_the_poll(rt: Runtime, credentials: Credentials) -> None:
    escalation, agent = await _open(rt, credentials)
    poll = asyncio.create_task(
        escalations.wait_for_decision(rt, agent=agent, public_id=escalation.public_id, seconds=30)
    )
    await _until(lambda: bool(rt.decided.watched()))
    other_replica = Runtime(settings=rt.settings, server_key=rt.server_key)
    for user in ("U0TECH001", "U0FIN0001"):
        await votes.cast(
            other_replica, public_id=escalation.public_id, user=user, ballot=Ballot(Choice.APPROVE)
        )
    await _settle_down()
    assert not poll.done(), "nothing in this process was told of the decision yet"
    await escalations.wake_decided(rt)
    assert (await asyncio.wait_for(poll, timeout=30)).status == "approved"
