"""The audit chain's digest: a canonical hash of each event, and the first form older chains used."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import sys
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from models import AuditEvent

# Hashed first, so a digest of this form can never be mistaken for one of the first form's.
_DIGEST_FORM = "council.audit/2"
# Numbers whose float-or-not a first-form check tries both ways (2**8 digests at most, broken rows only).
_MAX_AMBIGUOUS = 8
_LARGEST_FLOAT = int(sys.float_info.max)


def digest(
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


def holds(event: AuditEvent, prev_hash: str) -> bool:
    """Whether the event's hash is its digest in the canonical form, or in the first form.

    The first form is accepted on any row, not only before the first canonical one: during a rolling
    upgrade, replicas of both versions append to the same chain.
    """
    head = (prev_hash, event.at, event.actor_type, event.actor_id, event.action, event.subject)
    if event.hash == digest(*head, event.payload):
        return True
    return any(
        event.hash == _first_form_digest(*head, payload) for payload in _first_spellings(event.payload)
    )


def _first_spellings(payload: dict[str, Any]) -> Iterator[Any]:
    """Yield the payload as read, then as the first form may have seen it before JSONB changed it.

    The first form hashed 1e16 as "1e+16" and -0.0 as "-0.0"; JSONB gives back 10000000000000000 and
    0.0, and which numbers were floats is lost, so each choice is tried. Past a few such numbers the
    choices are too many, and only the payload as read is tried.
    """
    if _ambiguous(payload) > _MAX_AMBIGUOUS:
        yield payload
        return
    yield from _spellings(payload)


def _spellings(value: Any) -> Iterator[Any]:
    """Yield the value as read, then with each mix of its numbers put back as the floats they were."""
    if isinstance(value, list):
        for items in itertools.product(*(list(_spellings(item)) for item in value)):
            yield list(items)
    elif isinstance(value, dict):
        for items in itertools.product(*(list(_spellings(item)) for item in value.values())):
            yield dict(zip(value, items, strict=True))
    else:
        yield value
        if (earlier := _before_jsonb(value)) is not None:
            yield earlier


def _ambiguous(value: Any) -> int:
    """Count the numbers in the value that JSONB may have changed from a float."""
    if isinstance(value, list):
        return sum(_ambiguous(item) for item in value)
    if isinstance(value, dict):
        return sum(_ambiguous(item) for item in value.values())
    return int(_before_jsonb(value) is not None)


def _before_jsonb(value: Any) -> float | None:
    """Return the float the first form may have hashed where JSONB gives back this number, or None."""
    if isinstance(value, float):
        return -0.0 if value == 0 and math.copysign(1, value) > 0 else None
    if isinstance(value, bool) or not isinstance(value, int) or not 10**16 <= abs(value) <= _LARGEST_FLOAT:
        return None
    # Python spells such a float with an exponent; JSONB keeps that value and gives back its digits.
    return float(value) if Decimal(repr(float(value))) == value else None
