"""`/council outbox` and `/council outbox retry ID|all`: deliveries by state, and the dead ones."""

from __future__ import annotations

from bot.services import admin, deliveries
from bot.slack import admin_changes
from handlers.slack.arguments import Words

USAGE = "Use `/council outbox` or `/council outbox retry ID` (or `retry all` for every dead delivery)."
DEAD_SHOWN = 10


async def outbox(words: Words, actor: str) -> str:
    rest = words.positional
    if words.options or len(rest) > 2 or (rest and rest[0].lower() != "retry"):
        return USAGE
    await admin.require_change(actor, None)
    if not rest:
        return admin_changes.outbox(await deliveries.state_counts(), await deliveries.latest_dead(DEAD_SHOWN))
    if len(rest) != 2:
        return USAGE
    which = rest[1].lower()
    if which == "all":
        return admin_changes.retried_all(await deliveries.retry_all_dead(actor=actor))
    if not which.isdigit() or len(which) > 12:
        return f"`{rest[1][:20]}` is not an outbox row id. {USAGE}"
    return admin_changes.retried(await deliveries.retry(row_id=int(which), actor=actor))
