"""`council audit verify` and `council audit checkpoint`: what they print, and their exit status."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from bot.services import audit
from bot.services.audit import Shortfall, Verification


async def verify(args: argparse.Namespace) -> int:
    """Check the chain; print one line saying it is intact (exit 0) or why it is not (exit 1)."""
    verdict = await audit.verify(expect=args.expect)
    if not verdict.intact:
        print(broken_line(verdict), file=sys.stderr)
        return 1
    print(intact_line(verdict))
    return 0


async def checkpoint(args: argparse.Namespace) -> int:
    """Print the verified head for an admin to keep elsewhere, and store it as a checkpoint."""
    verdict = await audit.verify()
    if not verdict.intact:
        print(broken_line(verdict), file=sys.stderr)
        return 1
    await audit.seal()
    head = verdict.head
    if args.json:
        at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        print(json.dumps({"count": head.count, "hash": head.hash, "at": at}))
        return 0
    print(f"audit head: {head.count} events, hash {head.hash}")
    print(f"keep it outside this database; `council audit verify --expect {head.hash}` checks it later")
    return 0


def intact_line(verdict: Verification) -> str:
    """Say what an intact chain was checked against."""
    line = f"audit chain intact: {verdict.head.count} events"
    if verdict.checkpoints == 1:
        line += ", reaching its one checkpoint"
    elif verdict.checkpoints:
        line += f", reaching all {verdict.checkpoints} checkpoints"
    elif verdict.expected is None:
        line += "; no checkpoint to compare with (pass --expect HASH)"
    if verdict.expected is not None:
        line += f", holding the expected head as event number {verdict.expected_at}"
    return line


def broken_line(verdict: Verification) -> str:
    """Say in one line where the chain breaks, or what it no longer reaches."""
    count = verdict.head.count
    if verdict.broken_at is not None:
        return f"audit chain BROKEN at event {verdict.broken_at} (after {count} good events)"
    if verdict.shortfalls:
        return _shortfall_line(count, verdict.shortfalls)
    return (
        f"audit chain BROKEN: truncated or rewritten: the expected head {verdict.expected} is not in "
        f"the chain of {count} events"
    )


def _shortfall_line(count: int, shortfalls: list[Shortfall]) -> str:
    # The longest checkpoint the chain falls short of is the strongest evidence; otherwise the first
    # place where the chain now differs from what was recorded.
    short = [row for row in shortfalls if row.found is None]
    worst = max(short, key=lambda row: row.count) if short else min(shortfalls, key=lambda row: row.count)
    more = f" ({len(shortfalls)} checkpoints not reached)" if len(shortfalls) > 1 else ""
    when = worst.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if worst.found is None:
        return (
            f"audit chain BROKEN: truncated: {count} events, but the checkpoint of {when} recorded "
            f"{worst.count} (head {worst.head_hash}){more}"
        )
    return (
        f"audit chain BROKEN: truncated or rewritten: event number {worst.count} is not the head the "
        f"checkpoint of {when} recorded ({worst.head_hash}){more}"
    )
