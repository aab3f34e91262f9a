"""Council keeps Slack's rate limits itself: a burst to one channel is paced, other channels go on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.app import slack_client
from bot.governance import Choice
from bot.outbox.pacing import POST_PER_CHANNEL, TIER_3, Call, Pacer
from bot.outbox.worker import OutboxWorker
from bot.runtime import Runtime
from bot.schemas import EscalationIn
from bot.services import agents, config, escalations, votes
from bot.services.agents import Credentials
from bot.services.votes import Ballot
from bot.settings import Settings
from models import Escalation, OutboxItem
from tests.bot.outbox.clocked import clock, fake
from tests.clock import ManualClock
from tests.fakeslack import FakeSlack
from tests.harness import REFUND

__all__ = ["clock", "fake"]

TWO_COUNCILS = """
admins: [U0ADMIN01]
councils:
  - name: ai-council
    channel: C0COUNCIL
    members:
      - {user: U0TECH001, function: technology}
  - name: legal-council
    channel: C0LEGAL
    members:
      - {user: U0LEGAL01, function: legal}
agents:
  # 23 approvals in a minute: past storm control's default of 20, which would group the last ones.
  - {name: refund-bot, owner: U0OWNER01, council: ai-council, limits: {storm_after: 100}}
policies:
  - {name: legal, match: {category: legal}, council: legal-council, rule: {type: single}}
  - {name: refunds, match: {kind: approval}, council: ai-council, rule: {type: single}}
defaults: {council: ai-council}
"""


@pytest.fixture
async def worker(
    rt: Runtime, settings: Settings, fake: FakeSlack, clock: ManualClock
) -> AsyncIterator[OutboxWorker]:
    client = slack_client(settings.model_copy(update={"slack_api_url": fake.api_url}))
    async with aiohttp.ClientSession() as http:
        yield OutboxWorker(rt, client, http, clock=clock.now, sleep=clock.sleep)


async def _escalate(rt: Runtime, api_key: str, **changes: Any) -> Escalation:
    agent = await agents.authenticate(f"Bearer {api_key}")
    body = EscalationIn.model_validate({**REFUND, **changes})
    escalation, _ = await escalations.create(rt, agent=agent, body=body, idempotency_key=None)
    return escalation


def test_the_pacer_lets_a_burst_through_then_one_post_a_second_per_channel() -> None:
    now = [0.0]
    pacer = Pacer(clock=lambda: now[0])
    post = [Call("chat.postMessage", "C1")]
    for _ in range(POST_PER_CHANNEL.burst):
        assert pacer.wait(post) == 0
        pacer.take(post)
    assert pacer.wait(post) == pytest.approx(1.0)
    assert pacer.wait([Call("chat.postMessage", "C2")]) == 0  # another channel's own limit
    now[0] = 1.0
    assert pacer.wait(post) == 0


def test_a_429_holds_that_channel_until_retry_after_and_nothing_else() -> None:
    now = [0.0]
    pacer = Pacer(clock=lambda: now[0])
    pacer.hold(Call("chat.postMessage", "C1"), 30)
    assert pacer.wait([Call("chat.postMessage", "C1")]) == 30
    assert pacer.wait([Call("chat.postMessage", "C2")]) == 0
    assert pacer.wait([Call("chat.update")]) == 0
    now[0] = 30.0
    assert pacer.wait([Call("chat.postMessage", "C1")]) == 0


def test_other_methods_keep_their_tier_whatever_the_channel() -> None:
    pacer = Pacer(clock=lambda: 0.0)
    for channel in ("C1", "C2", "C3", "C4", "C5")[: TIER_3.burst]:
        pacer.take([Call("chat.update", channel)])
    # chat.update is Tier 3, counted per method: 50 a minute, 1.2 s apart once the burst is spent.
    assert pacer.wait([Call("chat.update", "C9")]) == pytest.approx(1.2)


async def test_a_burst_to_one_channel_is_paced_without_429s_and_another_channel_is_not_stalled(
    rt: Runtime, worker: OutboxWorker, fake: FakeSlack, clock: ManualClock, database: str
) -> None:
    await config.apply_text(TWO_COUNCILS, source="council.yml")
    creds = await agents.create(
        name="refund-bot", owner="U0OWNER01", council="ai-council", server_key=rt.server_key
    )
    burst = [await _escalate(rt, creds.api_key, title=f"Refund {n}") for n in range(20)]
    legal = [await _escalate(rt, creds.api_key, title=f"Contract {n}", category="legal") for n in range(3)]
    clock.catch_up()
    start = clock.seconds()
    await worker.deliver_due()

    assert fake.limits.count() == 0
    council_posts = fake.messages("C0COUNCIL")
    legal_posts = fake.messages("C0LEGAL")
    assert len(council_posts) == len(burst) and len(legal_posts) == len(legal)
    posts = [c for c in fake.calls if c.method == "chat.postMessage"]
    assert len(posts) == len(burst) + len(legal) and all(c.ok for c in posts)
    # The burst took Slack's pace, about a second a post past the first few: 17 s on the test's clock.
    last_council = max(float(m.ts) for m in council_posts)
    assert last_council - start >= len(burst) - POST_PER_CHANNEL.burst
    # The other channel went at once, though its rows were written after the whole burst.
    assert max(float(m.ts) for m in legal_posts) - start < 1.0


async def test_a_burst_of_votes_is_one_tally_update_showing_the_final_state(
    settings: Settings,
    credentials: Credentials,
    fake: FakeSlack,
    clock: ManualClock,
) -> None:
    debounced = Runtime(
        settings=settings.model_copy(update={"council_tally_debounce": 2}), server_key=b"k" * 32
    )
    client = slack_client(settings.model_copy(update={"slack_api_url": fake.api_url}))
    async with aiohttp.ClientSession() as http:
        worker = OutboxWorker(debounced, client, http, clock=clock.now, sleep=clock.sleep)
        escalation = await _escalate(debounced, credentials.api_key)
        clock.catch_up()
        await worker.deliver_due()
        # Votes and changes of mind, all within the debounce: none decides (one approve, one reject).
        for user, choice in [
            ("U0TECH001", Choice.ABSTAIN),
            ("U0FIN0001", Choice.ABSTAIN),
            ("U0TECH001", Choice.APPROVE),
            ("U0FIN0001", Choice.REJECT),
        ]:
            ballot = Ballot(choice, reason="over policy" if choice == Choice.REJECT else None)
            await votes.cast(debounced, public_id=escalation.public_id, user=user, ballot=ballot)
        clock.catch_up()
        await worker.deliver_due()
        assert [c for c in fake.calls if c.method == "chat.update"] == []  # still within the debounce
        clock.advance(2.5)
        await worker.deliver_due()
    updates = [c for c in fake.calls if c.method == "chat.update"]
    assert len(updates) == 1 and updates[0].ok
    shown = fake.rendered_text(fake.messages("C0COUNCIL")[0])
    assert "*Tally* Approve 1 · Reject 1 · Abstain 0 · Waiting 1" in shown, shown
    assert "@U0TECH001 (technology): *Approve*" in shown and "@U0FIN0001 (finance): *Reject*" in shown
    assert not await OutboxItem.filter(status="pending").exists()
