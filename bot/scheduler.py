"""Timers: APScheduler runs the sweeps; the database decides what is due, so replicas agree."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.runtime import Runtime
from bot.services import audit, deadlines, digest, escalations, pulse, storms

log = logging.getLogger(__name__)
SWEEP_SECONDS = 15
# Long polls see a decision made by another replica within about this long.
WAKE_SECONDS = 1.0
# Every append moves the newest checkpoint on; this leaves one behind each hour, as the chain's history.
CHECKPOINT_SECONDS = 3600
# Weekly jobs (each council's digest and pulse) check this often whether their local time has come.
WEEKLY_CHECK_SECONDS = 60
STOP_WITHIN = 10.0
Job = Callable[[Runtime], Awaitable[object]]


class Timers:
    """The scheduler and the job runs in flight, so a stop lets a running sweep finish first."""

    def __init__(
        self,
        rt: Runtime,
        *,
        sweep: Job = deadlines.sweep,
        every: float = SWEEP_SECONDS,
        checkpoint_every: float = CHECKPOINT_SECONDS,
        storm_end: Job = storms.end_quiet,
        storm_every: float = SWEEP_SECONDS,
        weekly: tuple[Job, ...] = (digest.post_due, pulse.ask_due),
        weekly_every: float = WEEKLY_CHECK_SECONDS,
    ) -> None:
        self.rt = rt
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self._running: set[asyncio.Task[Any]] = set()
        self._every(sweep, every, "deadline-sweep")
        # Storms end after minutes of quiet; checking with the deadline sweep is soon enough.
        self._every(storm_end, storm_every, "storm-end")
        self._every(seal_audit, checkpoint_every, "audit-checkpoint")
        self._every(escalations.wake_decided, WAKE_SECONDS, "long-poll-wake")
        # Each run claims its (job, period) row, so any number of replicas post a digest once.
        # They also run at start: a replica that was down at a digest's time posts it when it is back.
        for job in weekly:
            name = f"weekly-{getattr(job, '__module__', 'job').rsplit('.', 1)[-1]}"
            self._every(job, weekly_every, name, at_start=True)

    def _every(self, job: Job, seconds: float, name: str, *, at_start: bool = False) -> None:
        first = {"next_run_time": datetime.now(UTC)} if at_start else {}
        self.scheduler.add_job(
            self._tracked(job),
            "interval",
            seconds=seconds,
            id=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, math.ceil(seconds)),
            **first,
        )

    def _tracked(self, job: Job) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            task = asyncio.current_task()
            assert task is not None  # noqa: S101 - APScheduler runs coroutine jobs as tasks
            self._running.add(task)
            try:
                await job(self.rt)
            finally:
                self._running.discard(task)

        run.__name__ = run.__qualname__ = getattr(job, "__name__", "job")
        return run

    def start(self) -> None:
        """Start running the jobs."""
        self.scheduler.start()

    async def stop(self, within: float = STOP_WITHIN) -> None:
        """Take no new runs, let a running job finish (up to `within` seconds), then shut down."""
        self.scheduler.pause()
        if self._running:
            _, late = await asyncio.wait(set(self._running), timeout=within)
            if late:
                log.warning("a scheduled job did not finish within %.0fs of shutdown; cancelling it", within)
        self.scheduler.shutdown(wait=False)


async def seal_audit(rt: Runtime) -> None:
    """Leave a checkpoint of the audit chain's head behind, for `council audit verify` to check."""
    await audit.seal()
