"""Timers: a stop lets the sweep in flight finish its work before anything it needs is closed."""

from __future__ import annotations

import asyncio

from bot import db
from bot.runtime import Runtime
from bot.scheduler import Timers
from bot.services import audit
from models import AuditCheckpoint, Escalation
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


async def test_the_audit_head_is_checkpointed_on_a_schedule(database: str, rt: Runtime) -> None:
    async def idle_sweep(runtime: Runtime) -> None:
        return None

    async with db.transaction() as conn:
        event = await audit.record(conn, actor_type="system", actor_id="t", action="test")
    timers = Timers(rt, sweep=idle_sweep, checkpoint_every=0.05)
    timers.start()
    try:
        for _ in range(200):
            if await AuditCheckpoint.all().count() == 2:
                break
            await asyncio.sleep(0.05)
    finally:
        await timers.stop()
    # The row appends move on, and the one the timer left behind at the head.
    assert await AuditCheckpoint.all().values_list("count", "head_hash") == [(1, event.hash)] * 2
