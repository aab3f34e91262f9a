"""Timers: a stop lets the sweep in flight finish its work before anything it needs is closed."""

from __future__ import annotations

import asyncio

from bot.runtime import Runtime
from bot.scheduler import Timers
from models import Escalation
from tests.bot.services.conftest import rt

__all__ = ["rt"]


async def test_stop_lets_a_running_sweep_finish_before_it_returns(database: str, rt: Runtime) -> None:
    started, release = asyncio.Event(), asyncio.Event()
    finished: list[int] = []

    async def slow_sweep(runtime: Runtime) -> None:
        started.set()
        await release.wait()
        finished.append(await Escalation.all().count())  # the database is still there

    timers = Timers(rt, sweep=slow_sweep, every=0.05)
    timers.start()
    await asyncio.wait_for(started.wait(), timeout=10)
    stopping = asyncio.create_task(timers.stop())
    await asyncio.sleep(0)
    assert not stopping.done(), "stop returned while a sweep was still running"
    release.set()
    await stopping
    assert finished == [0]
    assert not timers.scheduler.running


async def test_stop_gives_up_on_a_sweep_that_outlives_its_bound(database: str, rt: Runtime) -> None:
    started = asyncio.Event()

    async def stuck_sweep(runtime: Runtime) -> None:
        started.set()
        await asyncio.Event().wait()

    timers = Timers(rt, sweep=stuck_sweep, every=0.05)
    timers.start()
    await asyncio.wait_for(started.wait(), timeout=10)
    await asyncio.wait_for(timers.stop(within=0.1), timeout=5)
    assert not timers.scheduler.running
