"""`/council decisions` and `/council export decisions`: the decision log, listed and exported."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from bot.errors import Invalid
from bot.runtime import Runtime
from bot.services import admin, decision_log
from bot.services.decision_log import Filters
from bot.slack import decision_log_view
from bot.slack.decision_log_view import DECISIONS_USAGE, EXPORT_DECISIONS_USAGE
from handlers.slack import arguments
from handlers.slack.arguments import Words

DECISIONS_DEFAULT, DECISIONS_MAX = 20, 50
# Escalations that end without a decision: the log has nothing to show for them.
UNDECIDED = ("withdrawn", "pending", "open", "acknowledged", "resolved", "posted")


def read_count(words: list[str]) -> int:
    """Read `decisions [N]`: 20 when absent, at most 50."""
    if not words:
        return DECISIONS_DEFAULT
    if not re.fullmatch(r"[0-9]{1,6}", words[0]) or int(words[0]) < 1:
        shown = words[0][:20].replace("`", "'")
        raise Invalid(f"`{shown}` is not a number of decisions; try `/council decisions 20`.")
    return min(int(words[0]), DECISIONS_MAX)


def read_filters(words: Words) -> Filters:
    """Read `agent=`, `outcome=` and `since=`; each one given must say something."""
    for key in ("agent", "outcome", "since"):
        if words.option(key) is not None and not words.options[key].strip():
            raise Invalid(f"`{key}=` needs a value. {DECISIONS_USAGE}")
    agent, outcome, since = words.option("agent"), words.option("outcome"), words.option("since")
    return Filters(
        agent=agent.strip() if agent is not None else None,
        outcome=read_outcome(outcome) if outcome is not None else None,
        since=read_since(since) if since is not None else None,
    )


def read_outcome(text: str) -> str:
    """One of approved, rejected, expired; a mistyped one is answered with what it most likely meant."""
    word = text.strip().lower()
    if word in decision_log.OUTCOMES:
        return word
    shown = text.strip()[:20].replace("`", "'")
    known = ", ".join(f"`{outcome}`" for outcome in decision_log.OUTCOMES)
    if word in UNDECIDED:
        raise Invalid(f"`{shown}` escalations have no decision to list; `outcome=` takes {known}.")
    meant = arguments.nearest(word, list(decision_log.OUTCOMES))
    guess = f" Did you mean `outcome={meant}`?" if meant else ""
    raise Invalid(f"`outcome={shown}` is not an outcome; it takes {known}.{guess}")


def read_since(text: str, today: date | None = None) -> date:
    """A day written YYYY-MM-DD, not after today (UTC)."""
    day = arguments.day(text.strip(), "since")
    today = today or datetime.now(UTC).date()
    if day > today:
        raise Invalid(f"`since={day.isoformat()}` is in the future; nothing has been decided since then yet.")
    return day


async def decisions(words: Words, user: str, *, workspace_url: str | None = None) -> str:
    """List the latest decisions; `workspace_url` (auth.test's `url`) links each to its message."""
    # N is optional: at most one positional word.
    words.allow(
        DECISIONS_USAGE, positional=min(len(words.positional), 1), options=("agent", "outcome", "since")
    )
    filters = read_filters(words)
    count = read_count(words.positional)
    page = await decision_log.latest(filters, count=count)
    return decision_log_view.decisions(page, filters, workspace_url=workspace_url)


async def export_decisions(words: Words, user: str, rt: Runtime | None = None) -> str:
    """Send the whole log, as CSV, to the admin's DM; others learn who the admins are."""
    if not await admin.is_admin(user):
        # Answered, not raised: the refusal names the admins as mentions.
        return decision_log_view.export_refusal(await admin.admin_ids())
    words.allow(EXPORT_DECISIONS_USAGE, positional=0, options=("since",))
    since = words.option("since")
    if since is not None and not since.strip():
        raise Invalid(f"`since=` needs a day. {EXPORT_DECISIONS_USAGE}")
    day = read_since(since) if since is not None else None
    await decision_log.ask_export(user=user, since=day, rt=rt)
    return decision_log_view.export_queued(day)
