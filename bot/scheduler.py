"""Timers: APScheduler runs the sweeps; the database decides what is due, so replicas agree."""

from __future__ import annotations

import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.runtime import Runtime
from bot.services import deadlines

log = logging.getLogger(__name__)
SWEEP_SECONDS = 15


def start_scheduler(rt: Runtime) -> AsyncIOScheduler:
    """Start the scheduler with the deadline and reminder sweep."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        deadlines.sweep,
        "interval",
        seconds=SWEEP_SECONDS,
        args=[rt],
        id="deadline-sweep",
        max_instances=1,
        coalesce=True,
    )
    scheduler.start()
    return scheduler
