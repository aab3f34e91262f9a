"""Find escalations by the public id that agents and Slack payloads carry."""

from __future__ import annotations

import re

from bot.errors import NotFound

PUBLIC_ID = re.compile(r"esc_[0-9a-f]{20}")


def checked_id(public_id: str) -> str:
    """Return a well-formed escalation id; anything else cannot exist and is reported as not found."""
    if not PUBLIC_ID.fullmatch(public_id):
        raise NotFound(f"There is no escalation {public_id[:60]!r}.")
    return public_id
