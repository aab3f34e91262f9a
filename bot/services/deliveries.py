"""The outbox as an admin sees it: deliveries still waiting, dead letters, and re-queueing them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.functions import Count

from bot.db import transaction
from bot.errors import Conflict, NotFound
from bot.outbox.events import LANE_KINDS
from bot.services import audit
from models import Escalation, OutboxItem
from models.enums import Delivery

SHOWN = 500


@dataclass(frozen=True)
class DeliveryLine:
    """One outbox row not yet delivered: waiting (pending) or given up on (dead)."""

    id: int
    kind: str
    target: str  # "slack" | "agent"
    status: str
    attempts: int
    escalation: str | None
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime


def target_of(kind: str) -> str:
    """Say where a row of this kind goes: to Slack, or to an agent's callback URL."""
    return "agent" if kind in LANE_KINDS["agents"] else "slack"


async def undelivered(*, dead_only: bool = False) -> list[DeliveryLine]:
    """The rows still waiting and the dead ones (or the dead only), oldest first."""
    statuses = [Delivery.DEAD] if dead_only else [Delivery.PENDING, Delivery.DEAD]
    rows = await OutboxItem.filter(status__in=statuses).order_by("id").limit(SHOWN)
    return await _lines(list(rows))


async def state_counts() -> dict[str, int]:
    """Rows by state (pending, done, dead), each always present."""
    counts = {str(state): 0 for state in Delivery}
    grouped = await OutboxItem.all().group_by("status").annotate(n=Count("id")).values_list("status", "n")
    for status, n in grouped:
        counts[str(status)] = int(n)
    return counts


async def latest_dead(limit: int) -> list[DeliveryLine]:
    """The most recent dead rows, newest first."""
    rows = await OutboxItem.filter(status=Delivery.DEAD).order_by("-id").limit(limit)
    return await _lines(list(rows))


async def _lines(rows: list[OutboxItem]) -> list[DeliveryLine]:
    ids = {r.escalation_id for r in rows if r.escalation_id}
    public = dict(await Escalation.filter(id__in=list(ids)).values_list("id", "public_id")) if ids else {}
    return [
        DeliveryLine(
            id=r.id,
            kind=r.kind,
            target=target_of(r.kind),
            status=str(r.status),
            attempts=r.attempts,
            escalation=public.get(r.escalation_id) if r.escalation_id else None,
            next_attempt_at=r.next_attempt_at,
            last_error=r.last_error,
            created_at=r.created_at,
        )
        for r in rows
    ]


async def dead_counts() -> dict[str, int]:
    """Dead rows by target ("slack", "agent"), both always present."""
    counts = {"slack": 0, "agent": 0}
    for kind in await OutboxItem.filter(status=Delivery.DEAD).values_list("kind", flat=True):
        counts[target_of(str(kind))] += 1
    return counts


async def retry(*, row_id: int, actor: str = "cli") -> DeliveryLine:
    """Re-queue one dead row to be delivered at once, with a fresh count of attempts."""
    row = await OutboxItem.filter(id=row_id).first()
    if row is None:
        where = "`/council outbox` or `council outbox list` shows them"
        raise NotFound(f"there is no outbox row {row_id}; {where}")
    if row.status != Delivery.DEAD:
        raise Conflict(f"outbox row {row_id} is {row.status}, not dead: there is nothing to retry")
    await _requeue([row.id], actor=actor)
    [line] = await _lines([await OutboxItem.get(id=row.id)])
    return line


async def retry_all_dead(*, actor: str = "cli") -> int:
    """Re-queue every dead row; return how many."""
    ids: list[int] = await OutboxItem.filter(status=Delivery.DEAD).order_by("id").values_list("id", flat=True)  # type: ignore[assignment]
    return await _requeue(ids, actor=actor) if ids else 0


async def _requeue(ids: list[int], *, actor: str) -> int:
    # The last error stays: a post that died may have reached Slack, so its retry looks first.
    async with transaction() as conn:
        changed = await (
            OutboxItem.filter(id__in=ids, status=Delivery.DEAD)
            .using_db(conn)
            .update(status=Delivery.PENDING, attempts=0, locked_until=None, next_attempt_at=datetime.now(UTC))
        )
        await audit.record(
            conn, actor_type="admin", actor_id=actor, action="outbox.retried", payload={"rows": ids}
        )
    return int(changed)
