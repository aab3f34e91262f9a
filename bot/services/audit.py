"""Append to and verify the hash-chained audit trail."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from models import AuditEvent

GENESIS = "0" * 64
# Any fixed number: PostgreSQL's transaction-scoped lock that serialises appends to the chain.
_CHAIN_LOCK = 7_263_551
# Hashed first, so a digest of this form can never be mistaken for one of the first form's.
_DIGEST_FORM = "council.audit/2"


def _digest(
    prev_hash: str,
    at: datetime,
    actor_type: str,
    actor_id: str,
    action: str,
    subject: str | None,
    payload: dict[str, Any],
) -> str:
    """Hash an event over a canonical text that reads the same before storing and after reading back.

    PostgreSQL's JSONB keeps numbers as decimals and gives 1e16 back as 10000000000000000 and -0.0 as
    0.0, so each number is hashed by its value alone (see _number), never by how Python spells it.
    """
    body = _canonical(
        [_DIGEST_FORM, prev_hash, at.isoformat(), actor_type, actor_id, action, subject, payload]
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _first_form_digest(
    prev_hash: str,
    at: datetime,
    actor_type: str,
    actor_id: str,
    action: str,
    subject: str | None,
    payload: dict[str, Any],
) -> str:
    """Hash an event as Council did before the canonical form, so the chains it wrote still verify."""
    body = json.dumps(
        [prev_hash, at.isoformat(), actor_type, actor_id, action, subject, payload],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _canonical(value: Any) -> str:
    """Write JSON with sorted keys, no spaces, ASCII strings and every number in one spelling."""
    if value is None or isinstance(value, bool | str):
        return json.dumps(value)
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, list):
        return "[" + ",".join(_canonical(item) for item in value) + "]"
    if isinstance(value, dict):
        items = sorted(value.items())
        return "{" + ",".join(f"{json.dumps(key)}:{_canonical(item)}" for key, item in items) + "}"
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def _number(value: int | float) -> str:
    """Spell a number by its decimal value: digits without trailing zeros, then E and the exponent.

    A float counts as the decimal Python writes for it (repr), which is the text the database stores.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return json.dumps(value)
    sign, digits, exponent = Decimal(repr(value) if isinstance(value, float) else value).as_tuple()
    text = "".join(map(str, digits))
    significant = text.rstrip("0").lstrip("0")
    if not significant:
        return "0"  # Zero has no sign in a JSONB numeric: -0.0 comes back as 0.0.
    # A finite decimal's exponent is a whole number; int() only tells the type checker so.
    exponent = int(exponent) + len(text) - len(text.rstrip("0"))
    return ("-" if sign else "") + significant + (f"E{exponent}" if exponent else "")


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
        hash=_digest(prev_hash, at, actor_type, actor_id, action, subject, data),
    )


async def verify() -> tuple[int, int | None]:
    """Walk the chain; return (events checked, id of the first broken event or None)."""
    prev_hash = GENESIS
    checked = 0
    async for event in AuditEvent.all().order_by("id"):
        if event.prev_hash != prev_hash or not _holds(event, prev_hash):
            return checked, event.id
        prev_hash = event.hash
        checked += 1
    return checked, None


def _holds(event: AuditEvent, prev_hash: str) -> bool:
    """Whether the event's hash is its digest in the canonical form, or in the first form.

    The first form is accepted on any row, not only before the first canonical one: during a rolling
    upgrade, replicas of both versions append to the same chain.
    """
    fields = (
        prev_hash,
        event.at,
        event.actor_type,
        event.actor_id,
        event.action,
        event.subject,
        event.payload,
    )
    return event.hash == _digest(*fields) or event.hash == _first_form_digest(*fields)
