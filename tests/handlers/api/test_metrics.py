"""/metrics as Prometheus reads it: named by its conventions, each counter moved by exactly what happened."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from bot.app_keys import RUNTIME
from bot.services import deadlines
from bot.settings import Settings
from bot.slack import ids
from models import Escalation, OutboxItem
from models.enums import Delivery, Status
from tests.harness import COUNCIL_YML, REFUND, Harness, running_council

OPERATIONS_GUIDE = Path(__file__).parents[3] / "docs" / "operations.md"
Key = tuple[str, frozenset[tuple[str, str]]]


class Scrape:
    """One answer of /metrics, parsed by Prometheus's own parser."""

    def __init__(self, text: str) -> None:
        self.families = list(text_string_to_metric_families(text))
        self.samples: dict[Key, float] = {}
        for family in self.families:
            for sample in family.samples:
                self.samples[_key(sample)] = sample.value

    def value(self, name: str, **labels: str) -> float | None:
        return self.samples.get((name, frozenset(labels.items())))

    def counters(self) -> dict[Key, float]:
        """Every counter sample, by name and labels."""
        return {
            _key(s): s.value for family in self.families if family.type == "counter" for s in family.samples
        }

    def count(self, counter: str, by: str) -> dict[str, float]:
        """The samples of one counter, by the value of one of its labels."""
        return {dict(labels)[by]: v for (name, labels), v in self.counters().items() if name == counter}


def _key(sample: Sample) -> Key:
    return sample.name, frozenset(sample.labels.items())


