"""What the health and metrics endpoints report: what Council depends on, and what waits in the database."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.functions import Count

from bot.api_out import utc_text
from bot.metrics import Backlog
from bot.outbox.events import LANE_KINDS
from bot.runtime import Runtime
from models import Escalation, OutboxItem, Storm
from models.enums import OPEN_STATUSES, Delivery, Kind, Status

log = logging.getLogger(__name__)

# Seconds the readiness check waits for the database before calling it unreachable.
DATABASE_CHECK_SECONDS = 3.0

# Each kind's open statuses: the gauges show them at zero too, so an alert can compare them.
OPEN_KINDS = (
    (Kind.APPROVAL, Status.PENDING),
    (Kind.INCIDENT, Status.OPEN),
    (Kind.INCIDENT, Status.ACKNOWLEDGED),
)


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


async def backlog() -> Backlog:
    """Read what waits in the database: open escalations, undelivered outbox rows, open storms."""
    open_rows = (
        await Escalation.filter(status__in=OPEN_STATUSES)
        .annotate(n=Count("id"))
        .group_by("kind", "status")
        .values_list("kind", "status", "n")
    )
    opened = {(str(kind), str(status)): 0 for kind, status in OPEN_KINDS}
    opened.update({(str(kind), str(status)): int(n) for kind, status, n in open_rows})
    outbox_rows = (
        await OutboxItem.filter(status__in=[Delivery.PENDING, Delivery.DEAD])
        .annotate(n=Count("id"))
        .group_by("status", "kind")
        .values_list("status", "kind", "n")
    )
    lanes = {str(status): dict.fromkeys(LANE_KINDS, 0) for status in (Delivery.PENDING, Delivery.DEAD)}
    for status, kind, n in outbox_rows:
        lanes[str(status)][_lane(str(kind))] += int(n)
    return Backlog(
        open=opened,
        pending=lanes[Delivery.PENDING],
        dead=lanes[Delivery.DEAD],
        storms_open=await Storm.filter(ended_at__isnull=True).count(),
    )


def _lane(kind: str) -> str:
    # A kind this version does not know goes nowhere; it shows with Slack's, as `outbox list` shows it.
    return "agents" if kind in LANE_KINDS["agents"] else "slack"


async def scrape(rt: Runtime) -> bytes:
    """Return the metrics in Prometheus's text format, the database's gauges read now."""
    rt.metrics.read(await backlog(), long_polls=rt.long_polls.count())
    return rt.metrics.exposition()
