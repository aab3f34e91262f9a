"""Benchmark the vote path: members click Approve in Slack, Council acks, decides and calls the agent back.

    python -m bench.votes [--escalations M] [--concurrency C] [--database sqlite|postgres]

M escalations (unanimous rule) each get three signed block_actions clicks on /slack/events. Baseline,
in the same process and event loop: the same signed requests to a Bolt AsyncApp mounted the same way,
whose only listener acks.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bench.council import CHANNEL, MEMBERS, arguments, council, escalation_request, posts
from bench.database import Database, temporary_database
from bench.figures import Latency, Row, latency_rows, report
from bench.load import LoadRun, Request, fire, serving
from bench.machine import describe
from bot.app import _slack_events
from bot.app_keys import BOLT, SLACK_CLIENT
from bot.slack import ids
from models import Decision, OutboxItem
from tests.fakeslack import FakeSlack, Message, signed_headers
from tests.harness import SIGNING_SECRET, Harness

OUTSIDER = "U0OUTSIDER"  # not on the council: a warm-up click that records nothing
WARM_UP = 10


class DecisionSink:
    """The agent's callback endpoint: notes when each escalation's decision arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.statuses: Counter[str] = Counter()

    async def receive(self, request: web.Request) -> web.Response:
        at = time.perf_counter()
        escalation = (await request.json())["escalation"]
        self.arrived[escalation["id"]] = at
        self.statuses[escalation["status"]] += 1
        return web.Response(status=204)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/callback", self.receive)
        return app


@dataclass(frozen=True)
class Result:
    """Both click runs, the escalations in click order, and what the agent was told."""

    council: LoadRun
    baseline: LoadRun
    escalations: list[str]
    sink: DecisionSink
    decided_wall: dict[str, float]  # when each decision was recorded (its decided_at), wall clock
    # Web API calls Council made from the first counted click until its outbox was empty.
    slack_calls: Counter[str]


async def ack_only(ack: AsyncAck) -> None:
    await ack()


def baseline_app(client: AsyncWebClient) -> web.Application:
    """A Bolt app with one listener that only acks, mounted on /slack/events as Council mounts its own."""
    bolt = AsyncApp(client=client, signing_secret=SIGNING_SECRET)
    bolt.action(ids.APPROVE)(ack_only)
    app = web.Application()
    app[BOLT] = bolt
    app.router.add_post("/slack/events", _slack_events)
    return app


def click(fake: FakeSlack, user: str, public_id: str, message_ts: str) -> Request:
    """Return a signed click on Approve on the escalation's message, as Slack sends it."""
    body = fake.block_action_body(user, ids.APPROVE, public_id, channel_id=CHANNEL, message_ts=message_ts)
    return Request("/slack/events", body.encode(), signed_headers(SIGNING_SECRET, body))


async def open_escalations(
    harness: Harness, options: argparse.Namespace, callback_url: str
) -> dict[str, str]:
    """Open the escalations through the agent API; return each id → its Slack message ts once posted."""
    request = escalation_request(harness, callback_url=callback_url)
    opened = await fire(
        harness.url, [request] * options.escalations, concurrency=options.concurrency, within=options.timeout
    )
    posted = await posts(harness.fake, options.escalations, within=options.timeout)
    if opened.count(201) != options.escalations or posted is None:
        raise SystemExit(f"{opened.count(201)} of {options.escalations} escalations opened; not all posted")
    return {escalation_id(message): message.ts for message in posted}


def escalation_id(message: Message) -> str:
    """Return the escalation a council post is about, from the metadata Council attaches."""
    return str((message.metadata or {})["event_payload"]["escalation_id"])


