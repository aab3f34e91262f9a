"""An agent's pace: what it opened and amended in the last minute, against its `rate_per_minute`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient

from bot.errors import RateLimited
from bot.governance import LimitsSpec
from models import Agent, AuditEvent

WINDOW = timedelta(minutes=1)
# What counts against the rate: each is audited in the transaction that does it.
COUNTED = ("escalation.created", "escalation.amended")


async def admit(conn: BaseDBAsyncClient, agent: Agent) -> Agent:
    """Take the agent's lock for this transaction; refuse with 429 if its last minute is full.

    Counted under the lock, so simultaneous requests are admitted one after another and a limit of 2
    lets exactly 2 through. On SQLite the transaction itself is the lock (one writer at a time); on
    PostgreSQL it is the agent's row, the lock every intake and admin change takes first.
    Returns the agent's row as read under the lock, for the rest of the transaction to decide on.
    """
    locked = await Agent.filter(id=agent.id).select_for_update().using_db(conn).get()
    rate = LimitsSpec.model_validate(agent.limits).rate_per_minute
    if rate is None:
        return locked
    now = datetime.now(UTC)
    mine = AuditEvent.filter(actor_type="agent", actor_id=agent.name, action__in=COUNTED)
    rows = await mine.filter(at__gt=now - WINDOW).using_db(conn).order_by("at").values_list("at")
    recent: list[datetime] = [at for (at,) in rows]
    if len(recent) < rate:
        return locked
    wait = retry_after(recent, rate=rate, now=now)
    raise RateLimited(
        f"agent {agent.name} is over its limit of {rate} per minute (escalations opened and amended); "
        f"retry in {wait} s",
        retry_after=wait,
    )


def retry_after(times: Sequence[datetime], *, rate: int, now: datetime) -> int:
    """Whole seconds until the window holds fewer than `rate` of `times` (sorted, oldest first)."""
    # Room for one more comes when all but `rate - 1` of them have left the window.
    frees = times[len(times) - rate] + WINDOW
    return max(1, math.ceil((frees - now).total_seconds()))
