"""Periodic jobs run once per period, whatever the number of replicas: the first to claim it runs it."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError

from bot.db import transaction
from models import JobRun


async def claim(job: str, period: str) -> bool:
    """Claim `job` for `period` ("digest:ai-council", "2026-W49"); False when someone already has.

    The claim is the row: `(job, period)` is unique, so of two replicas (or a restart after a run)
    only one insert succeeds. A claimed run that then fails is not retried by the claim; the job
    itself decides what a failure leaves to do (the digest's message goes through the outbox, so
    once claimed and written it is delivered however often Slack fails).
    """
    try:
        async with transaction() as conn:
            await JobRun.create(using_db=conn, job=job[:64], period=period[:64])
    except IntegrityError:
        return False
    return True


async def claimed(job: str, period: str) -> bool:
    """Whether `job` has run (or is running) for `period`."""
    return await JobRun.filter(job=job[:64], period=period[:64]).exists()