async def scrape(council: Harness) -> Scrape:
    """GET /metrics and check Prometheus's naming conventions on the whole answer."""
    async with council.http.get(f"{council.url}/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == CONTENT_TYPE_LATEST
        parsed = Scrape(await response.text())
    names = [family.name for family in parsed.families]
    assert len(names) == len(set(names)), f"a metric appears twice: {sorted(names)}"
    for family in parsed.families:
        assert family.name.startswith("council_"), family.name
        assert family.documentation, f"{family.name} has no HELP"
        sample_names = {sample.name for sample in family.samples}
        if family.type == "counter":
            # The parser names a counter's family without `_total`; its samples carry it.
            assert sample_names <= {f"{family.name}_total"}, (family.name, sample_names)
        elif family.type == "histogram":
            assert family.name.endswith("_seconds"), family.name
            assert sample_names <= {f"{family.name}_{part}" for part in ("bucket", "count", "sum")}
        else:
            assert family.type == "gauge", (family.name, family.type)
            assert not family.name.endswith(("_total", "_created")), family.name
    return parsed


async def until(check: Callable[[], Awaitable[object]], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + 30
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


async def settled(council: Harness) -> Scrape:
    """Wait until the outbox is empty and the metrics count each Slack call the fake received."""
    found: list[Scrape] = []

    async def counted_every_call() -> bool:
        if await OutboxItem.filter(status=Delivery.PENDING).exists():
            return False
        found[:] = [await scrape(council)]
        received = Counter(call.method for call in council.fake.calls)
        return found[0].count("council_slack_api_calls_total", "method") == dict(received)

    await until(counted_every_call, "every Slack call counted once the outbox is empty")
    return found[0]


async def test_a_decided_escalation_moves_each_counter_by_exactly_what_happened(council: Harness) -> None:
    council.fake.fail_next("chat.postMessage", status=429, retry_after=1)
    council.sink.fail = 1  # the agent's first answer is a 503: one failed attempt, then a retry
    _, created = await council.escalate()
    esc = created["id"]
    await council.reject("U0PEOPLE1", esc, "Twice the usual amount")  # views.open, through Bolt's client
    await council.click("U0TECH001", ids.APPROVE, esc)
    await council.click("U0FIN0001", ids.APPROVE, esc)

    await until(lambda: _callback_failed_once(), "the first callback attempt failed")
    # The retry's backoff is seconds away; bring it forward rather than wait for it.
    await OutboxItem.filter(kind="agent.callback").update(next_attempt_at=datetime.now(UTC))
    council.app[RUNTIME].outbox.ring()
    await until(lambda: _true(bool(council.sink.received)), "the callback was delivered")
    metrics = await settled(council)

    calls = Counter(call.method for call in council.fake.calls)
    assert calls["views.open"] == 1 and calls["chat.postMessage"] >= 2  # the 429, then the post
    failed = [call for call in council.fake.calls if not call.ok]
    assert [(call.method, call.error) for call in failed] == [("chat.postMessage", "429:ratelimited")]
    assert metrics.counters() == {
        ("council_escalations_opened_total", frozenset({("kind", "approval")})): 1,
        ("council_escalations_closed_total", frozenset({("kind", "approval"), ("status", "approved")})): 1,
        ("council_votes_total", frozenset({("choice", "approve")})): 2,
        ("council_votes_total", frozenset({("choice", "reject")})): 1,
        ("council_callback_attempts_total", frozenset()): 2,
        ("council_callback_failures_total", frozenset({("reason", "status")})): 1,
        ("council_slack_ratelimited_total", frozenset({("method", "chat.postMessage")})): 1,
        ("council_storms_started_total", frozenset()): 0,
        **{("council_slack_api_calls_total", frozenset({("method", m)})): n for m, n in calls.items()},
    }
    assert metrics.value("council_decision_seconds_count", decided_by="council") == 1
    took = metrics.value("council_decision_seconds_sum", decided_by="council")
    assert took is not None and 0 < took < 60
    assert metrics.value("council_decision_seconds_bucket", decided_by="council", le="60.0") == 1
    assert metrics.value("council_decision_seconds_bucket", decided_by="council", le="+Inf") == 1
    assert metrics.value("council_escalations_open", kind="approval", status="pending") == 0
    for lane in ("slack", "agents"):
        assert metrics.value("council_outbox_pending", lane=lane) == 0
        assert metrics.value("council_outbox_dead", lane=lane) == 0


async def _callback_failed_once() -> bool:
    return await OutboxItem.filter(kind="agent.callback", last_error__isnull=False).exists()


async def _true(value: bool) -> bool:
    return value


async def test_gauges_read_what_is_open_now_and_a_withdrawal_is_no_decision(council: Harness) -> None:
    _, created = await council.escalate({**REFUND})
    esc = created["id"]
    await council.posted(esc)
    waiting = asyncio.create_task(council.get(esc, wait=30))

    async def polled() -> bool:
        return (await scrape(council)).value("council_long_polls_open") == 1

    await until(polled, "the long poll shows as open")
    metrics = await scrape(council)
    assert metrics.value("council_escalations_open", kind="approval", status="pending") == 1
    assert metrics.value("council_escalations_open", kind="incident", status="open") == 0
    assert metrics.value("council_escalations_open", kind="incident", status="acknowledged") == 0
    assert metrics.value("council_storms_open") == 0

    status, _ = await council.api("POST", f"/escalations/{esc}/withdraw", {"reason": "Customer cancelled"})
    assert status == 200
    status, body = await asyncio.wait_for(waiting, timeout=15)
    assert status == 200 and body["status"] == "withdrawn"
    metrics = await settled(council)
    assert metrics.value("council_long_polls_open") == 0
    assert metrics.value("council_escalations_open", kind="approval", status="pending") == 0
    assert metrics.count("council_escalations_closed_total", "status") == {"withdrawn": 1}
    assert metrics.value("council_escalations_closed_total", kind="approval", status="withdrawn") == 1
    assert not [key for key in metrics.samples if key[0].startswith("council_decision_seconds")]
    assert metrics.count("council_votes_total", "choice") == {}


async def test_a_dead_post_counts_its_slack_error_and_its_lane(council: Harness) -> None:
    council.fake.fail_next("chat.postMessage", status=200, error="channel_not_found")
    await council.escalate({**REFUND})
    await until(
        lambda: OutboxItem.filter(kind="escalation.opened", status=Delivery.DEAD).exists(), "the post died"
    )
    _, notice = await council.escalate({"kind": "notice", "title": "FYI: refunds paused overnight"})
    await council.posted(notice["id"])
    metrics = await settled(council)
    assert metrics.value("council_outbox_dead", lane="slack") == 1
    assert metrics.value("council_outbox_dead", lane="agents") == 0
    errors = {k: v for k, v in metrics.counters().items() if k[0] == "council_slack_api_errors_total"}
    assert errors == {
        (
            "council_slack_api_errors_total",
            frozenset({("method", "chat.postMessage"), ("error", "channel_not_found")}),
        ): 1
    }
    assert metrics.count("council_escalations_opened_total", "kind") == {"approval": 1, "notice": 1}
    assert metrics.value("council_escalations_closed_total", kind="notice", status="posted") == 1
    assert metrics.value("council_escalations_open", kind="approval", status="pending") == 1
    assert metrics.count("council_slack_ratelimited_total", "method") == {}


async def test_an_expiry_and_a_resolved_incident_are_counted(council: Harness) -> None:
    _, created = await council.escalate({**REFUND})
    await council.posted(created["id"])
    _, incident = await council.escalate({"kind": "incident", "title": "Refund queue stuck"})
    await council.posted(incident["id"])
    await council.click("U0TECH001", ids.TAKE_OWNERSHIP, incident["id"])
    await until(lambda: _status(incident["id"], Status.ACKNOWLEDGED), "the incident was taken")
    owned = await scrape(council)
    assert owned.value("council_escalations_open", kind="incident", status="acknowledged") == 1
    assert owned.value("council_escalations_open", kind="incident", status="open") == 0
    notes = {ids.NOTES_BLOCK: {ids.NOTES_INPUT: "Restarted the worker."}}
    await council.through_modal("U0TECH001", ids.RESOLVE, incident["id"], notes)
    # The deadline passes: the sweep the scheduler runs every minute expires it.
    await Escalation.filter(public_id=created["id"]).update(deadline=datetime.now(UTC) - timedelta(seconds=1))
    await deadlines.sweep(council.app[RUNTIME])
    metrics = await settled(council)
    assert metrics.count("council_escalations_opened_total", "kind") == {"approval": 1, "incident": 1}
    assert metrics.counters()[_closed("incident", "resolved")] == 1
    assert metrics.counters()[_closed("approval", "expired")] == 1
    assert len([key for key in metrics.counters() if key[0] == "council_escalations_closed_total"]) == 2
    assert metrics.value("council_decision_seconds_count", decided_by="timeout") == 1
    assert metrics.value("council_decision_seconds_count", decided_by="council") is None
    assert metrics.value("council_escalations_open", kind="incident", status="acknowledged") == 0


async def _status(public_id: str, status: Status) -> bool:
    return await Escalation.filter(public_id=public_id, status=status).exists()


def _closed(kind: str, status: str) -> Key:
    return "council_escalations_closed_total", frozenset({("kind", kind), ("status", status)})


STORMY_YML = COUNCIL_YML.replace(
    "{name: refund-bot, owner: U0OWNER01, council: ai-council}",
    "{name: refund-bot, owner: U0OWNER01, council: ai-council,"
    " limits: {storm_after: 2, auto_budget_24h: 100}}",
).replace(
    "policies:\n",
    "policies:\n  - {name: small-refunds, match: {kind: approval, amount_lt: 50}, decide: approve}\n",
)


@pytest.fixture
async def stormy(settings: Settings) -> AsyncIterator[Harness]:
    assert STORMY_YML != COUNCIL_YML
    async with running_council(settings, council_yml=STORMY_YML) as harness:
        yield harness


async def test_a_storm_and_a_policy_decision_are_counted(stormy: Harness) -> None:
    for n in range(3):  # the third within a minute is over storm_after: it starts the storm
        status, _ = await stormy.escalate({**REFUND, "title": f"Refund order {n}"})
        assert status == 201
    small = {**REFUND, "title": "Small refund", "action": {**REFUND["action"], "amount": 10}}
    status, body = await stormy.escalate(small)
    assert status == 201 and body["status"] == "approved"
    metrics = await settled(stormy)
    assert metrics.value("council_storms_started_total") == 1
    assert metrics.value("council_storms_open") == 1
    assert metrics.count("council_escalations_opened_total", "kind") == {"approval": 4}
    assert metrics.count("council_escalations_closed_total", "status") == {"approved": 1}
    assert metrics.value("council_decision_seconds_count", decided_by="policy") == 1
    assert metrics.value("council_escalations_open", kind="approval", status="pending") == 3


async def test_every_metric_is_documented_in_the_operations_guide(council: Harness) -> None:
    metrics = await scrape(council)
    guide = OPERATIONS_GUIDE.read_text()
    section = guide[guide.index("## Metrics") :]
    documented = set(re.findall(r"`(council_[a-z_]+)`", section))
    served = {
        f"{family.name}_total" if family.type == "counter" else family.name for family in metrics.families
    }
    assert served == documented
