"""Benchmark idle accept-to-post: one escalation at a time, from the agent's POST to Slack's post.

python -m bench.idle [--escalations N] [--gap SECONDS] [--database sqlite|postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from slack_sdk.web.async_client import AsyncWebClient

from bench.council import CHANNEL, arguments, council, escalation_request
from bench.database import Database, temporary_database
from bench.figures import Latency, Row, latency_rows, table
from bench.machine import describe
from tests.fakeslack import FakeSlack
from tests.harness import Harness

WARM_UP = 3


async def _posted(fake: FakeSlack, count: int, within: float) -> float:
    """Wait until the channel holds `count` posts; return the wall time of the newest."""
    await fake.wait_for(lambda: len(fake.messages(CHANNEL)) >= count, timeout=within, interval=0.0005)
    return float(fake.messages(CHANNEL)[-1].ts)


async def accept_to_post(
    harness: Harness, n: int, gap: float, within: float
) -> tuple[list[float], list[float]]:
    """POST one escalation, wait for its Slack post, rest `gap` s (an idle Council); n times.

    Return the seconds from sending each POST to its post, and from its 201 to its post.
    """
    request = escalation_request(harness)
    to_post, after_201 = [], []
    for _ in range(n):
        count = len(harness.fake.messages(CHANNEL)) + 1
        sent = time.time()
        async with harness.http.post(
            f"{harness.url}{request.path}", data=request.body, headers=request.headers
        ) as response:
            assert response.status == 201, await response.text()  # noqa: S101 - a benchmark's sanity check
            answered = time.time()
        posted = await _posted(harness.fake, count, within)
        to_post.append(posted - sent)
        after_201.append(posted - answered)
        await asyncio.sleep(gap)
    return to_post, after_201


async def direct_posts(fake: FakeSlack, n: int, gap: float) -> list[float]:
    """The floor: the same Slack client posting straight to the fake, with no Council in between."""
    client = AsyncWebClient(base_url=fake.api_url, token=fake.token)
    samples = []
    for _ in range(n):
        sent = time.time()
        await client.chat_postMessage(channel="C0BASELINE", text="a post")
        samples.append(float(fake.messages("C0BASELINE")[-1].ts) - sent)
        await asyncio.sleep(gap)
    return samples


async def measure(
    options: argparse.Namespace, database: Database
) -> tuple[list[float], list[float], list[float]]:
    async with council(database, paced=True) as harness:
        await accept_to_post(harness, WARM_UP, options.gap, options.timeout)
        baseline = await direct_posts(harness.fake, options.escalations, options.gap)
        to_post, after_201 = await accept_to_post(harness, options.escalations, options.gap, options.timeout)
    return to_post, after_201, baseline


async def main(options: argparse.Namespace) -> None:
    async with temporary_database(options.database) as database:
        machine = describe(database.kind, database.server_version)
        to_post, after_201, baseline = await measure(options, database)
    rows: list[Row] = [
        *latency_rows("POST to post", Latency.of(to_post), Latency.of(baseline)),
        *latency_rows("201 to post", Latency.of(after_201), None),
    ]
    title = (
        f"Idle accept-to-post: {options.escalations} escalations one at a time, {options.gap:g} s apart, "
        f"{database.kind}"
    )
    print(machine)
    print(table(title, rows, baseline="direct post"))


if __name__ == "__main__":
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--escalations", type=int, default=30, help="escalations to send (default 30)")
    parser.add_argument(
        "--gap",
        type=float,
        default=1.1,
        help="seconds between escalations (default 1.1: slower than Slack's one post a second per channel)",
    )
    asyncio.run(main(parser.parse_args()))
