"""Recovery at once: capped, jittered backoff; Slack's return brings waiting rows forward; restarts too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from bot import db
from bot.app import slack_client
from bot.outbox import recovery
from bot.outbox.worker import OutboxWorker
from bot.runtime import Runtime
from bot.schemas import EscalationIn
from bot.services import agents, escalations
from bot.services.agents import Credentials
from bot.settings import Settings
from models import Escalation, OutboxItem
from tests.bot.outbox.clocked import clock, fake
from tests.clock import ManualClock
from tests.fakeslack import FakeSlack
from tests.harness import REFUND

__all__ = ["clock", "fake"]

OPENED = "escalation.opened"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def worker(
    rt: Runtime, settings: Settings, fake: FakeSlack, http: aiohttp.ClientSession, clock: ManualClock
) -> OutboxWorker:
    """A worker on the test's clock."""
    return _worker(rt, settings, fake, http, clock)


def _worker(
    rt: Runtime, settings: Settings, fake: FakeSlack, http: aiohttp.ClientSession, clock: ManualClock | None
) -> OutboxWorker:
    client = slack_client(settings.model_copy(update={"slack_api_url": fake.api_url}), metrics=rt.metrics)
    if clock is None:
        return OutboxWorker(rt, client, http)
    return OutboxWorker(rt, client, http, clock=clock.now, sleep=clock.sleep)


async def _escalate(rt: Runtime, creds: Credentials, **changes: Any) -> Escalation:
    agent = await agents.authenticate(f"Bearer {creds.api_key}")
    body = EscalationIn.model_validate({**REFUND, **changes})
    escalation, _ = await escalations.create(rt, agent=agent, body=body, idempotency_key=None)
    return escalation


def _top_level_posts(fake: FakeSlack) -> list[Any]:
    return [c for c in fake.calls if c.method == "chat.postMessage" and c.ok and "thread_ts" not in c.args]


@pytest.mark.parametrize("attempts", [1, 3, 7, 12, 40])
def test_slack_backoff_doubles_from_a_second_with_jitter_and_never_passes_a_minute(attempts: int) -> None:
    ceiling = min(2.0 ** (attempts - 1), 60.0)
    delays = {recovery.retry_delay(OPENED, attempts) for _ in range(200)}
    assert all(ceiling / 2 <= d <= ceiling for d in delays)
    assert len(delays) > 1  # jittered: rows that failed together do not return together


def test_callbacks_have_their_own_longer_cap() -> None:
    delays = [recovery.retry_delay("agent.callback", 60) for _ in range(200)]
    assert max(delays) <= recovery.CALLBACK_BACKOFF_CAP and min(delays) >= recovery.CALLBACK_BACKOFF_CAP / 2
    assert recovery.CALLBACK_BACKOFF_CAP > recovery.SLACK_BACKOFF_CAP


async def test_a_minute_long_outage_then_everything_posts_within_seconds_each_once(
    rt: Runtime, credentials: Credentials, fake: FakeSlack, clock: ManualClock, worker: OutboxWorker
) -> None:
    fake.down = True
    opened = [await _escalate(rt, credentials, title=f"Refund {n}") for n in range(5)]
    clock.catch_up()
    outage_ends = clock.now() + timedelta(seconds=60)
    while clock.now() < outage_ends:  # a minute of Slack answering 503, on the test's clock
        await worker.deliver_due()
        clock.advance(0.5)
    rows = await OutboxItem.filter(kind=OPENED).order_by("id")
    assert [r.status for r in rows] == ["pending"] * 5 and all(r.last_error for r in rows)
    assert fake.messages("C0COUNCIL") == []
    # Backed off, not hammering: at most 7 tries of each row's own (1 s doubling to a minute) and
    # a probe every few seconds, where a poll every half second would have made 600.
    assert all(r.attempts >= 2 for r in rows) and sum(r.attempts for r in rows) <= 60, [
        r.attempts for r in rows
    ]
    # As a longer outage leaves them: every row a full minute away, so only the probe and the
    # recovery can bring them back within seconds.
    await OutboxItem.filter(kind=OPENED).update(next_attempt_at=outage_ends + timedelta(seconds=60))

    fake.down = False
    while len(fake.messages("C0COUNCIL")) < 5 and clock.now() < outage_ends + timedelta(seconds=60):
        await worker.deliver_due()
        clock.advance(0.5)
    recovered_in = (clock.now() - outage_ends).total_seconds()
    assert recovered_in <= recovery.PROBE_SECONDS + 3, fake.dump()
    titles = sorted(fake.rendered_text(m).splitlines()[0] for m in fake.messages("C0COUNCIL"))
    assert titles == sorted(f"🟡 Approval needed: {e.title}" for e in opened)
    assert len(_top_level_posts(fake)) == 5 and fake.limits.count() == 0
    assert await OutboxItem.filter(kind=OPENED, status="done").count() == 5


