"""Append to and verify the hash-chained audit trail, and the checkpoints that show it was cut short."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from bot.db import transaction
from bot.services.audit_digest import digest, holds
from models import AuditCheckpoint, AuditEvent

log = logging.getLogger(__name__)
GENESIS = "0" * 64
# Any fixed number: PostgreSQL's transaction-scoped lock that serialises appends to the chain.
_CHAIN_LOCK = 7_263_551
# Sealed checkpoints older than this are dropped (about 720 rows at one an hour); the newest few stay.
KEEP_CHECKPOINTS = timedelta(days=30)
_ALWAYS_KEEP = 2


@dataclass(frozen=True)
class Head:
    """The chain's length and the hash of its last event (GENESIS for an empty chain)."""

    count: int
    hash: str


@dataclass(frozen=True)
class Shortfall:
    """A stored checkpoint the chain no longer reaches."""

    at: datetime
    count: int
    head_hash: str
    # The hash of the chain's event number `count`; None when the chain has fewer events.
    found: str | None


@dataclass(frozen=True)
class Verification:
    """What `verify` found: the good start of the chain, and what it fails to reach."""

    head: Head
    broken_at: int | None = None
    checkpoints: int = 0
    shortfalls: list[Shortfall] = field(default_factory=list)
    expected: str | None = None
    # Which event number has the expected hash (0 for GENESIS); None when no event has it.
    expected_at: int | None = None

    @property
    def intact(self) -> bool:
        """Whether the chain holds, reaches every checkpoint and holds the expected head."""
        found = self.expected is None or self.expected_at is not None
        return self.broken_at is None and not self.shortfalls and found


async def record(
    conn: BaseDBAsyncClient,
    *,
    actor_type: str,
    actor_id: str,
    action: str,
    subject: str | None = None,
    payload: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event inside the caller's transaction, chained to the previous one."""
    await _lock(conn)
    last = await AuditEvent.all().using_db(conn).order_by("-id").first()
    prev_hash = last.hash if last else GENESIS
    at = datetime.now(UTC)
    data = json.loads(json.dumps(payload or {}, default=str))
    event = await AuditEvent.create(
        using_db=conn,
        at=at,
        actor_type=actor_type,
        actor_id=actor_id,
        action=action,
        subject=subject,
        payload=data,
        prev_hash=prev_hash,
        hash=digest(prev_hash, at, actor_type, actor_id, action, subject, data),
    )
    await _advance(conn, prev_hash=prev_hash, event=event)
    return event


async def _lock(conn: BaseDBAsyncClient) -> None:
    if conn.capabilities.dialect == "postgres":
        await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [_CHAIN_LOCK])


async def _advance(conn: BaseDBAsyncClient, *, prev_hash: str, event: AuditEvent) -> None:
    """Move the newest checkpoint on by one event, or start a new one if it was not at the old head.

    A checkpoint the chain had moved away from is left as it is: if the chain was cut short, that row
    is what shows it.
    """
    live = await AuditCheckpoint.all().using_db(conn).order_by("-id").first()
    if live is not None and live.head_hash == prev_hash:
        live.count, live.head_hash, live.at = live.count + 1, event.hash, event.at
        await live.save(using_db=conn, update_fields=["count", "head_hash", "at"])
        return
    if live is not None:
        log.warning(
            "the audit chain's head is not the one its newest checkpoint recorded (at %d events): an "
            "older Council appended, or the chain was changed; run `council audit verify`",
            live.count,
        )
    count = await AuditEvent.all().using_db(conn).count()
    await AuditCheckpoint.create(using_db=conn, at=event.at, count=count, head_hash=event.hash)


async def seal() -> Head:
    """Keep the current head as a checkpoint of its own, and drop checkpoints past the retention."""
    now = datetime.now(UTC)
    async with transaction() as conn:
        await _lock(conn)
        head = await _head(conn)
        newest = await AuditCheckpoint.all().using_db(conn).order_by("-id").limit(_ALWAYS_KEEP)
        # The newest row moves on with every append; a new row leaves it behind at this head. Nothing to
        # leave behind when the two newest are both already at it.
        if len(newest) < _ALWAYS_KEEP or any(row.head_hash != head.hash for row in newest):
            row = await AuditCheckpoint.create(using_db=conn, at=now, count=head.count, head_hash=head.hash)
            newest = [row, *newest]
        kept = [row.id for row in newest[:_ALWAYS_KEEP]]
        old = AuditCheckpoint.filter(at__lt=now - KEEP_CHECKPOINTS).exclude(id__in=kept)
        await old.using_db(conn).delete()
    log.debug("audit checkpoint: %d events, head %s", head.count, head.hash)
    return head


async def _head(conn: BaseDBAsyncClient) -> Head:
    """Return the chain's head, counting the events only when the newest checkpoint is not at it."""
    last = await AuditEvent.all().using_db(conn).order_by("-id").first()
    if last is None:
        return Head(0, GENESIS)
    live = await AuditCheckpoint.all().using_db(conn).order_by("-id").first()
    if live is not None and live.head_hash == last.hash:
        return Head(live.count, last.hash)
    return Head(await AuditEvent.all().using_db(conn).count(), last.hash)


async def verify(*, expect: str | None = None) -> Verification:
    """Walk the chain, then check it reaches every stored checkpoint and holds the expected head."""
    # Checkpoints first: events committed after this read can only lengthen the chain that is walked.
    checkpoints = await AuditCheckpoint.all().order_by("id")
    wanted = {row.count for row in checkpoints}
    hashes = {0: GENESIS}
    expected_at = 0 if expect == GENESIS else None
    prev_hash, count = GENESIS, 0
    async for event in AuditEvent.all().order_by("id"):
        if event.prev_hash != prev_hash or not holds(event, prev_hash):
            return Verification(Head(count, prev_hash), broken_at=event.id, expected=expect)
        prev_hash, count = event.hash, count + 1
        if count in wanted:
            hashes[count] = event.hash
        if event.hash == expect:
            expected_at = count
    shortfalls = [
        Shortfall(row.at, row.count, row.head_hash, hashes.get(row.count))
        for row in checkpoints
        if hashes.get(row.count) != row.head_hash
    ]
    return Verification(
        Head(count, prev_hash),
        checkpoints=len(checkpoints),
        shortfalls=shortfalls,
        expected=expect,
        expected_at=expected_at,
    )
