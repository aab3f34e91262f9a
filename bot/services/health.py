"""What the health and metrics endpoints report: whether the database answers, and counts by status."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tortoise.functions import Count

from models import Escalation, OutboxItem
from models.enums import Delivery, Status

log = logging.getLogger(__name__)

ESCALATION_STATUSES = tuple(Status)
OUTBOX_STATUSES = tuple(Delivery)


@dataclass(frozen=True)
class Counts:
    """Escalations and outbox rows by status; every status is there, zero when none."""

    escalations: dict[str, int]
    outbox: dict[str, int]


async def database_ready() -> bool:
    """Return whether the database answers a query."""
    try:
        await Escalation.all().limit(1).values_list("id", flat=True)
    except Exception:  # Any database failure means "not ready"; the detail goes to the log only.
        log.exception("readiness check: database unavailable")
        return False
    return True


async def counts() -> Counts:
    """Count escalations and outbox rows by status."""
    escalations = await Escalation.annotate(n=Count("id")).group_by("status").values_list("status", "n")
    outbox = await OutboxItem.annotate(n=Count("id")).group_by("status").values_list("status", "n")
    return Counts(
        escalations=_every(ESCALATION_STATUSES, escalations),
        outbox=_every(OUTBOX_STATUSES, outbox),
    )


def _every(statuses: tuple[str, ...], rows: list[tuple[str, int]]) -> dict[str, int]:
    found = {str(status): int(n) for status, n in rows}
    return {str(status): found.get(str(status), 0) for status in statuses}
