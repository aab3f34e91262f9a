"""What the health and metrics endpoints report: what Council depends on, and counts by status."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.functions import Count

from bot.api_out import utc_text
from bot.outbox.events import LANE_KINDS
from bot.runtime import Runtime
from bot.services import deliveries
from models import Escalation, OutboxItem
from models.enums import Delivery, Status

log = logging.getLogger(__name__)

# Seconds the readiness check waits for the database before calling it unreachable.
DATABASE_CHECK_SECONDS = 3.0

ESCALATION_STATUSES = tuple(Status)
OUTBOX_STATUSES = tuple(Delivery)


@dataclass(frozen=True)
class Counts:
    """Escalations and outbox rows by status; every status is there, zero when none."""

    escalations: dict[str, int]
    outbox: dict[str, int]
    # Dead deliveries by target ("slack", "agent"): given up on, waiting for `council outbox retry`.
    dead: dict[str, int]


@dataclass(frozen=True)
class Readiness:
    """Whether this process can do its whole job now, and what each part it depends on says."""

    ready: bool
    parts: dict[str, Any]


async def readiness(rt: Runtime) -> Readiness:
    """Check the database, Slack (this process's last calls and the outbox's retries) and the socket.

    Slack counts as failing while this process's last Slack call failed, or while any message to Slack
    is past its first retry (whichever replica tried it): the council is not hearing from Council.
    """
    if not await database_ready():
        return Readiness(False, {"database": "unreachable"})
    slack, slack_ok = await _slack(rt)
    parts: dict[str, Any] = {"database": "ok", "slack": slack}
    ready = slack_ok
    if rt.socket is not None:
        socket = rt.socket
        parts["socket"] = {
            "connected": socket.connected,
            "attempts": socket.attempts,
            "last_error": socket.last_error,
            "since": _time(socket.since),
        }
        ready = ready and socket.connected
    return Readiness(ready, parts)


async def _slack(rt: Runtime) -> tuple[dict[str, Any], bool]:
    retrying = await OutboxItem.filter(
        status=Delivery.PENDING, kind__in=LANE_KINDS["slack"], attempts__gte=2, last_error__isnull=False
    ).count()
    failing = rt.slack.failing_since is not None or retrying > 0
    return {
        "status": "failing" if failing else "ok",
        "retrying": retrying,
        "last_error": rt.slack.last_error if failing else None,
        "failing_since": _time(rt.slack.failing_since),
        "last_ok": _time(rt.slack.last_ok),
    }, not failing


def _time(at: datetime | None) -> str | None:
    return utc_text(at) if at is not None else None


async def database_ready() -> bool:
    """Return whether the database answers a query within DATABASE_CHECK_SECONDS."""
    try:
        async with asyncio.timeout(DATABASE_CHECK_SECONDS):
            await Escalation.all().limit(1).values_list("id", flat=True)
    except Exception as error:  # Any database failure means "not ready"; the detail goes to the log.
        log.warning("readiness check: database unavailable: %s", str(error) or type(error).__name__)
        return False
    return True


async def counts() -> Counts:
    """Count escalations and outbox rows by status."""
    escalations = await Escalation.annotate(n=Count("id")).group_by("status").values_list("status", "n")
    outbox = await OutboxItem.annotate(n=Count("id")).group_by("status").values_list("status", "n")
    return Counts(
        escalations=_every(ESCALATION_STATUSES, escalations),
        outbox=_every(OUTBOX_STATUSES, outbox),
        dead=await deliveries.dead_counts(),
    )


def _every(statuses: tuple[str, ...], rows: list[tuple[str, int]]) -> dict[str, int]:
    found = {str(status): int(n) for status, n in rows}
    return {str(status): found.get(str(status), 0) for status in statuses}