async def measure(options: argparse.Namespace, database: Database) -> Result:
    """Open and post the escalations, click through the baseline, then Council; wait for callbacks."""
    sink = DecisionSink()
    async with council(database) as harness, serving(sink.app()) as sink_url:
        posted = await open_escalations(harness, options, f"{sink_url}/callback")
        clicks = [click(harness.fake, user, esc, ts) for esc, ts in posted.items() for user in MEMBERS]
        first = next(iter(posted.items()))
        warm_up = [click(harness.fake, OUTSIDER, *first)] * WARM_UP
        async with serving(baseline_app(harness.app[SLACK_CLIENT])) as baseline_url:
            await fire(baseline_url, warm_up, concurrency=1, within=options.timeout)
            baseline = await fire(
                baseline_url, clicks, concurrency=options.concurrency, within=options.timeout
            )
        await fire(harness.url, warm_up, concurrency=1, within=options.timeout)
        await drained(options.timeout)
        calls_before = len(harness.fake.calls)
        run = await fire(harness.url, clicks, concurrency=options.concurrency, within=options.timeout)
        await drained(options.timeout)
        slack_calls = Counter(call.method for call in harness.fake.calls[calls_before:] if call.ok)
        decided = await Decision.all().values_list("escalation__public_id", "decided_at")
    decided_wall = {str(public_id): at.timestamp() for public_id, at in decided}
    return Result(run, baseline, list(posted), sink, decided_wall, slack_calls)


async def drained(within: float) -> None:
    """Wait (at most `within` seconds) until the outbox has nothing left to deliver."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within):
            # The database is the only place that knows, so it is polled.
            while await OutboxItem.filter(status="pending").exists():  # noqa: ASYNC110
                await asyncio.sleep(0.05)


def since_last_click(result: Result, done: dict[str, float]) -> list[float]:
    """Seconds from each escalation's last click being sent to `done[id]` (perf_counter clock)."""
    seconds = []
    per = len(MEMBERS)
    for i, public_id in enumerate(result.escalations):
        its_clicks = [t for t in result.council.timings[i * per : (i + 1) * per] if t is not None]
        if public_id in done and len(its_clicks) == per:
            seconds.append(done[public_id] - max(t.started for t in its_clicks))
    return seconds


def decision_rows(result: Result) -> list[Row]:
    """When the decision was recorded, and when the agent's callback arrived, after the last click."""
    recorded = {k: result.council.on_clock(wall) for k, wall in result.decided_wall.items()}
    return [
        *latency_rows("decision recorded", Latency.of(since_last_click(result, recorded)), None),
        *latency_rows("decision callback", Latency.of(since_last_click(result, result.sink.arrived)), None),
    ]


def rows(result: Result) -> list[Row]:
    run, baseline, sink = result.council, result.baseline, result.sink
    last_callback = max(sink.arrived.values(), default=None)
    return [
        Row("acks per second", run.throughput(200), baseline.throughput(200)),
        *latency_rows("ack", Latency.of(run.latencies(200)), Latency.of(baseline.latencies(200))),
        Row("acked 200", run.count(200), baseline.count(200), digits=0, compare=False),
        Row("not 200 or not sent", run.missed(200), baseline.missed(200), digits=0, compare=False),
        *decision_rows(result),
        Row("callbacks received", len(sink.arrived), digits=0),
        Row("  of which approved", sink.statuses["approved"], digits=0),
        Row(
            "all callbacks after (s)",
            None if last_callback is None else last_callback - run.started,
            digits=2,
        ),
        *slack_rows(result),
    ]


def slack_rows(result: Result) -> list[Row]:
    """How many Slack Web API calls each escalation's three votes cost (the rate limits count these)."""
    return [
        Row(f"Slack {method} per escalation", result.slack_calls[method] / len(result.escalations), digits=2)
        for method in ("chat.update", "chat.postMessage")
    ]


async def main(options: argparse.Namespace) -> None:
    async with temporary_database(options.database) as database:
        machine = describe(database.kind, database.server_version)
        result = await measure(options, database)
    title = (
        f"Votes: {options.escalations} escalations × {len(MEMBERS)} signed Approve clicks on /slack/events, "
        f"{options.concurrency} concurrent clients, {database.kind}"
    )
    print(machine)
    print(report(title, rows(result), baseline="Bolt ack-only", runs=(result.council, result.baseline)))


if __name__ == "__main__":
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--escalations", type=int, default=200, help="escalations to vote on (default 200)")
    asyncio.run(main(parser.parse_args()))
