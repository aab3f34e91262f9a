"""Fire a bounded number of HTTP requests from concurrent clients and time each one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
from aiohttp import web

# A request slower than this is recorded as failed (status 0) rather than holding a client forever.
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=30)


@dataclass(frozen=True)
class Request:
    """One request to send: the same path, body and headers go to Council and to its baseline."""

    path: str
    body: bytes
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Timing:
    """When one request was sent and answered (perf_counter seconds), and its HTTP status (0: failed)."""

    started: float
    finished: float
    status: int

    @property
    def latency(self) -> float:
        return self.finished - self.started


@dataclass(frozen=True)
class LoadRun:
    """What a load run measured: one timing per request, in request order (None: not sent in time)."""

    timings: list[Timing | None]
    started: float
    finished: float
    started_wall: float
    timed_out: bool

    @property
    def answered(self) -> list[Timing]:
        return [t for t in self.timings if t is not None]

    def latencies(self, status: int) -> list[float]:
        """Return the latencies of the requests answered with `status`."""
        return [t.latency for t in self.answered if t.status == status]

    def count(self, status: int) -> int:
        return sum(1 for t in self.answered if t.status == status)

    def missed(self, status: int) -> int:
        """Return how many requests were not answered with `status` (other answers, failures, unsent)."""
        return len(self.timings) - self.count(status)

    def throughput(self, status: int) -> float:
        """Return the requests answered with `status` per second of the run."""
        return self.count(status) / self.elapsed

    @property
    def elapsed(self) -> float:
        return self.finished - self.started

    def on_clock(self, wall: float) -> float:
        """Convert a wall-clock time (time.time) to this run's perf_counter clock."""
        return self.started + (wall - self.started_wall)


async def fire(base_url: str, requests: Sequence[Request], *, concurrency: int, within: float) -> LoadRun:
    """POST every request from `concurrency` clients; stop after `within` seconds whatever is left."""
    timings: list[Timing | None] = [None] * len(requests)
    queue = iter(range(len(requests)))
    started_wall, started = time.time(), time.perf_counter()
    timed_out = False
    try:
        async with asyncio.timeout(within), asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(_client(base_url, requests, queue, timings))
    except TimeoutError:
        timed_out = True
    return LoadRun(timings, started, time.perf_counter(), started_wall, timed_out)


async def _client(
    base_url: str, requests: Sequence[Request], queue: Iterator[int], timings: list[Timing | None]
) -> None:
    """One client on its own keep-alive connection, taking the next request as soon as it is free."""
    async with aiohttp.ClientSession(base_url, timeout=REQUEST_TIMEOUT) as http:
        for index in queue:
            timings[index] = await _send(http, requests[index])


async def _send(http: aiohttp.ClientSession, request: Request) -> Timing:
    started = time.perf_counter()
    try:
        async with http.post(request.path, data=request.body, headers=dict(request.headers)) as response:
            await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError):
        status = 0
    return Timing(started, time.perf_counter(), status)


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Serve an aiohttp app on a free port of 127.0.0.1 and yield its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()
