"""Append to and verify the hash-chained audit trail."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from bot.services.audit_digest import digest, holds
from models import AuditEvent

GENESIS = "0" * 64
# Any fixed number: PostgreSQL's transaction-scoped lock that serialises appends to the chain.
_CHAIN_LOCK = 7_263_551


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
    if conn.capabilities.dialect == "postgres":
        await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [_CHAIN_LOCK])
    last = await AuditEvent.all().using_db(conn).order_by("-id").first()
    prev_hash = last.hash if last else GENESIS
    at = datetime.now(UTC)
    data = json.loads(json.dumps(payload or {}, default=str))
    return await AuditEvent.create(
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


async def verify() -> tuple[int, int | None]:
    """Walk the chain; return (events checked, id of the first broken event or None)."""
    prev_hash = GENESIS
    checked = 0
    async for event in AuditEvent.all().order_by("id"):
        if event.prev_hash != prev_hash or not holds(event, prev_hash):
            return checked, event.id
        prev_hash = event.hash
        checked += 1
    return checked, None
