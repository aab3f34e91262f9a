"""`council outbox list` and `council outbox retry`: what they print, and their exit status."""

from __future__ import annotations

import argparse
import json

from bot.api_out import utc_text
from bot.services import deliveries
from bot.services.deliveries import DeliveryLine

ERROR_SHOWN = 120


async def listing(args: argparse.Namespace) -> int:
    """Print the deliveries waiting and the dead ones (`--dead`: the dead only); exit 0."""
    rows = await deliveries.undelivered(dead_only=args.dead)
    if args.json:
        print(json.dumps([as_json(row) for row in rows]))
        return 0
    if not rows:
        print("no dead deliveries" if args.dead else "nothing waiting: every delivery has gone out")
        return 0
    for row in rows:
        print(line(row))
    dead = sum(1 for row in rows if row.status == "dead")
    if dead:
        print(f"{dead} dead; `council outbox retry ID` or `council outbox retry --all-dead` sends them again")
    return 0


async def retry(args: argparse.Namespace) -> int:
    """Re-queue one dead row, or every dead one; exit 0 (1 when the row is unknown or not dead)."""
    if args.all_dead:
        count = await deliveries.retry_all_dead()
        print(f"re-queued {count} dead deliveries" if count else "no dead deliveries to retry")
        return 0
    row = await deliveries.retry(row_id=args.id)
    print(f"re-queued outbox row {row.id} ({row.kind} to {row.target}); it is due now")
    return 0


def line(row: DeliveryLine) -> str:
    """One row as the list shows it."""
    about = row.escalation or "-"
    error = (row.last_error or "").replace("\n", " ")
    if len(error) > ERROR_SHOWN:
        error = error[: ERROR_SHOWN - 1] + "…"
    when = f"next {utc_text(row.next_attempt_at)}" if row.status == "pending" else "dead"
    return (
        f"{row.id:>7} {row.status:7} {row.target:5} {row.kind:28} {about:18} "
        f"attempts {row.attempts:<3} {when}  {error}"
    ).rstrip()


def as_json(row: DeliveryLine) -> dict[str, object]:
    return {
        "id": row.id,
        "kind": row.kind,
        "target": row.target,
        "status": row.status,
        "attempts": row.attempts,
        "escalation": row.escalation,
        "next_attempt_at": utc_text(row.next_attempt_at) if row.status == "pending" else None,
        "last_error": row.last_error,
        "created_at": utc_text(row.created_at),
    }
