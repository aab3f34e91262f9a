"""Find escalations by the public id that agents and Slack payloads carry."""

from __future__ import annotations

from bot.errors import NotFound
from models.escalation import is_public_id


def checked_id(public_id: str) -> str:
    """Return a well-formed escalation id; anything else cannot exist and is reported as not found."""
    if not is_public_id(public_id):
        raise NotFound(f"There is no escalation {public_id[:60]!r}.")
    return public_id
