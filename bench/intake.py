"""Benchmark the intake path: agents POST escalations, Council answers and its outbox posts each to Slack.

    python -m bench.intake [--requests N] [--concurrency C] [--database sqlite|postgres]

Baseline, in the same process and event loop: a bare aiohttp endpoint that parses the same JSON body
with the same pydantic model (`EscalationIn`) and answers 201, so the table shows what Council adds.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass

from aiohttp import web

from bench.council import arguments, council, escalation_request, posts
from bench.database import Database, temporary_database
from bench.figures import Latency, Row, latency_rows, report
from bench.load import LoadRun, fire, serving
from bench.machine import describe
from bot.schemas import EscalationIn
from tests.fakeslack import FakeSlack

WARM_UP = 10


@dataclass(frozen=True)
class Result:
    """Both load runs, and when the outbox had posted every escalation Council accepted."""

    council: LoadRun
    baseline: LoadRun
    posted_after: float | None  # seconds from the first request to the last Slack post; None: not all


async def create_escalation(request: web.Request) -> web.Response:
    """Bare aiohttp + pydantic: validate the body as Council does, answer 201 with what was read."""
    body = EscalationIn.model_validate(await request.json())
    return web.json_response(body.model_dump(mode="json"), status=201)


def baseline_app() -> web.Application:
    app = web.Application()
    app.router.add_post("/api/v1/escalations", create_escalation)
    return app


async def all_posted(fake: FakeSlack, total: int, since_wall: float, within: float) -> float | None:
    """Wait until the channel holds `total` posts; return seconds from `since_wall` to the last one."""
    delivered = await posts(fake, total, within=within)
    return None if delivered is None else float(delivered[-1].ts) - since_wall


async def measure(options: argparse.Namespace, database: Database) -> Result:
    """Warm both servers up, load the baseline, then Council, and wait for the outbox to drain."""
    async with council(database) as harness, serving(baseline_app()) as baseline_url:
        request = escalation_request(harness)
        load = [request] * options.requests
        for url in (baseline_url, harness.url):
            await fire(url, [request] * WARM_UP, concurrency=1, within=options.timeout)
        await all_posted(harness.fake, WARM_UP, 0.0, options.timeout)
        baseline = await fire(baseline_url, load, concurrency=options.concurrency, within=options.timeout)
        run = await fire(harness.url, load, concurrency=options.concurrency, within=options.timeout)
        total = WARM_UP + run.count(201)
        posted_after = await all_posted(harness.fake, total, run.started_wall, options.timeout)
    return Result(run, baseline, posted_after)


def rows(result: Result) -> list[Row]:
    council_run, baseline = result.council, result.baseline
    lag = None if result.posted_after is None else result.posted_after - council_run.elapsed
    return [
        Row("throughput (req/s)", council_run.throughput(201), baseline.throughput(201)),
        *latency_rows("latency", Latency.of(council_run.latencies(201)), Latency.of(baseline.latencies(201))),
        Row("answered 201", council_run.count(201), baseline.count(201), digits=0, compare=False),
        Row("not 201 or not sent", council_run.missed(201), baseline.missed(201), digits=0, compare=False),
        Row("all posts in Slack after (s)", result.posted_after, digits=2),
        Row("outbox behind last 201 by (s)", lag, digits=2),
    ]


async def main(options: argparse.Namespace) -> None:
    async with temporary_database(options.database) as database:
        machine = describe(database.kind, database.server_version)
        result = await measure(options, database)
    title = (
        f"Intake: {options.requests} × POST /api/v1/escalations, {options.concurrency} concurrent clients, "
        f"{database.kind}"
    )
    print(machine)
    print(report(title, rows(result), baseline="aiohttp+pydantic", runs=(result.council, result.baseline)))


if __name__ == "__main__":
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="escalations to POST (default 1000)")
    asyncio.run(main(parser.parse_args()))
