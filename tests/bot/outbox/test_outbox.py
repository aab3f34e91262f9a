"""The outbox under failure: Slack 429s and outages, lost answers, agents that are down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot import keys
from bot.app import slack_client
from bot.governance import Choice
from bot.outbox.worker import OutboxWorker
from bot.runtime import Runtime
from bot.schemas import EscalationIn, ExecutionIn
from bot.services import agents, config, escalations, execution, votes
from bot.services.agents import Credentials
from bot.services.votes import Ballot
from bot.settings import Settings
from models import Escalation, OutboxItem
from tests.fakeslack import FakeSlack
from tests.harness import REFUND, CallbackSink

AUTO_YML = """
admins: [U0ADMIN01]
councils:
  - name: ai-council
    channel: C0COUNCIL
    members:
      - {user: U0TECH001, function: technology}
agents:
  - {name: auto-bot, owner: U0OWNER01, council: ai-council}
policies:
  - {name: small, match: {category: small}, decide: approve}
defaults: {council: ai-council}
"""


@pytest.fixture
async def sink() -> AsyncIterator[CallbackSink]:
    receiver = CallbackSink()
    app = web.Application()
    app.router.add_post("/callback", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    receiver.url = f"http://{host}:{port}/callback"
    yield receiver
    await runner.cleanup()


@pytest.fixture
async def worker(rt: Runtime, settings: Settings, fake: FakeSlack) -> AsyncIterator[OutboxWorker]:
    client = slack_client(settings.model_copy(update={"slack_api_url": fake.api_url}))
    async with aiohttp.ClientSession() as http:
        yield OutboxWorker(rt, client, http)


async def _escalate(rt: Runtime, creds: Credentials, **changes: Any) -> Escalation:
    agent = await agents.authenticate(f"Bearer {creds.api_key}")
    escalation, _ = await escalations.create(
        rt, agent=agent, body=EscalationIn.model_validate({**REFUND, **changes}), idempotency_key=None
    )
    return escalation


async def _time_passes() -> None:
    """Make every waiting row due now, as if its backoff had elapsed."""
    await OutboxItem.filter(status="pending").update(next_attempt_at=datetime.now(UTC))


def _posts(fake: FakeSlack) -> list[Any]:
    return [call for call in fake.calls if call.method == "chat.postMessage" and call.ok]


async def test_rate_limited_post_waits_its_retry_after_then_posts_once(
    rt: Runtime, credentials: Credentials, worker: OutboxWorker, fake: FakeSlack
) -> None:
    escalation = await _escalate(rt, credentials)
    fake.fail_next("chat.postMessage", status=429, retry_after=30)
    before = datetime.now(UTC)
    await worker.deliver_due()
    row = await OutboxItem.get(escalation=escalation, kind="escalation.opened")
    assert row.status == "pending" and "ratelimited" in (row.last_error or "")
    # One call: the 429 is not retried inside it; the row comes back when Slack said to.
    assert [c.method for c in fake.calls] == ["chat.postMessage"] and _posts(fake) == []
    assert row.next_attempt_at >= before + timedelta(seconds=30)
    await _time_passes()
    await worker.deliver_due()
    await row.refresh_from_db()
    assert row.status == "done" and len(_posts(fake)) == 1
    assert len(fake.messages("C0COUNCIL")) == 1


async def test_slack_outage_loses_nothing(
    rt: Runtime, credentials: Credentials, worker: OutboxWorker, fake: FakeSlack
) -> None:
    fake.down = True
    opened = [await _escalate(rt, credentials, title=f"Refund {n}") for n in range(3)]
    await worker.deliver_due()
    assert fake.messages("C0COUNCIL") == []
    fake.down = False
    await _time_passes()
    await worker.deliver_due()
    titles = {m.blocks[0]["text"]["text"] for m in fake.messages("C0COUNCIL")}
    assert titles == {f"🟡 Approval needed: {e.title}" for e in opened}


async def test_lost_answer_after_a_post_does_not_post_twice(
    rt: Runtime, credentials: Credentials, worker: OutboxWorker, fake: FakeSlack
) -> None:
    escalation = await _escalate(rt, credentials)
    await worker.deliver_due()
    assert len(_posts(fake)) == 1
    # The process died after Slack posted but before it recorded the ts: the row is due again.
    await Escalation.filter(id=escalation.id).update(message_ts=None)
    await OutboxItem.filter(escalation=escalation).update(status="pending", next_attempt_at=datetime.now(UTC))
    await worker.deliver_due()
    await escalation.refresh_from_db()
    assert len(_posts(fake)) == 1
    assert escalation.message_ts == fake.messages("C0COUNCIL")[0].ts


async def test_callback_is_retried_with_the_same_event_id_until_2xx(
    rt: Runtime, credentials: Credentials, worker: OutboxWorker, sink: CallbackSink
) -> None:
    sink.fail = 2
    escalation = await _escalate(rt, credentials, callback_url=sink.url)
    await worker.deliver_due()
    for user in ("U0TECH001", "U0FIN0001"):
        await votes.cast(
            rt, public_id=escalation.public_id, user=user, ballot=Ballot(Choice.APPROVE, reason=None)
        )
    for _ in range(3):
        await worker.deliver_due()
        await _time_passes()
    assert sink.attempts == 3 and len(sink.received) == 1
    assert len(set(sink.event_ids)) == 1
    headers, body = sink.received[0]
    assert keys.verify(credentials.signing_secret, body, headers["Council-Signature"])
    row = await OutboxItem.get(escalation=escalation, kind="agent.callback")
    assert row.status == "done" and row.attempts == 3
    assert headers["Council-Event-Id"] == row.payload["body"]["id"]


async def test_callback_to_a_refused_address_is_parked_not_sent(
    rt: Runtime, credentials: Credentials, settings: Settings, fake: FakeSlack, sink: CallbackSink
) -> None:
    escalation = await _escalate(rt, credentials, callback_url=sink.url)
    strict = Runtime(
        settings=settings.model_copy(update={"council_allow_private_callbacks": False}),
        server_key=rt.server_key,
    )
    async with aiohttp.ClientSession() as http:
        guarded = OutboxWorker(
            strict, slack_client(settings.model_copy(update={"slack_api_url": fake.api_url})), http
        )
        for user in ("U0TECH001", "U0FIN0001"):
            await votes.cast(
                rt, public_id=escalation.public_id, user=user, ballot=Ballot(Choice.APPROVE, reason=None)
            )
        await guarded.deliver_due()
    row = await OutboxItem.get(escalation=escalation, kind="agent.callback")
    assert row.status == "dead" and "refused address 127.0.0.1" in (row.last_error or "")
    assert sink.attempts == 0


async def test_retry_joins_a_public_channel_to_check_its_history(
    rt: Runtime, credentials: Credentials, worker: OutboxWorker, fake: FakeSlack
) -> None:
    escalation = await _escalate(rt, credentials)
    await worker.deliver_due()
    await Escalation.filter(id=escalation.id).update(message_ts=None)
    await OutboxItem.filter(escalation=escalation).update(status="pending", next_attempt_at=datetime.now(UTC))
    fake.fail_next("conversations.history", status=200, error="not_in_channel")
    await worker.deliver_due()
    assert [c.method for c in fake.calls if c.method.startswith("conversations.")] == [
        "conversations.history",
        "conversations.join",
        "conversations.history",
    ]
    assert len(_posts(fake)) == 1


async def test_unreadable_history_still_posts_rather_than_lose_the_escalation(
    rt: Runtime, credentials: Credentials, worker: OutboxWorker, fake: FakeSlack
) -> None:
    escalation = await _escalate(rt, credentials)
    fake.fail_next("chat.postMessage", status=503, times=2)
    await worker.deliver_due()
    await _time_passes()
    fake.fail_next("conversations.history", status=200, error="missing_scope")
    await worker.deliver_due()
    await escalation.refresh_from_db()
    assert escalation.message_ts is not None and len(_posts(fake)) == 1


async def test_a_decision_update_absorbs_the_pending_debounced_tally(
    settings: Settings, credentials: Credentials, fake: FakeSlack
) -> None:
    debounced = Runtime(
        settings=settings.model_copy(update={"council_tally_debounce": 30}), server_key=b"k" * 32
    )
    client = slack_client(settings.model_copy(update={"slack_api_url": fake.api_url}))
    async with aiohttp.ClientSession() as http:
        worker = OutboxWorker(debounced, client, http)
        escalation = await _escalate(debounced, credentials)
        await worker.deliver_due()
        for user in ("U0TECH001", "U0FIN0001"):
            await votes.cast(
                debounced, public_id=escalation.public_id, user=user, ballot=Ballot(Choice.APPROVE)
            )
        await worker.deliver_due()
        await _time_passes()
        await worker.deliver_due()
    updates = [c for c in fake.calls if c.method == "chat.update" and c.ok]
    assert len(updates) == 1 and "Approved" in fake.rendered_text(fake.messages("C0COUNCIL")[0])
    assert not await OutboxItem.filter(status="pending").exists()


async def test_callbacks_have_their_own_lane(
    rt: Runtime, credentials: Credentials, worker: OutboxWorker, fake: FakeSlack, sink: CallbackSink
) -> None:
    escalation = await _escalate(rt, credentials, callback_url=sink.url)
    for user in ("U0TECH001", "U0FIN0001"):
        await votes.cast(rt, public_id=escalation.public_id, user=user, ballot=Ballot(Choice.APPROVE))
    await worker.deliver_due(lane="agents")
    assert len(sink.received) == 1 and fake.calls == []
    await worker.deliver_due(lane="slack")
    assert len(_posts(fake)) == 2 and len(sink.received) == 1


async def test_an_auto_decided_escalation_leaves_nothing_stuck_in_the_outbox(
    database: str, rt: Runtime, worker: OutboxWorker, fake: FakeSlack
) -> None:
    await config.apply_text(AUTO_YML, source="council.yml")
    creds = await agents.create(name="auto-bot", owner="U0OWNER01", council=None, server_key=rt.server_key)
    escalation = await _escalate(rt, creds, category="small")
    assert escalation.status == "approved" and escalation.message_ts is None
    await execution.report(
        rt,
        agent=await agents.get("auto-bot"),
        public_id=escalation.public_id,
        body=ExecutionIn(amount=Decimal("99999")),
    )
    await worker.deliver_due()
    await _time_passes()
    await worker.deliver_due()
    stuck = await OutboxItem.filter(status="pending").values_list("kind", flat=True)
    assert stuck == []
    incident = await Escalation.get(kind="incident")
    assert incident.message_ts is not None and (await agents.get("auto-bot")).status == "paused"


async def test_follow_ups_of_a_post_that_died_are_parked_not_retried_forever(
    rt: Runtime, credentials: Credentials, worker: OutboxWorker, fake: FakeSlack
) -> None:
    escalation = await _escalate(rt, credentials)
    fake.fail_next("chat.postMessage", status=200, error="channel_not_found")
    await worker.deliver_due()
    await votes.cast(rt, public_id=escalation.public_id, user="U0TECH001", ballot=Ballot(Choice.APPROVE))
    await worker.deliver_due()
    rows = await OutboxItem.filter(escalation=escalation).order_by("id").values_list("kind", "status")
    assert rows == [("escalation.opened", "dead"), ("escalation.tally", "dead")]


async def test_later_rows_of_an_escalation_wait_for_an_earlier_one_in_backoff(
    rt: Runtime, credentials: Credentials, worker: OutboxWorker, fake: FakeSlack
) -> None:
    escalation = await _escalate(rt, credentials)
    fake.fail_next("chat.postMessage", status=503, times=2)
    await worker.deliver_due()
    await votes.cast(rt, public_id=escalation.public_id, user="U0TECH001", ballot=Ballot(Choice.APPROVE))
    await worker.deliver_due()
    assert [c.method for c in fake.calls if c.ok] == []
    await _time_passes()
    await worker.deliver_due()
    assert [c.method for c in fake.calls if c.ok and c.method.startswith("chat.")] == [
        "chat.postMessage",
        "chat.update",
    ]


async def test_a_post_retried_after_its_later_rows_came_due_still_goes_first(
    rt: Runtime, credentials: Credentials, worker: OutboxWorker, fake: FakeSlack
) -> None:
    """A 429's retry can leave the post due after the rows queued behind it: they must not bar it."""
    escalation = await _escalate(rt, credentials)
    fake.fail_next("chat.postMessage")
    await worker.deliver_due()
    await votes.cast(rt, public_id=escalation.public_id, user="U0TECH001", ballot=Ballot(Choice.APPROVE))
    now = datetime.now(UTC)
    rows = OutboxItem.filter(escalation=escalation, status="pending")
    await rows.filter(kind="escalation.opened").update(next_attempt_at=now)
    await rows.exclude(kind="escalation.opened").update(next_attempt_at=now - timedelta(seconds=1))
    await worker.deliver_due()
    assert [c.method for c in fake.calls if c.ok and c.method.startswith("chat.")] == [
        "chat.postMessage",
        "chat.update",
    ]
