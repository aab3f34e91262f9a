"""What `/council decisions` and `/council export decisions` say, in mrkdwn.

Pure: takes what `bot.services.decision_log` reads. Titles and names come from agents and are
escaped here; a link's label cannot forge Slack's link syntax (`bot.slack.text.link`).
"""

from __future__ import annotations

from datetime import date, datetime

from bot.services.decision_log import Entry, Filters, Page, permalink
from bot.slack.admin_views import fit, tally_words
from bot.slack.text import escape, link, mention, money, safe, utc

DECISIONS_USAGE = (
    "Use `/council decisions [agent=NAME] [outcome=approved|rejected|expired] [since=YYYY-MM-DD] [N]` "
    "(the last 20 unless N is given, at most 50)."
)
EXPORT_DECISIONS_USAGE = "Use `/council export decisions [since=YYYY-MM-DD]`."
TITLE = "Council decision log"


def describe(filters: Filters) -> str:
    """Say the filters in words: `agent refund-bot, outcome approved, since 2026-01-01`."""
    parts = []
    if filters.agent is not None:
        parts.append(f"agent *{escape(filters.agent)}*")
    if filters.outcome is not None:
        parts.append(f"outcome {filters.outcome}")
    if filters.since is not None:
        parts.append(f"since {filters.since.isoformat()}")
    return ", ".join(parts)


def decisions(page: Page, filters: Filters, *, workspace_url: str | None = None) -> str:
    """The latest decisions, newest first, each linked to its message when it has one."""
    which = describe(filters)
    if not page.entries:
        return f"No decisions match {which}." if which else "No decisions yet."
    given = f" ({which})" if which else ""
    many = len(page.entries) > 1
    head = (
        f"The last {len(page.entries)} decisions{given}, newest first:"
        if many
        else f"The last decision{given}:"
    )
    lines = [head]
    lines += [line(entry, workspace_url) for entry in page.entries]
    left = page.total - len(page.entries)
    if left > 0:
        lines.append(
            f"_{left} more match: `/council decisions 50` shows up to 50, and `/council export "
            "decisions` (admins) sends the whole log as CSV._"
        )
    return fit(lines)


def line(entry: Entry, workspace_url: str | None) -> str:
    """One decision: id, title (its message's link), amount, agent, outcome, who, when, tally."""
    url = permalink(workspace_url, entry.channel_id, entry.message_ts)
    title = link(url, entry.title) if url else safe(entry.title, 200)
    amount = f" ({money(entry.proposed, entry.currency)})" if entry.proposed is not None else ""
    return (
        f"• `{entry.public_id}` {title}{amount} from {escape(entry.agent)} — *{escape(entry.status)}*"
        f" by {escape(entry.decided_by)}, {utc(entry.decided_at)} · {tally_words(entry.tally)}"
    )


def export_queued(since: date | None) -> str:
    """What `/council export decisions` answers at once."""
    which = f"decided since {since.isoformat()}" if since else "every decision"
    return (
        f"The decision log ({which}, with every vote and reason) is on its way as a CSV file, "
        "in your direct messages with Council. Only you receive it."
    )


def export_refusal(admins: list[str]) -> str:
    """Who may export the decision log, for someone who may not."""
    who = ", ".join(mention(user) for user in admins) or "nobody yet (council.yml lists no `admins`)"
    return (
        f"Only Council admins can export the decision log: {who}. `/council decisions` lists the "
        "latest ones for everyone."
    )


def export_comment(decisions: int, since: date | None) -> str:
    """The message the file arrives with."""
    which = f" decided since {since.isoformat()}" if since else ""
    noun = "decision" if decisions == 1 else "decisions"
    counted = f"*{decisions}* {noun}{which}" if decisions else f"no decisions{which} yet (only the header)"
    return (
        f"The decision log you asked for: {counted}, one row per vote (a decision without votes has "
        "one row). A cell that begins with = + - @ or ' has a ' put in front, so a spreadsheet shows it "
        "and never runs it."
    )


def file_name(since: date | None, at: datetime) -> str:
    """`council-decisions-2026-12-02.csv`, or `council-decisions-since-2026-01-01-to-2026-12-02.csv`."""
    until = at.date().isoformat()
    return (
        f"council-decisions-since-{since.isoformat()}-to-{until}.csv"
        if since
        else f"council-decisions-{until}.csv"
    )
