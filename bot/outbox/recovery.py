"""When a delivery tries again: jittered backoff capped per target, and rows made due at once.

Slack is retried within seconds, never more than a minute apart; an agent's endpoint has a longer
cap of its own. Waiting rows do not wait out their backoff when there is news: once a call to Slack
succeeds after failures, every Slack row waiting in backoff is due at once (the pacer still spaces
them), and at start every row waiting after a try is, since what a previous process knew no
longer holds.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from tortoise.expressions import Q

from bot import db
from bot.outbox import events
from bot.runtime import SlackHealth
from models import OutboxItem
from models.enums import Delivery

log = logging.getLogger("bot.outbox.worker")

SLACK_KINDS = events.LANE_KINDS["slack"]
# Slack: 1, 2, 4 … seconds, never more than a minute apart.
SLACK_BACKOFF_CAP = 60.0
# Agents may be down for a while: a quarter of an hour apart at most, for about three days.
CALLBACK_BACKOFF_CAP = 900.0
MAX_SLACK_ATTEMPTS = 25
MAX_CALLBACK_ATTEMPTS = 400
# While Slack is failing, one waiting row is tried this often, so recovery is seen within seconds.
PROBE_SECONDS = 5.0
_jitter = random.Random()  # noqa: S311 - spreads retries in time; nothing secret depends on it


def backoff(attempts: int, *, cap: float, base: float = 1.0) -> float:
    """Seconds before try number `attempts + 1`: doubling from `base` up to `cap`, with jitter.

    Half the delay is fixed and half random ("equal jitter"), so replicas and rows that failed
    together do not all come back in the same instant, yet none comes back much sooner than planned.
    """
    ceiling = min(cap, base * 2.0 ** max(attempts - 1, 0))
    return ceiling / 2 + _jitter.uniform(0, ceiling / 2)


def probe_delay() -> float:
    """Seconds until the next probe of a failing Slack: between half PROBE_SECONDS and all of it."""
    return backoff(1, cap=PROBE_SECONDS, base=PROBE_SECONDS)


def is_callback(kind: str) -> bool:
    return kind in events.LANE_KINDS["agents"]


def retry_delay(kind: str, attempts: int) -> float:
    """The backoff that suits the row's target."""
    if is_callback(kind):
        return backoff(attempts, cap=CALLBACK_BACKOFF_CAP, base=2.0)
    return backoff(attempts, cap=SLACK_BACKOFF_CAP)


def max_attempts(kind: str) -> int:
    return MAX_CALLBACK_ATTEMPTS if is_callback(kind) else MAX_SLACK_ATTEMPTS


async def due_after_restart(now: datetime) -> int:
    """Make every pending row that has been tried due now; return how many were waiting.

    Backoff and claims are what a previous process knew; a row written to wait (a debounced tally)
    keeps its time. A claim is released too: on SQLite one process owns the database, so every
    claim is a dead process's; on PostgreSQL a claim may be another live replica's delivery in
    flight, so only lapsed claims are released (the rest lapse within worker.CLAIM_SECONDS).
    """
    tried = Q(attempts__gt=0) | Q(last_error__isnull=False)
    waiting = OutboxItem.filter(tried, status=Delivery.PENDING, next_attempt_at__gt=now)
    if db.dialect() != "sqlite":
        waiting = waiting.filter(Q(locked_until__isnull=True) | Q(locked_until__lte=now))
    return await waiting.update(next_attempt_at=now, locked_until=None)


async def due_after_recovery(now: datetime) -> int:
    """Slack answers again: make the Slack rows waiting out a failure's backoff due now.

    Rows waiting for a 429's Retry-After keep waiting (Slack said when), and so do rows that never
    failed (a debounced tally comes when its debounce ends) and rows claimed by a delivery.
    """
    waiting = OutboxItem.filter(
        status=Delivery.PENDING,
        kind__in=SLACK_KINDS,
        next_attempt_at__gt=now,
        locked_until__isnull=True,
        last_error__isnull=False,
    ).exclude(last_error__startswith="slack: ratelimited")
    return await waiting.update(next_attempt_at=now)


async def probe(now: datetime) -> bool:
    """Make the Slack row next in line for a retry due now, to see whether Slack is back."""
    soonest = (
        await OutboxItem.filter(
            status=Delivery.PENDING, kind__in=SLACK_KINDS, next_attempt_at__gt=now, locked_until__isnull=True
        )
        .order_by("next_attempt_at", "id")
        .first()
    )
    if soonest is None:
        return False
    moved = await OutboxItem.filter(
        id=soonest.id, attempts=soonest.attempts, locked_until__isnull=True
    ).update(next_attempt_at=now)
    return moved == 1


class SlackWatch:
    """Follows this process's view of Slack for the Slack lane: recovered, failing, when to probe."""

    def __init__(self, health: SlackHealth) -> None:
        self.health = health
        self._recoveries = health.recoveries
        self.probe_at: datetime | None = None

    def down(self, now: datetime) -> None:
        """Slack gave no answer just now: the next probe is a few seconds away."""
        self.probe_at = now + timedelta(seconds=probe_delay())

    async def follow(self, now: datetime) -> None:
        """Bring rows forward when Slack answers again, and probe it every few seconds while it fails."""
        if self.health.recoveries != self._recoveries:
            self._recoveries = self.health.recoveries
            waiting = await due_after_recovery(now)
            if waiting:
                log.info("Slack answers again: %d waiting rows are due at once", waiting)
        if self.health.failing_since is None:
            self.probe_at = None
        elif self.probe_at is None:
            self.down(now)
        elif self.probe_at <= now:
            self.down(now)
            await probe(now)

    def next_probe_in(self, now: datetime) -> float | None:
        return None if self.probe_at is None else (self.probe_at - now).total_seconds()
