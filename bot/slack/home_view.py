"""The App Home tab: what awaits the viewer's vote, incidents they own, their last votes.

Pure: takes the plain data `bot.services.home` reads and returns the view as a dict for
views.publish. Everything an agent wrote is escaped here.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.services.home import Awaiting, HomeData, OwnedIncident, PausedAgent, RecentVote
from bot.slack.escalation_view import CHOICE_LABEL
from bot.slack.text import channel, clip, escape, mention, money, safe, slack_date

MAX_BLOCKS = 100  # Slack refuses a Home view with more
MAX_SECTION = 3000  # characters in one section's text
SHOWN_AWAITING, SHOWN_INCIDENTS, SHOWN_PAUSED = 25, 10, 20


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, MAX_SECTION)))


def _note(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text, MAX_SECTION))])


def _more(total: int, shown: int, where: str) -> list[Block]:
    return [_note(f"… and {total - shown} more; {where}.")] if total > shown else []


def _awaiting(item: Awaiting) -> SectionBlock:
    facts = [escape(item.agent)]
    if item.amount is not None:
        facts.append(money(item.amount, item.currency))
    facts.append(f"due {slack_date(item.deadline)}" if item.deadline else "no deadline")
    return _section(
        f"*{safe(item.title, 200)}*\n"
        + " · ".join(facts)
        + f"\n`{item.public_id}` in {channel(item.channel_id)}: vote on its message there"
    )


def _incident(item: OwnedIncident) -> SectionBlock:
    opened = f", opened {slack_date(item.opened_at)}" if item.opened_at else ""
    return _section(
        f"*{safe(item.title, 200)}*\n{escape(item.agent)} · {escape(item.status)}{opened}\n"
        f"`{item.public_id}` in {channel(item.channel_id)}: resolve it from its message there"
    )


def _vote(item: RecentVote) -> SectionBlock:
    choice = CHOICE_LABEL.get(item.choice) or escape(item.choice)
    when = f" · {slack_date(item.voted_at)}" if item.voted_at else ""
    reason = f"\n“{safe(item.reason, 500)}”" if item.reason else ""
    return _section(
        f"*{choice}* on `{item.public_id}` {safe(item.title, 200)} — now {escape(item.status)}{when}{reason}"
    )


def _paused(item: PausedAgent) -> SectionBlock:
    reason = f": {safe(item.reason, 300)}" if item.reason else ""
    return _section(
        f"*{escape(item.name)}* — owner {mention(item.owner)}{reason}\n"
        f"Resume it with `/council agent resume {escape(item.name)}`."
    )


def build(data: HomeData) -> dict[str, Any]:
    """Return the Home view for views.publish."""
    blocks: list[Block] = [
        HeaderBlock(text="Council"),
        _note(f"What awaits you, {mention(data.user)}. This tab refreshes each time you open it."),
        HeaderBlock(text=f"Awaiting your vote ({len(data.awaiting)})"),
    ]
    if data.awaiting:
        blocks += [_awaiting(item) for item in data.awaiting[:SHOWN_AWAITING]]
        blocks += _more(len(data.awaiting), SHOWN_AWAITING, "`/council status` lists what is pending")
    else:
        blocks.append(_note("Nothing awaits your vote."))
    blocks += [DividerBlock(), HeaderBlock(text=f"Incidents you own ({len(data.incidents)})")]
    if data.incidents:
        blocks += [_incident(item) for item in data.incidents[:SHOWN_INCIDENTS]]
        blocks += _more(len(data.incidents), SHOWN_INCIDENTS, "`/council status` counts them all")
    else:
        blocks.append(_note("You own no open incidents."))
    blocks += [DividerBlock(), HeaderBlock(text="Your last votes")]
    blocks += [_vote(item) for item in data.votes[:5]] or [_note("You have not voted yet.")]
    if data.paused is not None:
        blocks += [DividerBlock(), HeaderBlock(text=f"Paused agents ({len(data.paused)})")]
        blocks += [_paused(item) for item in data.paused[:SHOWN_PAUSED]] or [_note("No agent is paused.")]
        blocks += _more(len(data.paused), SHOWN_PAUSED, "`/council agents` lists them all")
    return View(type="home", blocks=blocks[:MAX_BLOCKS]).to_dict()