async def test_success_after_failures_makes_the_rows_in_backoff_due_at_once(
    rt: Runtime, credentials: Credentials, fake: FakeSlack, clock: ManualClock, worker: OutboxWorker
) -> None:
    fake.down = True
    waiting = [await _escalate(rt, credentials, title=f"Refund {n}") for n in range(3)]
    clock.catch_up()
    await worker.deliver_due()
    far = clock.now() + timedelta(minutes=1)
    await OutboxItem.filter(kind=OPENED).update(next_attempt_at=far)  # deep in backoff
    fake.down = False
    fresh = await _escalate(rt, credentials, title="Refund after the outage")
    clock.catch_up()
    await worker.deliver_due()  # the new row's post succeeds: Slack is back
    assert rt.slack.failing_since is None and rt.slack.recoveries == 1
    await worker.deliver_due()  # no time has passed on the test's clock
    posted = {m.metadata["event_payload"]["escalation_id"] for m in fake.messages("C0COUNCIL") if m.metadata}
    assert posted == {e.public_id for e in [*waiting, fresh]}
    assert len(_top_level_posts(fake)) == 4


async def test_rows_waiting_for_a_429_keep_waiting_when_slack_recovers(
    rt: Runtime, credentials: Credentials, fake: FakeSlack, clock: ManualClock, worker: OutboxWorker
) -> None:
    limited = await _escalate(rt, credentials)
    fake.fail_next("chat.postMessage", status=429, retry_after=30)
    clock.catch_up()
    await worker.deliver_due()
    row = await OutboxItem.get(escalation=limited, kind=OPENED)
    assert row.status == "pending" and row.next_attempt_at >= clock.now() + timedelta(seconds=30)
    rt.slack.failed("slack: HTTP 503")
    rt.slack.ok()  # a recovery: rows in backoff come forward, but Slack said when for this one
    await worker.deliver_due()
    limited_calls = rt.metrics.registry.get_sample_value(
        "council_slack_ratelimited_total", {"method": "chat.postMessage"}
    )
    assert _top_level_posts(fake) == [] and limited_calls == 1
    clock.advance(30)
    await worker.deliver_due()
    assert len(_top_level_posts(fake)) == 1


async def test_every_pending_row_is_due_at_once_after_a_restart(
    rt: Runtime, settings: Settings, credentials: Credentials, http: aiohttp.ClientSession
) -> None:
    async with FakeSlack() as fake:
        backoff, crashed, held = [await _escalate(rt, credentials, title=f"Refund {n}") for n in range(3)]
        now = datetime.now(UTC)
        # What a killed process left: a row deep in backoff, and a claim it never finished.
        await OutboxItem.filter(escalation=backoff).update(
            attempts=6, last_error="slack: HTTP 503", next_attempt_at=now + timedelta(minutes=1)
        )
        await OutboxItem.filter(escalation=crashed).update(
            attempts=1, locked_until=now - timedelta(seconds=1), next_attempt_at=now + timedelta(seconds=59)
        )
        # A claim that has not lapsed: a killed process's on SQLite, perhaps a live replica's on PostgreSQL.
        await OutboxItem.filter(escalation=held).update(
            attempts=1, locked_until=now + timedelta(seconds=59), next_attempt_at=now + timedelta(seconds=59)
        )
        # A row written to wait, never tried: a debounced tally keeps its time.
        debounced = await OutboxItem.create(
            kind="escalation.tally",
            escalation=backoff,
            payload={},
            next_attempt_at=now + timedelta(minutes=1),
        )
        worker = _worker(rt, settings, fake, http, None)
        running = asyncio.create_task(worker.run())
        try:
            expected = 3 if db.dialect() == "sqlite" else 2
            await fake.wait_for(lambda: len(fake.messages("C0COUNCIL")) >= expected, timeout=30)
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
    posted = {m.metadata["event_payload"]["escalation_id"] for m in fake.messages("C0COUNCIL") if m.metadata}
    if db.dialect() == "sqlite":
        assert posted == {backoff.public_id, crashed.public_id, held.public_id}
    else:
        assert posted == {backoff.public_id, crashed.public_id}
        assert (await OutboxItem.get(escalation=held, kind=OPENED)).status == "pending"
    assert len(_top_level_posts(fake)) == len(posted)
    await debounced.refresh_from_db()
    assert debounced.status == "pending" and debounced.next_attempt_at == now + timedelta(minutes=1)
